"""SIGTERM and SIGINT become a request to stop at the next step boundary, after a checkpoint.

Clusters send SIGTERM before they preempt a job; Ctrl-C sends SIGINT. The handler only sets a
flag: the loop finishes its step, saves, flushes the writers and raises `Preempted`, and the
next start resumes from that checkpoint. A second signal gets the default behaviour (kill).
"""

import signal
import threading

import jax
import numpy as np
from absl import logging

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Preempted(Exception):
  """Training stopped on a signal after saving its checkpoint; rerunning resumes it."""

  def __init__(self, signum: int, step: int, directory: str):
    self.signum, self.step = signum, step
    super().__init__(f'stopped by {signal.Signals(signum).name} after step {step}; checkpoint '
                     f'saved in {directory}. Run the same command again to resume.')


class StopSignal:
  """Context manager; `requested(sync)` says whether to stop now (all processes agree)."""

  def __init__(self):
    self.signum = None
    self._previous = {}

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():  # Only it may set handlers.
      self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
    return self

  def __exit__(self, *exc):
    for s, handler in self._previous.items():
      signal.signal(s, handler)
    self._previous = {}

  def _handle(self, signum, frame):
    del frame
    self.signum = signum
    signal.signal(signum, signal.SIG_DFL if signum == signal.SIGTERM else
                  signal.default_int_handler)  # A second signal stops at once.
    logging.warning('Received %s: saving a checkpoint at the end of this step.',
                    signal.Signals(signum).name)

  def requested(self, sync_point: bool) -> bool:
    """Single process: at once. Several: at sync points (log steps), once every one agrees."""
    if jax.process_count() == 1:
      return self.signum is not None
    if not sync_point:
      return False
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    signums = multihost_utils.process_allgather(np.int32(self.signum or 0))
    self.signum = self.signum or int(np.max(signums)) or None
    return self.signum is not None
