"""One line on stderr, not a traceback wall, for mistakes the user can fix.

Config, data, checkpoint and divergence errors carry a message that names the problem and the
fix; the command-line entry points print it as `error: ...` and exit 1. A run stopped by
SIGTERM/SIGINT prints where its checkpoint is and exits 128 + the signal number. Set
JAXGAN_TRACEBACK=1 to get the full traceback instead.
"""

import contextlib
import os
import sys

from absl import flags

from jaxgan.run import checkpoint, guards, preemption

# DataError, ConfigChangeError and the registries' unknown-name errors are ValueErrors.
USER_ERRORS = (ValueError, FileNotFoundError, checkpoint.CheckpointError, guards.NonFiniteError)
# What ml_collections raises for a mistyped or ill-typed `--config.x.y=...` override.
CONFIG_FLAG_ERRORS = (flags.Error, AttributeError, KeyError, TypeError, ValueError, OSError,
                      ImportError)


def one_line(error: BaseException) -> str:
  """The message on one line (KeyErrors, and errors wrapping them, hold it in args[0])."""
  text = error
  while isinstance(text, BaseException):
    text = text.args[0] if len(text.args) == 1 else str(text)
  return ' '.join(str(text).replace('\\n', ' ').split())


def config_prefix(error: BaseException) -> str:
  if isinstance(error, flags.Error):
    return ''
  if isinstance(error, (AttributeError, KeyError)):
    return 'unknown config field '
  if isinstance(error, (ImportError, OSError)):  # Loaded on first use of FLAGS.config.
    return 'cannot load --config: '
  return 'bad --config: '


def _exit(message: str, code: int):
  print(message, file=sys.stderr, flush=True)
  sys.exit(code)


@contextlib.contextmanager
def reported(errors=USER_ERRORS, prefix=lambda error: ''):
  """Turns `errors` (and a preemption stop) raised inside into one line and an exit code."""
  try:
    yield
  except preemption.Preempted as e:
    _exit(f'jaxgan: {e}', 128 + e.signum)
  except errors as e:
    if os.environ.get('JAXGAN_TRACEBACK'):
      raise
    _exit(f'error: {prefix(e)}{one_line(e)}', 1)


def config_overrides():
  """For defining --config: a mistyped field fails there, while parsing the command line."""
  return reported(CONFIG_FLAG_ERRORS, prefix=config_prefix)


def parse_flags(argv):
  """app.run's flags_parser: an unknown flag or a bad value is one line, not a usage dump."""
  with config_overrides():
    return flags.FLAGS(argv)
