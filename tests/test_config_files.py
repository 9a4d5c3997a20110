"""--config by path from any directory or by a shipped config's name, the same in every tool that
takes one; and the wheel: `pip install .` (not editable) ships the configs and trains from
another directory."""

import os
import shutil
import subprocess
import sys

import pytest

from jaxgan import config_files
from jaxgan.metrics import stats
from testlib import REPO, run_tool

CPU = {'JAX_PLATFORMS': 'cpu'}


def test_a_name_is_the_shipped_config():
  path = config_files.resolve('dcgan_digits')
  assert os.path.samefile(path, os.path.join(REPO, 'configs', 'dcgan_digits.py'))
  assert config_files.load('dcgan_digits').name == 'dcgan_digits'
  assert 'dcgan_digits' in config_files.shipped_names()
  assert not {'default', 'sr_default', '__init__'} & set(config_files.shipped_names())


def test_a_path_works_from_any_directory(tmp_path, monkeypatch):
  own = tmp_path / 'mine.py'  # A user's own config, outside the repository, on the defaults.
  own.write_text('from configs import default\n\ndef get_config(arg=None):\n'
                 '  c = default.get_config()\n  c.name = arg or "mine"\n  return c\n')
  monkeypatch.chdir(tmp_path)
  assert config_files.load('mine.py').name == 'mine'
  assert config_files.load(f'{own}:other').name == 'other'  # ml_collections' `:argument`.
  # The README's and docstrings' `configs/X.py`, run outside the repository: the shipped one.
  assert config_files.load('configs/sngan_digits.py').name == 'sngan_digits'
  assert config_files.resolve('configs/sngan_digits.py:x').endswith('sngan_digits.py:x')


@pytest.mark.parametrize('value, message', [
    ('nosuch', "no shipped config 'nosuch'"),
    ('configs/nosuch.py', "no config file 'configs/nosuch.py'"),
    ('nosuch.py', "no config file 'nosuch.py'"),
])
def test_an_unknown_config_names_the_choices(value, message, tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  with pytest.raises(ValueError, match=message) as error:
    config_files.resolve(value)
  assert 'dcgan_digits' in str(error.value)


def test_metrics_stats_data_takes_configs_by_name_and_data_sets():
  assert stats.load_data_config('dcgan_cifar').data.name == 'cifar10'
  assert stats.load_data_config('configs/dcgan_cifar.py').data.name == 'cifar10'
  assert stats.load_data_config('digits').model.channels == 1
  with pytest.raises(ValueError, match="--data='nosuch' is neither a config"):
    stats.load_data_config('nosuch')


@pytest.mark.parametrize('tool, args', [
    ('main', ['--config=nosuch', '--workdir=/no/such/dir']),
    ('evaluate', ['--config=nosuch', '--samples=x.npz']),
    ('benchmark', ['--config=nosuch']),
    ('metrics.stats', ['--data=nosuch']),
])
def test_every_tool_refuses_an_unknown_config_in_one_line(tool, args, tmp_path):
  run = run_tool(tool, *args, env=CPU, cwd=str(tmp_path))
  assert run.returncode == 1, run.stderr[-2000:]
  lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
  assert len(lines) == 1 and lines[0].startswith('error: '), lines[-20:]
  assert "'nosuch'" in lines[0] and 'dcgan_digits' in lines[0]


def source_tree(dest):
  """The files a clone of this checkout has (tracked, and new files git does not ignore)."""
  try:
    files = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                           cwd=REPO, capture_output=True, check=True).stdout.decode().split('\0')
  except (OSError, subprocess.CalledProcessError):  # Not a git checkout: copy what is there.
    shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(
        '.git', 'runs', 'build', '*.egg-info', '__pycache__'))
    return dest
  for name in filter(None, files):
    if os.path.isfile(os.path.join(REPO, name)):
      os.makedirs(os.path.dirname(os.path.join(dest, name)), exist_ok=True)
      shutil.copy2(os.path.join(REPO, name), os.path.join(dest, name))
  return dest


@pytest.mark.slow
def test_a_wheel_trains_from_another_directory(tmp_path):
  """`pip install .` in a fresh venv (the installed dependencies reused: nothing downloaded), then
  the quick start by name from /tmp-like directory with no configs/ in it."""
  src = source_tree(tmp_path / 'src')
  subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
                  '-q', '-w', str(tmp_path / 'dist'), str(src)], check=True)
  wheel, = (tmp_path / 'dist').glob('jaxgan-*.whl')
  venv = tmp_path / 'venv'
  subprocess.run([sys.executable, '-m', 'venv', '--system-site-packages', '--without-pip',
                  str(venv)], check=True)
  python = str(venv / 'bin' / 'python')
  # The system's pip installs into the venv (sys.prefix); --ignore-installed: beside, not over,
  # the editable install the venv also sees.
  subprocess.run([python, '-m', 'pip', 'install', '-q', '--no-deps', '--no-index',
                  '--ignore-installed', str(wheel)], check=True)
  elsewhere = tmp_path / 'elsewhere'
  elsewhere.mkdir()
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'} | CPU
  where = subprocess.run([python, '-c', 'import configs, jaxgan; print(jaxgan.__file__); '
                          'print(configs.__file__)'], cwd=elsewhere, env=env,
                         capture_output=True, text=True, check=True).stdout.split()
  assert all(p.startswith(str(venv)) for p in where), where  # The wheel's, not the checkout's.
  workdir = tmp_path / 'run'
  run = subprocess.run([python, '-m', 'jaxgan.main', '--config=dcgan_digits',
                        f'--workdir={workdir}', '--config.num_steps=10', '--config.batch_size=8'],
                       cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
  assert run.returncode == 0, run.stderr[-3000:]
  assert (workdir / 'checkpoints' / '10').is_dir()
  assert (workdir / 'report.md').is_file()  # Evaluated with the shipped digits classifier.
  assert os.listdir(elsewhere) == []
