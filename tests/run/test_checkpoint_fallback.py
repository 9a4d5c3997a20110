"""A damaged latest checkpoint: training, sampling and evaluation fall back to an older one.

Training moves the damaged step aside to checkpoints_damaged/ (kept, not deleted); readers only
skip it. An explicitly requested step and a checkpoint of another model are still refused.
"""

import json
import os
import shutil

import jax
import numpy as np
import pytest

from testlib import build_gan, get_config, restore, tiny
from jaxgan.gan import train
from jaxgan.run import checkpoint, run_record


def toy_config(steps):
  config = tiny(get_config('gan_grid25'), steps)
  config.data.num_points = 2000
  config.checkpoint_every = 1
  config.log_every = 1
  return config


@pytest.fixture(scope='module')
def two_steps(tmp_path_factory):
  """A finished toy run with checkpoints 1 and 2; each test damages its own copy."""
  workdir = str(tmp_path_factory.mktemp('fallback') / 'run')
  train.train_and_evaluate(toy_config(2), workdir)
  return workdir


def copy_run(run, tmp_path, name='run'):
  return shutil.copytree(run, str(tmp_path / name))


def files(directory) -> dict[str, bytes]:
  out = {}
  for root, _, names in os.walk(directory):
    for name in names:
      with open(os.path.join(root, name), 'rb') as f:
        out[os.path.relpath(os.path.join(root, name), directory)] = f.read()
  return out


def damage(workdir, step=2, every_file=False) -> dict[str, bytes]:
  """Random bytes into the array data files of `step` (the tree metadata stays readable), or
  into every file of it. Returns the damaged directory's files."""
  step_dir = os.path.join(workdir, 'checkpoints', str(step))
  rng = np.random.default_rng(0)
  for root, _, names in os.walk(step_dir):
    for name in names:
      path = os.path.join(root, name)
      if every_file or os.path.basename(root) == 'd':  # OCDBT array chunks live in d/.
        size = os.path.getsize(path)
        with open(path, 'wb') as f:
          f.write(rng.bytes(size))
  return files(step_dir)


def assert_same_leaves(a, b):
  leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
  assert len(leaves_a) == len(leaves_b) > 10
  assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(leaves_a, leaves_b))


def test_training_resumes_from_the_older_step_and_moves_the_damaged_one_aside(
    two_steps, tmp_path, caplog):
  workdir = copy_run(two_steps, tmp_path)
  damaged = damage(workdir)
  oracle = copy_run(two_steps, tmp_path, 'oracle')  # A run that only ever had step 1.
  shutil.rmtree(os.path.join(oracle, 'checkpoints', '2'))
  state = train.train_and_evaluate(toy_config(3), workdir)
  step_dir = os.path.join(workdir, 'checkpoints', '2')
  aside = os.path.join(workdir, 'checkpoints_damaged', '2')
  assert f'Checkpoint {step_dir} is damaged' in caplog.text
  assert f'using step 1, the newest one that restores. Moved it to {aside}' in caplog.text
  with open(os.path.join(workdir, 'run_info.json')) as f:
    assert json.load(f)['starts'][-1]['start_step'] == 1
  assert files(aside) == damaged  # Moved, not deleted.
  assert checkpoint.Checkpointer(workdir, 5).manager.all_steps() == [1, 2, 3]  # 2 saved anew.
  assert_same_leaves(state, train.train_and_evaluate(toy_config(3), oracle))


def test_sampling_falls_back_and_moves_nothing(two_steps, tmp_path, caplog):
  workdir = copy_run(two_steps, tmp_path)
  damage(workdir)
  before = files(workdir)
  state = restore(workdir)  # As `sample` and `evaluate` load runs (generate.load_run).
  assert int(state.step) == 1
  assert_same_leaves(state, restore(two_steps, 1))
  step_dir = os.path.join(workdir, 'checkpoints', '2')
  assert f'Checkpoint {step_dir} is damaged' in caplog.text and 'Left in place' in caplog.text
  assert files(workdir) == before


def test_an_explicitly_requested_damaged_step_is_refused_even_by_the_training_run(
    two_steps, tmp_path):
  workdir = copy_run(two_steps, tmp_path)
  damage(workdir)
  before = files(workdir)
  ckpt = checkpoint.Checkpointer(workdir, 5, cleanup_tmp=True)
  step_dir = os.path.join(workdir, 'checkpoints', '2')
  with pytest.raises(checkpoint.CheckpointError,
                     match=f'{step_dir}.*delete that directory to resume from step 1'):
    ckpt.restore(build_gan(toy_config(2))[1], 2)
  ckpt.close()
  assert files(workdir) == before


def test_a_checkpoint_of_another_model_fails_at_every_step_and_nothing_moves(
    two_steps, tmp_path):
  workdir = copy_run(two_steps, tmp_path)
  before = files(workdir)
  other = toy_config(2)
  other.model.hidden = (16, 16)
  ckpt = checkpoint.Checkpointer(workdir, 5, cleanup_tmp=True)
  with pytest.raises(checkpoint.CheckpointError,
                     match=r'(?s)checkpoints/2: it does not match this config.*no older '
                           r'step restores either'):
    ckpt.restore(build_gan(other)[1])
  ckpt.close()
  assert files(workdir) == before


def test_a_latest_step_damaged_throughout_does_not_stop_the_resume(two_steps, tmp_path, caplog):
  """Its config is unreadable too: run_record's resume check reads step 1's instead."""
  workdir = copy_run(two_steps, tmp_path)
  damaged = damage(workdir, every_file=True)
  ckpt = checkpoint.Checkpointer(workdir, 5, cleanup_tmp=True)
  assert ckpt.restore_config() == checkpoint.Checkpointer(two_steps, 5).restore_config(1)
  step_dir = os.path.join(workdir, 'checkpoints', '2')
  assert f"Cannot read the config of checkpoint {step_dir}" in caplog.text
  config = run_record.resume_config(toy_config(3), ckpt, workdir)
  state, _ = ckpt.restore(build_gan(config)[1])
  assert int(state.step) == 1
  assert files(os.path.join(workdir, 'checkpoints_damaged', '2')) == damaged
  assert ckpt.manager.all_steps() == [1]
  ckpt.close()
