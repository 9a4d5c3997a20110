"""Every `python -m jaxgan.X` tool: a known mistake is one `error:` line and exit 1 (a traceback
only with JAXGAN_TRACEBACK=1), and library chatter (Orbax's INFO lines, TensorFlow's and absl's
C++ start-up lines) stays off the console; training prints a few lines for a person and logs
every record to <workdir>/log.txt."""

import os
import re
import subprocess
import sys

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
  if tool == 'export':
    return [MISSING, f'--out={tmp_path / "exported"}']
  return [MISSING]


def last_line(text):
  lines = [line for line in text.splitlines() if line.strip()]
  return lines[-1] if lines else ''


TOOLS = ['main', 'sample', 'evaluate', 'upscale', 'report', 'export']


@pytest.mark.parametrize('tool', TOOLS)
def test_a_known_mistake_is_one_error_line(tool, tmp_path):
  run = run_tool(tool, *tool_args(tool, tmp_path), env=CPU)
  assert run.returncode == 1, run.stderr[-2000:]
  assert 'Traceback' not in run.stderr, run.stderr[-3000:]
  assert last_line(run.stderr).startswith('error: '), run.stderr[-2000:]
  # Nothing before it: no TensorFlow/absl start-up lines, no library notices.
  assert (run.stdout + run.stderr).strip().count('\n') == 0, run.stdout + run.stderr
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


# TensorFlow's C++ notices, absl's C++ and Python record prefixes, jax's backend probing.
STARTUP = re.compile(r'oneDNN|cpu_feature_guard|absl::InitializeLog|TF_ENABLE_ONEDNN_OPTS|'
                     r'^[IWEF]\d{4} |libtpu|Unable to initialize backend')


def train_to_file(tmp_path, *args):
  """(exit code, console text) of `python -m jaxgan.main --config=dcgan_digits` run from
  tmp_path with stdout and stderr to one file (no terminal), and its workdir."""
  workdir = tmp_path / 'run'
  console = tmp_path / 'console.txt'
  with open(console, 'w') as out:
    code = subprocess.run(
        [sys.executable, '-m', 'jaxgan.main', '--config=dcgan_digits', f'--workdir={workdir}',
         *args], stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
        env=os.environ | CPU, timeout=600).returncode
  return code, console.read_text(), workdir


@pytest.mark.slow
def test_training_shows_a_few_lines_and_logs_everything_to_the_workdir(tmp_path):
  code, text, workdir = train_to_file(tmp_path, '--config.num_steps=100',
                                      '--config.log_every=10')
  assert code == 0, text[-3000:]
  lines = text.split('\n')[:-1]  # Newlines: a \r would update a terminal's line in place.
  assert text.endswith('\n') and '\r' not in text
  assert len(lines) <= 12, text
  assert not [line for line in lines if STARTUP.search(line)], text
  assert lines[0] == f'Training dcgan_digits to step 100 in {workdir} (full log: {workdir}/log.txt)'
  assert sum(line.startswith('step 100 eval: ') for line in lines) == 1, text  # One per eval.
  final, = [line for line in lines if line.startswith('step 100/100 (100%)')]
  assert re.search(r'[\d,]+ img/s  done in \dm\d\ds  d_loss \S+  g_loss \S+$', final), final
  assert lines[-1] == f'Report: {workdir}/report.md'
  log = (workdir / 'log.txt').read_text()  # The full records.
  assert '[Hyperparameters]' in log and 'Training dcgan_digits' in log
  assert all(f'[{step}] train_d_adv_loss=' in log for step in range(10, 101, 10))
  assert 'eval_digits_fd_raw=' in log


@pytest.mark.slow
def test_verbosity_0_brings_the_records_back_to_the_console(tmp_path):
  code, text, _ = train_to_file(tmp_path, '--config.num_steps=5', '--verbosity=0')
  assert code == 0, text[-3000:]
  assert '[Hyperparameters]' in text and '[5] train_d_adv_loss=' in text
  assert re.search(r'^I\d{4} ', text, re.MULTILINE)
  assert 'oneDNN' not in text and 'absl::InitializeLog' not in text  # C++ lines stay off.
