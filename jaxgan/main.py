"""Trains one experiment described by one config file.

  python -m jaxgan.main --config=configs/wgan_gp_cifar.py --workdir=runs/wgan_gp_cifar

With no flags it runs the embedded quick start, configs/dcgan_digits.py, in runs/dcgan_digits.
--config takes a file from any directory or a shipped config's name (--config=wgan_gp_cifar).
A finished run also gets <workdir>/report.md (python -m jaxgan.report rewrites it at any time).
"""

import os

import jax
from absl import app, flags

from jaxgan import config_files, report
from jaxgan.gan import train as gan_train
from jaxgan.run import cli, console, sharding, user_errors
from jaxgan.sr import train as sr_train

DEFAULT_CONFIG = 'dcgan_digits'  # The shipped configs/dcgan_digits.py.

FLAGS = flags.FLAGS

# config.task -> the function that trains it.
TRAINERS = {'gan': gan_train.train_and_evaluate, 'sr': sr_train.train_and_evaluate}


def define_flags():
  """Flags of the command line only: importing this module defines none."""
  with user_errors.config_overrides():  # Overrides of the default config are parsed here.
    config_files.define_config_flag('config', DEFAULT_CONFIG)
  flags.DEFINE_string('workdir', None, 'Checkpoints, samples and TensorBoard logs go here '
                      '(default: runs/<config name>).')
  # Multi-process runs: detected automatically on TPU pods and SLURM; elsewhere from these flags.
  flags.DEFINE_string('coordinator_address', None, 'host:port of process 0.')
  flags.DEFINE_integer('num_processes', None, 'Number of processes in the run.')
  flags.DEFINE_integer('process_id', None, 'Index of this process, 0..num_processes-1.')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  sharding.initialize_distributed(FLAGS.coordinator_address, FLAGS.num_processes,
                                  FLAGS.process_id)
  with user_errors.config_overrides():  # A config file that failed to load fails on use.
    config = FLAGS.config
    workdir = FLAGS.workdir or os.path.join('runs', config.name)
  task = config.get('task', 'gan')
  if task not in TRAINERS:
    raise app.UsageError(f'Unknown config.task={task!r}; valid tasks: {sorted(TRAINERS)}.')
  TRAINERS[task](config, workdir)
  if jax.process_index() == 0:  # The run at a glance: losses, eval metrics, samples.
    console.line(f'Report: {report.write_report(workdir)}')


if __name__ == '__main__':
  cli.run(main, define_flags)
