"""Robustness: non-finite policies, the run record, config changes on resume, and bad input
(config fields, names, data, checkpoints, batch sizes, a full disk) each end in one clear line.
"""

import errno
import importlib.metadata
import json
import os
import subprocess

import jax
import numpy as np
import pytest
from PIL import Image

from testlib import REPO, build_gan, get_config, read_scalars, restore, run_tool, tiny
from jaxgan.data import sources
from jaxgan.data.errors import DataError
from jaxgan.gan import state as state_lib, steps, train
from jaxgan.run import checkpoint, guards, run_record


def toy_config(steps=2, **fields):
  """The 2-D MLP GAN: compiles in seconds, so each policy gets its own run."""
  config = tiny(get_config('gan_grid25'), steps)
  config.data.num_points = 2000
  config.checkpoint_every = 1
  config.log_every = 1
  for name, value in fields.items():
    config[name] = value
  return config


def finite(state):
  return all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state))


# Non-finite guard ---------------------------------------------------------------------------

def test_nonfinite_fail_names_the_step_and_terms_and_keeps_the_last_checkpoint(workdir):
  with pytest.raises(guards.NonFiniteError, match=r'non-finite .*d_loss.* at step 2 '):
    train.train_and_evaluate(toy_config(3, nonfinite='fail', debug_nan_step=2), workdir)
  assert checkpoint.Checkpointer(workdir, 5).latest_step() == 1
  assert finite(restore(workdir))


def test_nonfinite_skip_drops_the_update_but_advances_the_step(workdir, caplog):
  state = train.train_and_evaluate(toy_config(2, nonfinite='skip', debug_nan_step=2), workdir)
  assert int(state.step) == 2 and finite(state)
  before = restore(workdir, 1)  # Oracle: the skipped step left every other leaf unchanged.
  for a, b in zip(jax.tree.leaves(before.replace(step=state.step)), jax.tree.leaves(state)):
    assert np.array_equal(a, b)
  assert 'Skipped the updates of non-finite' in caplog.text


def test_nonfinite_rollback_restores_the_checkpoint_with_lower_learning_rates(workdir, caplog):
  config = toy_config(4, nonfinite='rollback', debug_nan_step=3)
  config.checkpoint_every = 2
  state = train.train_and_evaluate(config, workdir)
  assert int(state.step) == 4 and finite(state)
  assert 'Rolling back to the last checkpoint' in caplog.text
  ckpt = checkpoint.Checkpointer(workdir, 5)
  assert ckpt.restore_config()['optim']['lr_scale'] == 0.5
  assert ckpt.manager.all_steps() == [2, 4]


# Run record and config changes --------------------------------------------------------------

@pytest.fixture(scope='module')
def toy_run(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp('toy') / 'run')
  train.train_and_evaluate(toy_config(1), workdir)
  return workdir


def test_run_info_records_versions_devices_and_commit(toy_run):
  with open(os.path.join(toy_run, 'run_info.json')) as f:
    info = json.load(f)['starts'][-1]
  for package in ('jax', 'jaxlib', 'flax', 'optax', 'orbax-checkpoint'):
    assert info['versions'][package] == importlib.metadata.version(package)
  assert info['devices'] == [str(d) for d in jax.devices()] and info['process_count'] == 1
  head = subprocess.run(['git', '-C', REPO, 'rev-parse', 'HEAD'], capture_output=True,
                        text=True).stdout.strip()
  assert info['git_commit'].split('+')[0] == head
  with open(os.path.join(toy_run, 'config.json')) as f:
    assert json.load(f)['model']['hidden'] == list(toy_config().model.hidden)


def test_resume_refuses_model_and_data_changes_and_names_them(toy_run):
  saved = checkpoint.Checkpointer(toy_run, 5).restore_config()
  changed = toy_config(5)
  changed.model.hidden = (16, 16)
  changed.data.name = 'ring8'
  changed.optim.d_lr = 1e-3
  with pytest.raises(run_record.ConfigChangeError,
                     match=r"data.name: 'grid25' -> 'ring8', model.hidden: .*fresh --workdir"):
    run_record.check_resume(saved, changed, toy_run)
  before = open(os.path.join(toy_run, 'config.json')).read()
  with pytest.raises(run_record.ConfigChangeError):  # The whole run refuses, before writing.
    train.train_and_evaluate(changed, toy_run)
  assert open(os.path.join(toy_run, 'config.json')).read() == before


def test_resume_allows_safe_changes_only_when_asked(toy_run):
  saved = checkpoint.Checkpointer(toy_run, 5).restore_config()
  config = toy_config(100)  # num_steps and periods are always free.
  config.sample_every = 7
  run_record.check_resume(saved, config, toy_run)
  config.optim.d_lr = 1e-3
  with pytest.raises(run_record.ConfigChangeError,
                     match=r'optim.d_lr: 0.0001 -> 0.001.*allow_config_change=True'):
    run_record.check_resume(saved, config, toy_run)
  config.allow_config_change = True
  run_record.check_resume(saved, config, toy_run)


# Bad checkpoints and a full disk ------------------------------------------------------------

def test_checkpoint_of_another_model_is_refused_clearly(toy_run):
  other = toy_config()
  other.model.hidden = (16, 16)
  _, abstract, _ = build_gan(other)
  with pytest.raises(checkpoint.CheckpointError, match='does not match this config'):
    checkpoint.Checkpointer(toy_run, 5).restore(abstract)


def test_corrupt_checkpoint_names_the_directory_and_the_fix(workdir):
  train.train_and_evaluate(toy_config(2), workdir)
  step_dir = os.path.join(workdir, 'checkpoints', '2')
  for root, _, files in os.walk(os.path.join(step_dir, 'state')):
    for name in files:
      with open(os.path.join(root, name), 'wb') as f:
        f.write(b'garbage')
  # Asked for explicitly (the latest one falls back to step 1: test_checkpoint_fallback.py).
  with pytest.raises(checkpoint.CheckpointError,
                     match=f'{step_dir}.*delete that directory to resume from step 1'):
    restore(workdir, 2)


def test_disk_full_during_a_save_keeps_the_previous_checkpoint(workdir, monkeypatch):
  from orbax.checkpoint._src.handlers import json_checkpoint_handler as handler
  calls, save_fn = [], handler.JsonCheckpointHandler._save_fn

  async def full_disk(self, x, directory):
    calls.append(directory)
    if len(calls) > 2:  # The two JSON items of the first save succeed.
      raise OSError(errno.ENOSPC, 'No space left on device')
    return await save_fn(self, x, directory)
  monkeypatch.setattr(handler.JsonCheckpointHandler, '_save_fn', full_disk)
  with pytest.raises(checkpoint.CheckpointError,
                     match=r'No space left.*latest complete checkpoint \(step 1\) is intact'):
    train.train_and_evaluate(toy_config(3), workdir)
  monkeypatch.undo()
  ckpt = checkpoint.Checkpointer(workdir, 5, cleanup_tmp=True)
  assert ckpt.latest_step() == 1
  assert not [d for d in os.listdir(ckpt.directory) if 'tmp' in d]
  assert finite(restore(workdir))


# Bad data -----------------------------------------------------------------------------------

def folder_config(path, **data):
  config = tiny(get_config('dcgan_anime'))
  config.data.path = str(path)
  for name, value in data.items():
    config.data[name] = value
  return config


def write_images(path):
  """Three good images of every mode, a truncated JPEG and a file that is not an image."""
  rng = np.random.default_rng(0)
  os.makedirs(path, exist_ok=True)
  for i, mode in enumerate(('L', 'RGBA', 'P')):
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), np.uint8)).convert(mode).save(
        os.path.join(path, f'{i}_good.png'))
  Image.fromarray(rng.integers(0, 255, (40, 40, 3), np.uint8)).save(
      os.path.join(path, '3_broken.jpg'))
  with open(os.path.join(path, '3_broken.jpg'), 'r+b') as f:
    f.truncate(300)
  with open(os.path.join(path, '4_not_an_image.png'), 'wb') as f:
    f.write(b'not a png')
  return path


def test_unreadable_images_are_skipped_with_a_counted_warning(tmp_path, caplog):
  source = sources.build_source(folder_config(write_images(tmp_path / 'images')))
  images = [source[i]['image'] for i in range(len(source))]
  assert all(x.shape == (16, 16, 3) and np.all(np.isfinite(x)) for x in images)
  assert np.array_equal(images[3], images[4]) and np.array_equal(images[4], images[0])
  assert 'Skipping unreadable image 1 of 5' in caplog.text
  assert 'Skipping unreadable image 2 of 5' in caplog.text


def test_unreadable_image_fails_when_asked(tmp_path):
  source = sources.build_source(folder_config(write_images(tmp_path / 'images'),
                                              bad_images='fail'))
  source[0]
  with pytest.raises(DataError, match=r"3_broken.jpg.*bad_images=skip"):
    source[3]


def test_small_images_are_upscaled_with_a_warning(tmp_path, caplog):
  os.makedirs(tmp_path / 'small')
  Image.fromarray(np.full((8, 10, 3), 200, np.uint8)).save(tmp_path / 'small' / 'a.png')
  image = sources.build_source(folder_config(tmp_path / 'small'))[0]['image']
  assert image.shape == (16, 16, 3) and np.allclose(image, 200 / 127.5 - 1, atol=1e-6)
  assert 'smaller than model.image_size=16: upscaling' in caplog.text


@pytest.mark.parametrize('path, message', [
    ('missing', 'does not exist. Set --config.data.path'),
    ('empty', 'holds no images'),
])
def test_missing_or_empty_folder(tmp_path, path, message):
  os.makedirs(tmp_path / 'empty' / 'sub')
  with pytest.raises(DataError, match=message):
    sources.build_source(folder_config(tmp_path / path))


# Config combinations ------------------------------------------------------------------------

def train_step_of(name, **fields):
  """make_train_step of configs/<name>.py with e.g. model__d_norm='layer'."""
  config = tiny(get_config(name))
  for key, value in fields.items():
    section, field = key.split('__')
    config[section][field] = value
  return steps.make_train_step(config, state_lib.create(config)[0])


@pytest.mark.parametrize('name', ['dcgan_digits', 'acgan_digits'])
@pytest.mark.parametrize('penalty', ['gradient_penalty', 'r1'])
def test_penalty_on_a_batchnorm_critic_is_refused(name, penalty):
  with pytest.raises(ValueError, match=rf"^loss.penalty='{penalty}' needs a critic without "
                                       rf"BatchNorm .*--config.model.d_norm=layer or none, or "
                                       rf"--config.loss.penalty=none.$"):
    train_step_of(name, model__d_norm='batch', loss__penalty=penalty)


@pytest.mark.parametrize('name, d_norm, penalty', [
    ('dcgan_digits', 'layer', 'r1'),
    ('dcgan_digits', 'none', 'gradient_penalty'),
    ('acgan_digits', 'layer', 'gradient_penalty'),
    ('dcgan_digits', 'batch', 'none'),
    ('wgan_gp_grid25', 'batch', 'gradient_penalty'),  # The toy MLP critic has no norm layers.
])
def test_penalty_without_batchnorm_in_the_critic_is_accepted(name, d_norm, penalty, tmp_path):
  """Accepted, and it trains: one step logs a finite loss, and a positive penalty where one is
  asked for (a zero one would mean the option was dropped)."""
  config = tiny(get_config(name), 1)
  config.model.d_norm, config.loss.penalty = d_norm, penalty
  config.log_every = 1
  train.train_and_evaluate(config, str(tmp_path))
  (_, d_loss), = read_scalars(str(tmp_path), 'train_d_loss')
  assert np.isfinite(d_loss)
  penalties = read_scalars(str(tmp_path), 'train_d_penalty')
  if penalty == 'none':
    assert all(v == 0 for _, v in penalties)
  else:
    assert len(penalties) == 1 and penalties[0][1] > 0


# The command line: one line, no traceback ---------------------------------------------------

@pytest.mark.parametrize('args, env, message', [
    (['--config.model.nme=x'], {}, 'error: unknown config field \'nme\' Did you mean "name"'),
    (['--config.num_steps=ten'], {}, "error: flag --config.num_steps=ten: invalid literal"),
    (['--config.loss.name=wgan'], {}, "error: Unknown loss.name='wgan'; valid names: ["),
    (['--config.data.name=folder', '--config.data.path=/nonexistent'], {},
     "error: Image folder '/nonexistent' does not exist"),
    (['--config.batch_size=6'], {'XLA_FLAGS': '--xla_force_host_platform_device_count=4'},
     'error: batch_size=6 (global) must divide by the number of devices (4)'),
], ids=['unknown_field', 'ill_typed', 'unknown_loss', 'missing_folder', 'batch_vs_devices'])
def test_command_line_errors_are_one_line(args, env, message, tmp_path):
  run = run_tool('main', f'--workdir={tmp_path}', *args, env=env)
  assert run.returncode == 1
  assert 'Traceback' not in run.stderr
  assert run.stderr.strip().splitlines()[-1].startswith(message), run.stderr[-1000:]


def test_penalty_on_a_batchnorm_critic_is_one_line_before_training(tmp_path):
  run = run_tool('main', '--config=configs/dcgan_digits.py', f'--workdir={tmp_path}',
                 '--config.model.d_norm=batch', '--config.loss.penalty=r1')
  assert run.returncode == 1
  assert 'Traceback' not in run.stderr
  errors = [line for line in run.stderr.splitlines() if line.startswith('error:')]
  assert errors == run.stderr.strip().splitlines()[-1:], run.stderr[-1000:]
  assert 'model.d_norm' in errors[0] and 'loss.penalty' in errors[0]
  assert not os.listdir(tmp_path / 'checkpoints')  # Refused before the first step.
