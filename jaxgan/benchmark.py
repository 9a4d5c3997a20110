"""Training speed of one config: `python -m jaxgan.benchmark --config=configs/X.py`.

Builds the real jitted training step of the config (n_critic D updates, G update, EMA, donated
state, the config's mesh) on synthetic data and reports its compile time, its steady-state
images/s (batch_size images per full D+G step), peak memory (device memory stats on GPU/TPU,
process RSS on CPU) and, on its own, the input pipeline's images/s. `--compare_torch` runs
benchmarks/torch_reference.py (the same step in PyTorch eager: tests/test_torch_twin.py shows one
step of each equal to jaxgan's) in the same process, so machine load affects both alike. The
last line printed is one JSON object.

  python -m jaxgan.benchmark --config=configs/dcgan_cifar.py --batch_size=64 --compare_torch
"""

import importlib.util
import io
import json
import os
import resource
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import app, flags
from ml_collections import config_flags
from PIL import Image

from jaxgan import models
from jaxgan.data import pipeline, sources, transforms
from jaxgan.gan import state as state_lib, steps
from jaxgan.run import cli, guards, loop, sharding
from jaxgan.run.state import build_state


def define_flags():
  """The CLI's flags; defined only when run as a program, so that importing this module
  (tests reuse its step builder) does not clash with other modules' absl flags."""
  config_flags.DEFINE_config_file('config', None, 'Experiment config file.', lock_config=True)
  flags.DEFINE_integer('batch_size', 64, 'Global batch size (overrides the config).')
  flags.DEFINE_integer('steps', 5, 'Timed training steps per round.')
  flags.DEFINE_integer('warmup', 2, 'Untimed steps after compilation.')
  flags.DEFINE_integer('rounds', 3, 'Timed rounds of --steps steps, alternating JAX and PyTorch.')
  flags.DEFINE_boolean('compare_torch', False, 'Also time benchmarks/torch_reference.py.')
  flags.DEFINE_boolean('torch_compile', False, 'Wrap the PyTorch step in torch.compile.')
  flags.DEFINE_integer('pipeline_batches', 20, 'Batches timed for the input pipeline; 0: skip.')
  flags.DEFINE_integer('steps_per_call', 1, 'Training steps per dispatch (lax.scan over batches).')
  flags.DEFINE_enum('loop', 'auto', ['auto', 'scan', 'unroll'],
                    'steps_per_call loop: a while loop (scan) or inlined (unroll); auto: unroll '
                    'on CPU only.')


FLAGS = flags.FLAGS

TORCH_REFERENCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               'benchmarks', 'torch_reference.py')


def synthetic_batch(config: ml_collections.ConfigDict, mesh, steps_per_call: int) -> dict:
  """Uniform images in [-1, 1] (and labels), shaped and sharded as the training loop's."""
  m = config.model
  lead = (steps_per_call,) if steps_per_call > 1 else ()
  shape = lead + (config.optim.n_critic, config.batch_size, m.image_size, m.image_size,
                  m.channels)
  rng = np.random.default_rng(config.seed)
  batch = {'image': rng.uniform(-1, 1, shape).astype(np.float32)}
  if m.get('num_classes', 0):
    batch['label'] = rng.integers(0, m.num_classes, shape[:-3]).astype(np.int32)
  spec = jax.sharding.PartitionSpec(*([None] * len(lead)), None, 'data')
  return jax.device_put(batch, jax.sharding.NamedSharding(mesh, spec))


def build_step(config: ml_collections.ConfigDict, mesh, steps_per_call: int = 1,
               unroll: bool | None = None):
  """(jitted step, initial state) as the GAN loop builds them; k > 1 steps per call."""
  gan, abstract_state, init = build_state(state_lib.create, config, mesh)
  step = guards.guarded(steps.make_train_step(config, gan), config.nonfinite)
  if steps_per_call > 1:
    step = loop.make_multi_step(step, steps_per_call, unroll)
  shardings = jax.tree.map(lambda a: a.sharding, abstract_state)
  jitted = jax.jit(step, donate_argnums=0, in_shardings=(shardings, None),
                   out_shardings=(shardings, None))  # Pinned as in jaxgan.run.loop.
  return jitted, init()


def peak_memory_mb() -> float:
  stats = jax.devices()[0].memory_stats() if jax.default_backend() != 'cpu' else None
  if stats and 'peak_bytes_in_use' in stats:
    return stats['peak_bytes_in_use'] / 2**20
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # Linux: KiB.


def make_jax_runner(config: ml_collections.ConfigDict, steps_per_call: int = 1,
                    unroll: bool | None = None):
  """(run(num_steps) -> seconds, facts): the compiled step; `run` syncs only at its end."""
  mesh = sharding.make_mesh(config)
  sharding.check_batch_size(config.batch_size, mesh)
  jitted, state = build_step(config, mesh, steps_per_call, unroll)
  batch = synthetic_batch(config, mesh, steps_per_call)
  start = time.perf_counter()
  compiled = jitted.lower(state, batch).compile()
  facts = dict(compile_s=time.perf_counter() - start)
  holder = {'state': state}

  def run(num_steps: int) -> float:
    state = holder['state']
    jax.block_until_ready(state)
    start = time.perf_counter()
    for _ in range(max(1, num_steps // steps_per_call)):
      state, metrics = compiled(state, batch)
    jax.block_until_ready((state, metrics))
    seconds = time.perf_counter() - start
    holder['state'], holder['metrics'] = state, metrics
    return seconds

  def finite() -> bool:
    return all(bool(jnp.all(jnp.isfinite(v))) for v in jax.tree.leaves(holder['metrics']))
  return run, finite, facts


def rates(config, seconds: list[float], num_steps: int, steps_per_call: int = 1):
  """(best, median) images/s over the timed rounds: the best is the least disturbed by load."""
  done = max(1, num_steps // steps_per_call) * steps_per_call
  per_s = [done * config.batch_size / t for t in seconds]
  return max(per_s), float(np.median(per_s))


def png_source(config: ml_collections.ConfigDict, size: int = 256) -> sources.Source:
  """Synthetic PNG-encoded images decoded per example, as a TFDS or folder source decodes."""
  m = config.model
  rng = np.random.default_rng(config.seed)
  encoded = []
  for _ in range(size):
    pixels = rng.integers(0, 256, (m.image_size, m.image_size, m.channels), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels.squeeze(-1) if m.channels == 1 else pixels).save(buffer, 'PNG')
    encoded.append(buffer.getvalue())

  def get(i):
    image = np.asarray(Image.open(io.BytesIO(encoded[i])))
    image = image[..., None] if image.ndim == 2 else image
    return {'image': transforms.to_unit_range(image), 'label': np.int32(i % 10)}
  return sources.Source(get, size, num_classes=10)


def pipeline_images_per_s(config: ml_collections.ConfigDict, num_batches: int) -> float:
  """The grain pipeline alone (decode, flip, batch, prefetch), in images/s of full steps."""
  config = config.copy_and_resolve_references()
  with config.unlocked():
    config.data.max_examples = 0
    config.data.flip = True
  iterator = pipeline.make_iterator(config, pipeline.build_dataset(config, png_source(config)))
  next(iterator)  # Starts the workers.
  start = time.perf_counter()
  for _ in range(num_batches):
    next(iterator)
  return num_batches * config.batch_size / (time.perf_counter() - start)


def load_torch_reference():
  spec = importlib.util.spec_from_file_location('torch_reference', TORCH_REFERENCE)
  module = importlib.util.module_from_spec(spec)
  try:
    spec.loader.exec_module(module)
  except ImportError as e:
    raise SystemExit(f'--compare_torch needs PyTorch ({e}). Install it with: '
                     f'pip install -e ".[torch]"') from e
  return module


def make_torch_runner(config: ml_collections.ConfigDict, compile_step: bool):
  reference = load_torch_reference()
  import torch  # pylint: disable=g-import-not-at-top
  device = 'cuda' if jax.default_backend() == 'gpu' and torch.cuda.is_available() else 'cpu'
  return reference.make_runner(config, config.batch_size, device, compile_step)


def run(config: ml_collections.ConfigDict, num_steps: int, warmup: int, compare_torch: bool,
        torch_compile: bool = False, pipeline_batches: int = 0, rounds: int = 3,
        steps_per_call: int = 1, unroll: bool | None = None) -> dict:
  """All measurements of one config, as the JSON object the command prints last.

  JAX and PyTorch are timed in alternating rounds of `num_steps` steps each, so a change in
  machine load hits both; each reports its best round (and the median).
  """
  result = dict(config=config.name, backend=jax.default_backend(), devices=jax.device_count(),
                batch_size=config.batch_size, image_size=config.model.image_size,
                n_critic=config.optim.n_critic, steps=num_steps, rounds=rounds,
                steps_per_call=steps_per_call,
                conv_impl=models.conv_impl(config.model),
                dtype=config.model.get('dtype', 'float32'))
  run_jax, finite, facts = make_jax_runner(config, steps_per_call, unroll)
  result |= facts
  run_jax(warmup * steps_per_call)
  result['peak_memory_mb'] = peak_memory_mb()  # Before PyTorch allocates in this process.
  run_torch = make_torch_runner(config, torch_compile) if compare_torch else None
  if run_torch:
    run_torch(warmup)
  seconds = {'jax': [], 'torch': []}
  for _ in range(rounds):
    seconds['jax'].append(run_jax(num_steps))
    if run_torch:
      seconds['torch'].append(run_torch(num_steps))
  result['images_per_s'], result['images_per_s_median'] = rates(
      config, seconds['jax'], num_steps, steps_per_call)
  result['finite'] = finite()
  if run_torch:
    result['torch_images_per_s'], result['torch_images_per_s_median'] = rates(
        config, seconds['torch'], num_steps)
    result['ratio'] = result['images_per_s'] / result['torch_images_per_s']
    result['ratio_median'] = result['images_per_s_median'] / result['torch_images_per_s_median']
  if pipeline_batches:
    result['pipeline_images_per_s'] = pipeline_images_per_s(config, pipeline_batches)
  return {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}


def main(argv):
  del argv
  config = FLAGS.config
  if config is None:
    raise app.UsageError('Pass --config=configs/<name>.py')
  with config.unlocked():
    config.batch_size = FLAGS.batch_size
  result = run(config, FLAGS.steps, FLAGS.warmup, FLAGS.compare_torch, FLAGS.torch_compile,
               FLAGS.pipeline_batches, FLAGS.rounds, FLAGS.steps_per_call,
               {'auto': None, 'scan': False, 'unroll': True}[FLAGS.loop])
  for key, value in result.items():
    print(f'{key:>24}: {value}')
  print(json.dumps(result))


if __name__ == '__main__':
  cli.run(main, define_flags)
