"""Draws samples from a trained run.

  python -m jaxgan.sample --workdir=runs/dcgan_digits --num=64 --out=grid.png
  python -m jaxgan.sample --workdir=runs/dcgan_digits --num=1000 --out=samples.npz --seed=1

A `.png` gets a grid (a scatter plot for 2-D toys); a `.npz` gets `samples`: uint8 NHWC images,
or float32 (N, 2) points, and `noise`: the float32 (N, z_dim) noise they were drawn from (what
an exported generator takes, see jaxgan.export). `--noema` (or `--no-ema`) samples the raw generator instead of its EMA.

Class-conditional runs draw the asked classes; the `.npz` also gets `labels` (int32) and a `.png`
is a per-class grid, one row per class with its name:

  python -m jaxgan.sample --workdir=runs/acgan_digits --labels=3,3,7 --out=sevens.npz
  python -m jaxgan.sample --workdir=runs/acgan_digits --per_class=8 --out=grid.png

Without --labels or --per_class, the --num samples are balanced over the classes.
A run of several seeds (config.num_seeds) samples member --seed_index=k (default 0), the run of
seed + k.
`--truncation=0.7` draws the noise truncated to [-0.7, 0.7] (BigGAN's truncation trick: less
variety, higher fidelity); `python -m jaxgan.evaluate --truncation=psi` scores such samples.
"""

import sys

from absl import app, flags
import numpy as np
from etils import epath

from jaxgan import images
from jaxgan.data.transforms import to_uint8
from jaxgan.gan import class_conditional, generate
from jaxgan.run import cli

FLAGS = flags.FLAGS


def define_flags():
  """Flags of the command line only: importing this module defines none."""
  flags.DEFINE_string('workdir', None, 'Working directory of a training run.', required=True)
  flags.DEFINE_integer('num', 64, 'Number of samples.')
  flags.DEFINE_string('out', 'samples.png', 'Output file: .png (grid) or .npz (arrays).')
  flags.DEFINE_integer('seed', 0, 'Noise seed.')
  flags.DEFINE_bool('ema', True, 'Sample the EMA generator (--noema: the raw one).')
  flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
  flags.DEFINE_integer('seed_index', 0, 'Runs of config.num_seeds > 1: the member to sample, '
                       '0..num_seeds-1 (member k is the run of seed + k).')
  flags.DEFINE_integer('batch_size', 256, 'Samples generated per call.')
  flags.DEFINE_float('truncation', 0.0, 'Truncation trick: draw the noise truncated to '
                     '[-psi, psi], trading variety for quality (0: none).')
  flags.DEFINE_string('labels', None, 'Conditional runs: comma-separated classes, e.g. 3,3,7 '
                      '(overrides --num).')
  flags.DEFINE_integer('per_class', None, 'Conditional runs: K samples of every class, in '
                       'class order (overrides --num).')


def choose_labels(config, num: int, labels: str | None, per_class: int | None):
  """The labels to draw: --labels, --per_class, or --num balanced over classes (None: uncond.)."""
  n = class_conditional.num_classes(config)
  if not n:
    if labels is not None or per_class is not None:
      raise app.UsageError(f'--labels/--per_class need a class-conditional run; model.name='
                           f'{config.model.name!r} is unconditional.')
    return None
  if labels is not None and per_class is not None:
    raise app.UsageError('Give --labels or --per_class, not both.')
  if labels is not None:
    try:
      return class_conditional.parse_labels(labels, n)
    except ValueError as e:
      raise app.UsageError(str(e)) from None
  if per_class is not None:
    if per_class < 1:
      raise app.UsageError(f'--per_class={per_class} must be >= 1.')
    return class_conditional.per_class_labels(per_class, n)
  return class_conditional.balanced_labels(num, n)


def write(out: str, samples: np.ndarray, labels=None, class_names=(), noise=None) -> None:
  """Writes through epath: `out` may be a gs:// URL too."""
  if out.endswith('.npz'):
    arrays = {'samples': samples.astype(np.float32) if samples.ndim == 2 else to_uint8(samples)}
    if noise is not None:
      arrays['noise'] = np.asarray(noise, np.float32)
    if labels is not None:
      arrays['labels'] = np.asarray(labels, np.int32)
    with epath.Path(out).open('wb') as f:
      np.savez(f, **arrays)
  elif out.endswith('.png'):
    images.save_png(out, images.render(samples) if labels is None else
                    images.class_grid(samples, labels, class_names))
  else:
    raise app.UsageError(f'--out={out!r} must end in .png or .npz.')


def main(argv):
  del argv
  config, gan, state, standing = generate.load_run(FLAGS.workdir, FLAGS.step,
                                                   seed_index=FLAGS.seed_index)
  labels = choose_labels(config, FLAGS.num, FLAGS.labels, FLAGS.per_class)
  num = FLAGS.num if labels is None else len(labels)
  samples = generate.generate_samples(config, gan, state, num, FLAGS.seed, FLAGS.ema,
                                      FLAGS.batch_size, labels, FLAGS.truncation, standing)
  names = class_conditional.class_names(config) if labels is not None else ()
  noise = generate.seeded_noise(config, num, FLAGS.seed, FLAGS.truncation)
  write(FLAGS.out, samples, labels, names, noise)
  print(f'Wrote {len(samples)} samples of {FLAGS.workdir} (step {int(state.step)}) to '
        f'{FLAGS.out}')


def run():
  # Accept --no-ema as a synonym of absl's --noema.
  sys.argv = ['--noema' if a == '--no-ema' else a for a in sys.argv]
  cli.run(main, define_flags)


if __name__ == '__main__':
  run()
