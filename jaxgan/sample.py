"""Draws samples from a trained run.

  python -m jaxgan.sample --workdir=runs/dcgan_digits --num=64 --out=grid.png
  python -m jaxgan.sample --workdir=runs/dcgan_digits --num=1000 --out=samples.npz --seed=1

A `.png` gets a grid (a scatter plot for 2-D toys); a `.npz` gets `samples`: uint8 NHWC images,
or float32 (N, 2) points. `--noema` (or `--no-ema`) samples the raw generator instead of its EMA.
"""

import sys

import jax
import numpy as np
from absl import app, flags

from jaxgan import checkpoint, images, sharding, steps, train
from jaxgan.data.transforms import to_uint8

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'Working directory of a training run.', required=True)
flags.DEFINE_integer('num', 64, 'Number of samples.')
flags.DEFINE_string('out', 'samples.png', 'Output file: .png (grid) or .npz (arrays).')
flags.DEFINE_integer('seed', 0, 'Noise seed.')
flags.DEFINE_bool('ema', True, 'Sample the EMA generator (--noema: the raw one).')
flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
flags.DEFINE_integer('batch_size', 256, 'Samples generated per call.')


def load_run(workdir: str, step: int | None = None):
  """(config, gan, state) of a run's checkpoint, restored onto the local devices."""
  config = train.load_config(workdir)
  gan, abstract_state, _ = train.build_state(config, sharding.make_mesh())
  ckpt = checkpoint.Checkpointer(workdir, config.keep_checkpoints)
  if ckpt.latest_step() is None:
    raise FileNotFoundError(f'No checkpoint in {ckpt.directory}: train the run first.')
  state, _ = ckpt.restore(abstract_state, step)
  ckpt.close()
  return config, gan, state


def generate_samples(config, gan, state, num: int, seed: int, use_ema: bool = True,
                     batch_size: int = 256) -> np.ndarray:
  """num samples in model space ([-1, 1] images or 2-D points), deterministic in seed."""
  sampler = train.make_sampler(gan)
  params = state.ema_params if use_ema and config.model.ema_decay > 0 else state.g_params
  z = steps.sample_noise(jax.random.PRNGKey(seed), num, config.model.z_dim)
  return np.concatenate([jax.device_get(sampler(params, state.g_stats, z[i:i + batch_size]))
                         for i in range(0, num, batch_size)])


def write(out: str, samples: np.ndarray) -> None:
  if out.endswith('.npz'):
    arrays = {'samples': samples.astype(np.float32) if samples.ndim == 2 else to_uint8(samples)}
    np.savez(out, **arrays)
  elif out.endswith('.png'):
    images.save_png(out, images.render(samples))
  else:
    raise app.UsageError(f'--out={out!r} must end in .png or .npz.')


def main(argv):
  del argv
  config, gan, state = load_run(FLAGS.workdir, FLAGS.step)
  samples = generate_samples(config, gan, state, FLAGS.num, FLAGS.seed, FLAGS.ema,
                             FLAGS.batch_size)
  write(FLAGS.out, samples)
  print(f'Wrote {len(samples)} samples of {FLAGS.workdir} (step {int(state.step)}) to '
        f'{FLAGS.out}')


def run():
  # Accept --no-ema as a synonym of absl's --noema.
  sys.argv = ['--noema' if a == '--no-ema' else a for a in sys.argv]
  app.run(main)


if __name__ == '__main__':
  run()
