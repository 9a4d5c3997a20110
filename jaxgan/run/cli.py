"""How every `python -m jaxgan.X` tool starts: its flags, quiet library logs, one-line errors.

  def define_flags(): ...                       # the tool's flags, defined only when it runs
  def main(argv): ...
  if __name__ == '__main__':
    cli.run(main, define_flags)

Known errors (a wrong --workdir, a bad config field, missing data or weights) print one line and
exit 1; JAXGAN_TRACEBACK=1 shows the traceback instead (jaxgan.run.user_errors). The console
shows warnings, errors and the tool's own lines (jaxgan.run.console); absl's INFO records go to
the log file of a training run, and back to the console with --verbosity=0.
"""

import logging as logging_std
from typing import Callable

from absl import app, logging

from jaxgan.run import console, user_errors


class QuietLibraries(logging_std.Filter):
  """Drops INFO chatter of Orbax, TFDS and grain (tens of lines per checkpoint) from the console."""

  def filter(self, record):
    noisy = ('/orbax/', '/tensorflow_datasets/', '/grain/')
    return record.levelno > logging_std.INFO or not any(p in record.pathname for p in noisy)


def run(main: Callable, define_flags: Callable[[], None]) -> None:
  define_flags()

  def quiet_main(argv):
    logging.get_absl_handler().addFilter(QuietLibraries())
    console.activate()
    # Known errors, and misuse of the tool's flags or arguments: one line on stderr, exit 1.
    with user_errors.reported(user_errors.USER_ERRORS + (app.UsageError,)):
      try:
        return main(argv)
      finally:
        console.CONSOLE.end_live()  # An error's line goes below the progress line, not on it.
  app.run(quiet_main, flags_parser=user_errors.parse_flags)
