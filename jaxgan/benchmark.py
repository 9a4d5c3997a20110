"""Training speed of one config: `python -m jaxgan.benchmark --config=configs/X.py`.

Builds the real jitted training step of the config (n_critic D updates, G update, EMA, donated
state, the config's mesh) on synthetic data and reports its compile time, its steady-state
images/s (batch_size images per full D+G step), peak memory (device memory stats on GPU/TPU,
process RSS on CPU) and, on its own, the input pipeline's images/s. `--compare_torch` runs
benchmarks/torch_reference.py (the same step in PyTorch eager: tests/test_torch_twin.py shows one
step of each equal to jaxgan's) in the same process, so machine load affects both alike. The
last line printed is one JSON object.

  python -m jaxgan.benchmark --config=configs/dcgan_cifar.py --batch_size=64 --compare_torch

`--num_seeds=N` also times N seeds in one program (config.num_seeds; batched as
config.seed_batching, 'loop' or 'vmap', e.g. --config.seed_batching=vmap) in alternating rounds
with the single run, and reports `seeds_ratio`: the images/s of all N members together over those
of N single runs one after another (which is one single run's images/s); above 1, one program
is faster. Their compile times are reported beside it (one compile against N).

  python -m jaxgan.benchmark --config=dcgan_fashion --batch_size=32 --steps_per_call=5 --num_seeds=4

`--versus_peer` measures quality instead of speed: it trains the config as `python -m
jaxgan.main` does and times the whole run (W, start to final checkpoint), then trains
benchmarks/pytorch_gan_dcgan.py (our PyTorch twin of PyTorch-GAN's DCGAN, at its own defaults)
on the same images for W seconds of training, draws --num_samples from each (jaxgan: the EMA
generator, seed 0; the peer: eval mode, seed 0) and scores both, and real held-out images, with
the Fashion-MNIST judges. It prints one table and, last, one JSON object, and leaves the samples
(.npz) and 8x8 grids (.png) in <workdir>/versus_peer/. Only "the peer gets W" is supported:
jaxgan's loop has no time budget (a config's schedule is set by num_steps).

  python -m jaxgan.benchmark --config=configs/dcgan_fashion.py --versus_peer --num_samples=10000
"""

import importlib.util
import io
import json
import os
import resource
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import app, flags
from PIL import Image

from jaxgan import config_files, images as images_lib, models
from jaxgan.data import pipeline, sources, transforms
from jaxgan.gan import state as state_lib, steps
from jaxgan.run import cli, guards, loop, members, sharding, user_errors
from jaxgan.run import workdir as workdir_lib
from jaxgan.run.state import build_state


def define_flags():
  """The CLI's flags; defined only when run as a program, so that importing this module
  (tests reuse its step builder) does not clash with other modules' absl flags."""
  with user_errors.config_overrides():
    config_files.define_config_flag('config')
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
  flags.DEFINE_integer('num_seeds', 1, 'N > 1: also time N seeds in one program against N '
                       'single runs one after another (seeds_ratio).')
  flags.DEFINE_boolean('versus_peer', False, 'Quality, not speed: train the config and the '
                       'PyTorch-GAN DCGAN peer for the same wall time, score both.')
  flags.DEFINE_integer('num_samples', 10_000, '--versus_peer: samples scored per side.')
  flags.DEFINE_string('workdir', None, '--versus_peer: an empty or new folder for the jaxgan '
                      'run, the samples and grids (default: a new temporary folder, kept).')
  flags.DEFINE_integer('peer_seed', None, '--versus_peer: the peer\'s torch seed (default: '
                       'config.seed).')


FLAGS = flags.FLAGS

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          'benchmarks')
TORCH_REFERENCE = os.path.join(BENCHMARKS, 'torch_reference.py')
PEER = os.path.join(BENCHMARKS, 'pytorch_gan_dcgan.py')


def synthetic_batch(config: ml_collections.ConfigDict, mesh, steps_per_call: int) -> dict:
  """Uniform images in [-1, 1] (and labels), shaped and sharded as the training loop's (with
  config.num_seeds > 1, one batch per member on the member axis)."""
  m = config.model
  lead = (steps_per_call,) if steps_per_call > 1 else ()
  n = members.count(config)
  lead += (n,) if n > 1 else ()
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
  step = members.batched(guards.guarded(steps.make_train_step(config, gan), config.nonfinite),
                         config)
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


def load_torch_reference(path: str = TORCH_REFERENCE, flag: str = '--compare_torch'):
  if not os.path.isfile(path):
    raise FileNotFoundError(f'{flag} needs {path}: benchmarks/ is part of a checkout of the '
                            'jaxgan repository, not of the installed package (pip install -e . '
                            'in a checkout).')
  name = os.path.splitext(os.path.basename(path))[0]
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  sys.modules[name] = module  # Where dataclasses look their module up.
  try:
    spec.loader.exec_module(module)
  except ImportError as e:
    del sys.modules[name]
    raise SystemExit(f'{flag} needs PyTorch ({e}). Install it with: '
                     f'pip install -e ".[torch]"') from e
  return module


def make_torch_runner(config: ml_collections.ConfigDict, compile_step: bool):
  reference = load_torch_reference()
  import torch  # pylint: disable=g-import-not-at-top
  device = 'cuda' if jax.default_backend() == 'gpu' and torch.cuda.is_available() else 'cpu'
  return reference.make_runner(config, config.batch_size, device, compile_step)


def with_seeds(config: ml_collections.ConfigDict, num_seeds: int) -> ml_collections.ConfigDict:
  config = config.copy_and_resolve_references()
  with config.unlocked():
    config.num_seeds = num_seeds
  return config


def run(config: ml_collections.ConfigDict, num_steps: int, warmup: int, compare_torch: bool,
        torch_compile: bool = False, pipeline_batches: int = 0, rounds: int = 3,
        steps_per_call: int = 1, unroll: bool | None = None, num_seeds: int = 1) -> dict:
  """All measurements of one config, as the JSON object the command prints last.

  JAX and PyTorch (and N seeds in one program) are timed in alternating rounds of `num_steps`
  steps each, so a change in machine load hits all alike; each reports its best round (and the
  median). The single run is always one seed, whatever config.num_seeds says.
  """
  config = with_seeds(config, 1)
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
  run_seeds = None
  if num_seeds > 1:
    seeds_config = with_seeds(config, num_seeds)
    run_seeds, seeds_finite, seeds_facts = make_jax_runner(seeds_config, steps_per_call, unroll)
    run_seeds(warmup * steps_per_call)
  seconds = {'jax': [], 'torch': [], 'seeds': []}
  for _ in range(rounds):
    seconds['jax'].append(run_jax(num_steps))
    if run_torch:
      seconds['torch'].append(run_torch(num_steps))
    if run_seeds:
      seconds['seeds'].append(run_seeds(num_steps))
  result['images_per_s'], result['images_per_s_median'] = rates(
      config, seconds['jax'], num_steps, steps_per_call)
  result['finite'] = finite()
  if run_seeds:  # Images/s of all members: each trains batch_size images per step.
    best, median = rates(config, seconds['seeds'], num_steps, steps_per_call)
    result |= dict(num_seeds=num_seeds, seed_batching=seeds_config.seed_batching,
                   seeds_compile_s=seeds_facts['compile_s'],
                   sequential_compile_s=num_seeds * result['compile_s'],
                   seeds_images_per_s=num_seeds * best,
                   seeds_images_per_s_median=num_seeds * median,
                   seeds_ratio=num_seeds * best / result['images_per_s'],
                   seeds_ratio_median=num_seeds * median / result['images_per_s_median'],
                   seeds_finite=seeds_finite())
  if run_torch:
    result['torch_images_per_s'], result['torch_images_per_s_median'] = rates(
        config, seconds['torch'], num_steps)
    result['ratio'] = result['images_per_s'] / result['torch_images_per_s']
    result['ratio_median'] = result['images_per_s_median'] / result['torch_images_per_s_median']
  if pipeline_batches:
    result['pipeline_images_per_s'] = pipeline_images_per_s(config, pipeline_batches)
  return {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}


# Quality against a peer (--versus_peer) ------------------------------------------------------

JUDGES = ('main', 'plain')  # jaxgan.metrics.fashion_classifier; 'plain' is scored when shipped.
FIGURES = ('fd', 'confident', 'classes', 'precision', 'recall', 'density', 'coverage')
MAX_REAL = 10_000  # Held-out real images there are to score (train[50000:]).


def peer_images(config: ml_collections.ConfigDict) -> np.ndarray:
  """The config's training images as uint8 (N, H, W, C): the ones its run trains on."""
  if config.data.name == 'fashion_mnist':
    from jaxgan.data import fashion_mnist  # pylint: disable=g-import-not-at-top
    pixels = fashion_mnist.prepared(config.data.split, config.model.image_size,
                                    config.data.path, config.data.tfds_dir)[0]
  else:
    source = sources.build_source(config)
    pixels = np.stack([transforms.to_uint8(source[i]['image']) for i in range(len(source))])
  return pixels[:config.data.max_examples] if config.data.max_examples else pixels


def fashion_scorers(config: ml_collections.ConfigDict, make_scorer=None):
  """({judge: Scorer} of the judges that are shipped, {judge: why not} of the others).

  The main judge must be there; the weights are loaded now, before any training."""
  if make_scorer is None:
    from jaxgan.metrics import fashion  # pylint: disable=g-import-not-at-top
    make_scorer = lambda name: fashion.Scorer(name, config.data.path, config.data.tfds_dir)
  scorers, missing = {}, {}
  for name in JUDGES:
    scorer = make_scorer(name)
    try:
      scorer.judge  # pylint: disable=pointless-statement
    except FileNotFoundError as e:
      if name == JUDGES[0]:
        raise
      missing[name] = str(e)
      continue
    scorers[name] = scorer
  return scorers, missing


def check_versus_workdir(workdir: str) -> None:
  path = workdir_lib.path(workdir)
  if (path / 'config.json').exists() or (path / 'checkpoints').exists():
    raise ValueError(f'--workdir={workdir} already holds a run: it would resume, and its wall '
                     f'time would not be the whole run. Give an empty or new folder.')


def save_samples(folder, name: str, pixels: np.ndarray) -> dict:
  """<folder>/<name>.npz (`samples`, uint8) and <name>.png (8x8 grid of the first 64)."""
  buffer = io.BytesIO()
  np.savez(buffer, samples=pixels)
  npz, png = folder / f'{name}.npz', folder / f'{name}.png'
  npz.write_bytes(buffer.getvalue())
  grid = images_lib.make_grid(pixels[:64].astype(np.float32) / 127.5 - 1.0, columns=8)
  images_lib.save_png(png, grid)
  return {'npz': os.fspath(npz), 'png': os.fspath(png)}


def plain_floats(figures: dict) -> dict:
  return {k: int(v) if isinstance(v, (int, np.integer)) else float(v) for k, v in figures.items()}


def versus_peer(config: ml_collections.ConfigDict, workdir: str | None, num_samples: int,
                peer_seed: int | None = None, sample_seed: int = 0, make_scorer=None) -> dict:
  """Trains the config (timed whole: W) and the PyTorch-GAN DCGAN peer for W seconds of
  training on the same images; scores num_samples of each, and real images, by the judges.

  `make_scorer(judge)`: a jaxgan.metrics.fashion.Scorer-like object (tests pass fakes).
  """
  from jaxgan.gan import generate, train  # pylint: disable=g-import-not-at-top
  if config.data.name != 'fashion_mnist':
    raise ValueError(f'--versus_peer scores with the Fashion-MNIST judges; config.data.name is '
                     f'{config.data.name!r} (use a *_fashion config).')
  if num_samples <= 5:
    raise ValueError(f'--num_samples={num_samples}: the figures need more than 5 samples.')
  if importlib.util.find_spec('torch') is None:  # Imported after jaxgan's timed run.
    raise SystemExit('--versus_peer needs PyTorch. Install it with: pip install -e ".[torch]"')
  scorers, missing = fashion_scorers(config, make_scorer)
  workdir = workdir or tempfile.mkdtemp(prefix=f'versus_peer_{config.name}_')
  check_versus_workdir(workdir)

  load = {'start': os.getloadavg()[0]}  # The sides run one after the other: say how loaded.
  start = time.perf_counter()  # The whole run, as python -m jaxgan.main runs it.
  state = train.train_and_evaluate(config, workdir)
  wall = time.perf_counter() - start
  load['after_jaxgan'] = os.getloadavg()[0]
  jax_steps = int(jax.device_get(state.step))

  peer = load_torch_reference(PEER, '--versus_peer')
  data = peer_images(config)
  peer_seed = config.seed if peer_seed is None else peer_seed
  import torch  # pylint: disable=g-import-not-at-top
  # Their script trains on CUDA when there is one; on CPU when jaxgan does.
  device = 'cuda' if jax.default_backend() == 'gpu' and torch.cuda.is_available() else 'cpu'
  trained = peer.train(data, seconds=wall, seed=peer_seed, device=device)
  load['after_peer'] = os.getloadavg()[0]

  run_config, gan, run_state, standing = generate.load_run(workdir)
  samples = {
      'jaxgan': transforms.to_uint8(generate.generate_samples(
          run_config, gan, run_state, num_samples, sample_seed, use_ema=True,
          standing=standing)),
      'peer': peer.sample(trained.generator, num_samples, sample_seed),
  }
  folder = workdir_lib.path(workdir) / 'versus_peer'
  folder.mkdir(parents=True, exist_ok=True)
  files = {side: save_samples(folder, side, pixels) for side, pixels in samples.items()}

  figures, protocol = {}, {}
  for judge, scorer in scorers.items():
    figures[judge] = {'real': plain_floats(scorer.real_figures(min(num_samples, MAX_REAL)))}
    for side, pixels in samples.items():
      figures[judge][side] = plain_floats(scorer.score(pixels))
    protocol[judge] = scorer.protocol(num_samples, sample_seed)
  return {
      'config': config.name, 'workdir': os.fspath(workdir), 'num_samples': num_samples,
      'sample_seed': sample_seed, 'backend': jax.default_backend(), 'cpus': os.cpu_count(),
      'load_average_1min': {k: round(v, 2) for k, v in load.items()},
      'jaxgan': {'steps': jax_steps, 'wall_s': round(wall, 3), 'batch_size': config.batch_size,
                 'images_seen': jax_steps * config.batch_size * config.optim.n_critic,
                 'sampling': 'EMA generator' if config.model.ema_decay > 0 else 'generator',
                 'timed': 'whole run: start to final checkpoint (compilation, in-training '
                          'evaluations, grids and checkpoints included)'},
      'peer': trained.facts() | {
          'seed': peer_seed, 'images': len(data),
          'source': peer.SOURCE, 'torch': torch.__version__, 'device': device,
          'sampling': 'eval mode (BatchNorm running statistics)',
          'timed': 'training steps only (data in memory)'},
      'figures': figures, 'protocol': protocol, 'judges_missing': missing, 'files': files,
  }


def figure_text(name: str, value) -> str:
  if isinstance(value, int) or name == 'classes':
    return str(int(value))
  return f'{value:.2f}' if name == 'fd' else f'{value:.3f}'


def versus_table(result: dict) -> str:
  """A Markdown table: real images, the config and the peer; steps, wall s, figures per judge."""
  judges = list(result['figures'])
  header = ['', 'steps', 'wall s'] + [f'{j} {f}' for j in judges for f in FIGURES]
  rows = [['real images', '-', '-'],
          [result['config'], str(result['jaxgan']['steps']), f"{result['jaxgan']['wall_s']:.1f}"],
          ['PyTorch-GAN DCGAN', str(result['peer']['steps']), f"{result['peer']['wall_s']:.1f}"]]
  for row, side in zip(rows, ('real', 'jaxgan', 'peer')):
    row += [figure_text(f, result['figures'][j][side][f]) for j in judges for f in FIGURES]
  lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
  return '\n'.join(lines + ['| ' + ' | '.join(row) + ' |' for row in rows])


def print_versus(result: dict) -> None:
  print(versus_table(result))
  print(f"{result['num_samples']} samples per row (seed {result['sample_seed']}); the peer "
        f"trained {result['peer']['wall_s']:.1f} s ({result['peer']['threads']} torch threads) "
        f"against jaxgan's whole run of {result['jaxgan']['wall_s']:.1f} s; load average "
        f"{', '.join(f'{v:.1f}' for v in result['load_average_1min'].values())} (start, after "
        f"jaxgan, after the peer) on {result['cpus']} CPUs; files in "
        f"{result['workdir']}/versus_peer")
  for judge, why in result['judges_missing'].items():
    print(f'judge {judge!r} not scored: {why}')
  print(json.dumps(result))


def main(argv):
  del argv
  with user_errors.config_overrides():  # A config file that failed to load fails on use.
    config = FLAGS.config
  if config is None:
    raise app.UsageError('Pass --config=NAME (a shipped config, e.g. dcgan_cifar) or '
                         '--config=FILE.py')
  if FLAGS.versus_peer:
    if FLAGS['batch_size'].present:
      raise app.UsageError('--versus_peer trains the config as it is: set its batch with '
                           '--config.batch_size, not --batch_size.')
    print_versus(versus_peer(config, FLAGS.workdir, FLAGS.num_samples, FLAGS.peer_seed))
    return
  with config.unlocked():
    config.batch_size = FLAGS.batch_size
  result = run(config, FLAGS.steps, FLAGS.warmup, FLAGS.compare_torch, FLAGS.torch_compile,
               FLAGS.pipeline_batches, FLAGS.rounds, FLAGS.steps_per_call,
               {'auto': None, 'scan': False, 'unroll': True}[FLAGS.loop],
               max(FLAGS.num_seeds, members.count(config)))
  for key, value in result.items():
    print(f'{key:>24}: {value}')
  print(json.dumps(result))


if __name__ == '__main__':
  cli.run(main, define_flags)
