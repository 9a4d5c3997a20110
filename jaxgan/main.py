"""Trains one experiment described by one config file.

  python -m jaxgan.main --config=configs/wgan_gp_cifar.py --workdir=runs/wgan_gp_cifar

With no flags it runs the embedded quick start, configs/dcgan_digits.py, in runs/dcgan_digits.
"""

import logging as logging_std
import os

from absl import app, flags, logging
from ml_collections import config_flags

from jaxgan import train

DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              'configs', 'dcgan_digits.py')

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', DEFAULT_CONFIG, 'Experiment config file.',
                                lock_config=True)
flags.DEFINE_string('workdir', None, 'Checkpoints, samples and TensorBoard logs go here '
                    '(default: runs/<config name>).')


class _QuietLibraries(logging_std.Filter):
  """Drops INFO chatter of Orbax and TFDS (tens of lines per checkpoint) from the console."""

  def filter(self, record):
    noisy = ('/orbax/', '/tensorflow_datasets/', '/grain/')
    return record.levelno > logging_std.INFO or not any(p in record.pathname for p in noisy)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  logging.get_absl_handler().addFilter(_QuietLibraries())
  config = FLAGS.config
  workdir = FLAGS.workdir or os.path.join('runs', config.name)
  logging.info('Training %s in %s', config.name, workdir)
  train.train_and_evaluate(config, workdir)


if __name__ == '__main__':
  app.run(main)
