"""What a person sees while a tool runs: one live progress line and one line per event.

absl's records (hyperparameters, every scalar, library notices) still go to TensorBoard and, for
training, to <workdir>/log.txt; on the console only warnings and errors show, unless absl's
--verbosity is given (--verbosity=0: every INFO record, as before). `activate` is called by
run/cli.py, so library use (tests, notebooks) keeps plain absl logging and prints nothing here.

On a terminal the progress line updates in place (\\r, at most every UPDATE_SECS); written to a
file or a pipe it is a full line after the first step, every LINE_SECS and at the end.
"""

import collections
import contextlib
import logging as logging_std
import sys
import time

import jax
from absl import flags, logging

UPDATE_SECS = 0.2  # Terminal: redraws of the live line.
LINE_SECS = 60.0  # No terminal: one progress line this often.
RATE_WINDOW_SECS = 30.0  # images/s and the ETA: over the last this many seconds.
LOG_FILE = 'log.txt'


class Console:
  """The process's console: permanent lines and one live line, on stderr."""

  def __init__(self):
    self.active = False  # Set by activate(): a command-line tool is running.
    self.live_text = ''  # What the live line shows now ('' none).

  @property
  def stream(self):
    return sys.stderr  # Looked up each time: tests and tools may swap it.

  def is_terminal(self) -> bool:
    return bool(getattr(self.stream, 'isatty', lambda: False)())

  def width(self) -> int:
    try:
      import shutil  # pylint: disable=g-import-not-at-top
      return shutil.get_terminal_size().columns
    except (OSError, ValueError):
      return 100

  def clear_live(self) -> None:
    """Erases the live line (a terminal's) so that a record or a line can take its place."""
    if self.live_text and self.is_terminal():
      self.stream.write('\r\x1b[K')
      self.stream.flush()
    self.live_text = ''

  def end_live(self) -> None:
    """Leaves the live line as it is and moves below it."""
    if self.live_text and self.is_terminal():
      self.stream.write('\n')
      self.stream.flush()
    self.live_text = ''

  def show_live(self, text: str) -> None:
    if self.is_terminal():
      self.stream.write('\r' + text[:max(self.width() - 1, 20)] + '\x1b[K')
      self.stream.flush()
      self.live_text = text
    else:
      self.write_line(text)

  def write_line(self, text: str) -> None:
    self.clear_live()
    print(text, file=self.stream, flush=True)


CONSOLE = Console()


def shows_info() -> bool:
  """Whether absl's console handler prints INFO records (--verbosity=0 or more given)."""
  return logging.get_absl_handler().level <= logging_std.INFO


def line(message: str, record: bool = True) -> None:
  """One line for the person (process 0 only), and (record=False: the caller logs its own) an
  INFO record for the log file. With INFO records on the console (--verbosity=0) the record
  stands for the line."""
  if record:
    logging.info('%s', message)
  if CONSOLE.active and not shows_info() and jax.process_index() == 0:
    CONSOLE.write_line(message)


class _ClearLiveLine(logging_std.Filter):
  """On the console handler, after the others: a record about to print clears the live line."""

  def filter(self, record):
    CONSOLE.clear_live()
    return True


class EarlyRecords(logging_std.Handler):
  """The records of a tool's start (jax's backend probing, the mesh) kept for the log file,
  which opens once the workdir is known."""

  def __init__(self, capacity: int = 1_000):
    super().__init__()
    self.records, self.capacity = [], capacity

  def emit(self, record):
    if len(self.records) < self.capacity:
      self.records.append(record)


_EARLY = EarlyRecords()


def activate() -> None:
  """The console of a command-line tool (after its flags are parsed): warnings and errors only,
  unless --verbosity was given; progress and lines from `line`."""
  handler = logging.get_absl_handler()
  if not flags.FLAGS['verbosity'].present:
    handler.setLevel(logging_std.WARNING)  # The root logger stays at INFO, for the log file.
  handler.addFilter(_ClearLiveLine())
  logging_std.root.addHandler(_EARLY)
  CONSOLE.active = True


@contextlib.contextmanager
def log_file(workdir: str):
  """Every record at the root logger's level (INFO from the command line) appended to
  <workdir>/log.txt while inside. Only for tools (activate) on process 0 with a local workdir:
  a gs:// object cannot be appended to."""
  path = f'{workdir}/{LOG_FILE}'
  if not CONSOLE.active or jax.process_index() != 0 or '://' in str(workdir):
    yield None
    return
  handler = logging_std.FileHandler(path, encoding='utf-8')
  handler.setFormatter(logging.PythonFormatter())
  if _EARLY in logging_std.root.handlers:  # The first run of this process: its start too.
    logging_std.root.removeHandler(_EARLY)
    for record in _EARLY.records:
      handler.handle(record)
    _EARLY.records.clear()
  logging_std.root.addHandler(handler)
  try:
    yield path
  finally:
    logging_std.root.removeHandler(handler)
    handler.close()


def duration(seconds: float) -> str:
  seconds = int(round(seconds))
  hours, rest = divmod(seconds, 3600)
  return f'{hours}h{rest // 60:02d}m' if hours else f'{rest // 60}m{rest % 60:02d}s'


class Progress:
  """The live line of a training run: step, images/s, ETA and the latest losses."""

  def __init__(self, num_steps: int, start_step: int, batch_size: int, enabled: bool = True):
    self.num_steps, self.batch_size = num_steps, batch_size
    self.enabled = enabled and CONSOLE.active
    self.start = time.perf_counter()
    self.marks = collections.deque()  # (time, step) of recent updates.
    self.losses = {}
    self.step = start_step
    self.last_shown = None

  def set_losses(self, scalars: dict) -> None:
    """The train_* means just logged: d_loss and g_loss if there are, else every *loss."""
    losses = {k.removeprefix('train_'): v for k, v in scalars.items() if k.endswith('loss')}
    main = {k: losses[k] for k in ('d_loss', 'g_loss') if k in losses}
    self.losses = main or dict(sorted(losses.items())[:4])

  def rate(self) -> float | None:
    """Steps per second over the recent window (the first call, which compiles, excluded)."""
    if len(self.marks) < 2:
      return None
    (t0, s0), (t1, s1) = self.marks[0], self.marks[-1]
    return (s1 - s0) / (t1 - t0) if t1 > t0 and s1 > s0 else None

  def text(self, done: bool = False) -> str:
    parts = [f'step {self.step:,}/{self.num_steps:,} ({100 * self.step / self.num_steps:.0f}%)']
    rate = self.rate()
    if rate:
      parts.append(f'{rate * self.batch_size:,.0f} img/s')
    if done:
      parts.append(f'done in {duration(time.perf_counter() - self.start)}')
    elif rate:
      parts.append(f'ETA {duration((self.num_steps - self.step) / rate)}')
    else:  # The first call: compilation and the first batches.
      parts.append(f'first step after {duration(time.perf_counter() - self.start)}')
    parts += [f'{k} {v:.4g}' for k, v in self.losses.items()]
    return '  '.join(parts)

  def update(self, step: int) -> None:
    if not self.enabled:
      return
    now = time.perf_counter()
    self.step = step
    self.marks.append((now, step))
    while len(self.marks) > 2 and now - self.marks[1][0] > RATE_WINDOW_SECS:
      self.marks.popleft()
    every = UPDATE_SECS if CONSOLE.is_terminal() else LINE_SECS
    # A record may have erased the live line: redraw it at once.
    if self.last_shown is None or now - self.last_shown >= every or (
        CONSOLE.is_terminal() and not CONSOLE.live_text):
      self.last_shown = now
      CONSOLE.show_live(self.text())

  def close(self) -> None:
    """The final state, left on the console."""
    if not self.enabled:
      return
    self.enabled = False
    CONSOLE.show_live(self.text(done=self.step >= self.num_steps))
    CONSOLE.end_live()
