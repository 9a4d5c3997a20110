"""Every `python -m jaxgan.X` tool: a known mistake is one `error:` line and exit 1 (a traceback
only with JAXGAN_TRACEBACK=1), and library chatter (Orbax's INFO lines) stays off the console."""

import re

import numpy as np
import pytest
from PIL import Image

from testlib import run_tool

CPU = {'JAX_PLATFORMS': 'cpu'}
MISSING = '--workdir=/no/such/dir'


def tool_args(tool, tmp_path):
  """The tool's arguments that fail on a known mistake (main creates any --workdir, so it gets a
  config field that does not exist; upscale gets an input image that does exist)."""
  if tool == 'main':
    return [f'--workdir={tmp_path / "run"}', '--config.nonexistent_field=1']
  if tool == 'upscale':
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / 'in.png')
    return [MISSING, str(tmp_path / 'in.png'), str(tmp_path / 'out.png')]
  return [MISSING]


def last_line(text):
  lines = [line for line in text.splitlines() if line.strip()]
  return lines[-1] if lines else ''


TOOLS = ['main', 'sample', 'evaluate', 'upscale', 'report']


@pytest.mark.parametrize('tool', TOOLS)
def test_a_known_mistake_is_one_error_line(tool, tmp_path):
  run = run_tool(tool, *tool_args(tool, tmp_path), env=CPU)
  assert run.returncode == 1, run.stderr[-2000:]
  assert 'Traceback' not in run.stderr, run.stderr[-3000:]
  assert last_line(run.stderr).startswith('error: '), run.stderr[-2000:]
  if tool == 'main':
    assert "'nonexistent_field'" in last_line(run.stderr)
    assert not (tmp_path / 'run').exists()  # Refused before the workdir was made.
  else:
    assert '/no/such/dir' in last_line(run.stderr)


@pytest.mark.parametrize('tool', TOOLS)
def test_jaxgan_traceback_shows_the_traceback(tool, tmp_path):
  run = run_tool(tool, *tool_args(tool, tmp_path), env=CPU | {'JAXGAN_TRACEBACK': '1'})
  assert run.returncode != 0
  assert 'Traceback (most recent call last)' in run.stderr, run.stderr[-2000:]


ABSL_INFO = re.compile(r'^I\d{4} \d\d:\d\d:\d\d')  # absl: I<mmdd> <hh:mm:ss.us> <thread> <file>]


def test_sample_prints_no_orbax_info_lines(tiny_digits_run, tmp_path):
  _, workdir = tiny_digits_run
  run = run_tool('sample', f'--workdir={workdir}', '--num=4', f'--out={tmp_path / "s.png"}',
                 env=CPU)
  assert run.returncode == 0, run.stderr[-2000:]
  assert 'Wrote 4 samples' in run.stdout
  chatter = [line for line in (run.stderr + run.stdout).splitlines() if ABSL_INFO.match(line)
             and re.search(r'orbax|checkpoint_manager', line, re.IGNORECASE)]
  assert not chatter, '\n'.join(chatter[:10])


@pytest.mark.parametrize('tool, args, message', [
    ('main', ['unexpected'], "error: Unexpected arguments: ['unexpected']"),
    ('upscale', ['--workdir=runs/x', 'missing.png', 'out.png'],
     "error: Input image 'missing.png' does not exist."),
])
def test_misused_arguments_are_one_error_line_not_the_flag_help(tool, args, message, tmp_path):
  run = run_tool(tool, *args, env=CPU)
  assert run.returncode == 1
  assert last_line(run.stderr) == message, run.stderr[-1000:]
  assert 'flags:' not in run.stderr and 'Traceback' not in run.stderr
