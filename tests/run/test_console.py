"""The console of the tools: a live progress line updated in place on a terminal, full lines
rarely elsewhere, lines that clear it, and the log file (jaxgan.run.console)."""

import io
import logging as logging_std
import sys

import pytest
from absl import logging

from jaxgan.run import console


class Terminal(io.StringIO):
  def isatty(self):
    return True


@pytest.fixture
def active(monkeypatch):
  monkeypatch.setattr(console.CONSOLE, 'active', True)
  monkeypatch.setattr(console.CONSOLE, 'live_text', '')
  monkeypatch.setattr(console, 'shows_info', lambda: False)


def drive(progress, steps):
  for step in steps:
    progress.update(step)
  progress.set_losses({'train_d_loss': 1.25, 'train_g_loss': 0.5, 'train_d_grad_norm': 3.0})
  progress.close()


def test_on_a_terminal_the_line_updates_in_place(active, monkeypatch):
  monkeypatch.setattr('sys.stderr', Terminal())
  monkeypatch.setattr(console, 'UPDATE_SECS', 0.0)
  drive(console.Progress(100, 0, 32), range(10, 101, 10))
  out = sys.stderr.getvalue()
  assert out.count('\n') == 1 and out.endswith('\n')  # One line, rewritten with \r.
  assert out.count('\r') >= 10
  last = out.rsplit('\r', 1)[-1]
  assert last.startswith('step 100/100 (100%)') and 'img/s' in last and 'done in' in last
  assert 'd_loss 1.25' in last and 'g_loss 0.5' in last and 'grad_norm' not in last


def test_elsewhere_it_prints_a_few_full_lines(active, monkeypatch):
  monkeypatch.setattr('sys.stderr', io.StringIO())
  drive(console.Progress(1000, 0, 8), range(5, 1001, 5))
  lines = sys.stderr.getvalue().splitlines()
  assert '\r' not in ''.join(lines)
  assert len(lines) == 2, lines  # The first step (compilation), then the end: < LINE_SECS.
  assert lines[0].startswith('step 5/1,000') and 'first step after' in lines[0]
  assert lines[1].startswith('step 1,000/1,000 (100%)') and 'ETA' not in lines[1]


def test_a_line_or_a_record_clears_the_live_line_first(active, monkeypatch):
  terminal = Terminal()
  monkeypatch.setattr('sys.stderr', terminal)
  console.CONSOLE.show_live('step 1/2')
  console.line('step 1 eval: fd 3')
  assert terminal.getvalue().endswith('step 1/2\x1b[K\r\x1b[Kstep 1 eval: fd 3\n')
  console.CONSOLE.show_live('step 2/2')
  console._ClearLiveLine().filter(None)  # What the console handler runs before a record.
  assert terminal.getvalue().endswith('step 2/2\x1b[K\r\x1b[K')


def test_without_a_tool_nothing_is_printed(monkeypatch):
  stream = Terminal()
  monkeypatch.setattr('sys.stderr', stream)
  monkeypatch.setattr(console.CONSOLE, 'active', False)
  drive(console.Progress(10, 0, 8), range(1, 11))
  console.line('hello')
  assert stream.getvalue() == ''


@pytest.fixture
def info_records():
  """absl's logger at INFO, as under a tool (outside one it follows --verbosity's default)."""
  absl_logger, root = logging_std.getLogger('absl'), logging_std.root
  levels = absl_logger.level, root.level
  absl_logger.setLevel(logging_std.INFO)
  root.setLevel(logging_std.INFO)
  yield
  absl_logger.setLevel(levels[0])
  root.setLevel(levels[1])


def test_the_log_file_gets_the_info_records(active, info_records, tmp_path, monkeypatch):
  monkeypatch.setattr(console, '_EARLY', console.EarlyRecords())
  logging_std.root.addHandler(console._EARLY)  # As activate() does.
  logging.info('a record of the start, before the workdir is known')
  with console.log_file(str(tmp_path)) as path:
    logging.info('a record for the file')
  logging.info('after the run')
  text = (tmp_path / 'log.txt').read_text()
  assert path == f'{tmp_path}/log.txt'
  assert 'a record for the file' in text and 'after the run' not in text
  assert text.index('a record of the start') < text.index('a record for the file')
  assert console._EARLY not in logging_std.root.handlers
  with console.log_file('gs://bucket/run') as path:  # No appending to an object.
    assert path is None


def test_durations():
  assert console.duration(5) == '0m05s'
  assert console.duration(125) == '2m05s'
  assert console.duration(3 * 3600 + 61) == '3h01m'
