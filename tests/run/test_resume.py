"""Reproducibility: a resumed run equals an uninterrupted one bit for bit, and survives kills.

Every leaf of the final state (params, BatchNorm statistics, optimizer states, EMA, step, key),
the data iterator position and the sample grid are compared with np.array_equal.
"""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from testlib import REPO, assert_same_run, build_gan, get_config, override, restore, tiny
from jaxgan import report
from jaxgan.gan import generate, train
from jaxgan.run import checkpoint, preemption, sharding


def digits_config(steps, **overrides):
  config = tiny(get_config('dcgan_digits'), steps)
  config.checkpoint_every = 1_000
  config.log_every = 1
  # These tests grow num_steps on resume; a linear schedule decays to 0 at num_steps, so it
  # would not be the same run (a resume with unchanged num_steps is bit-identical either way).
  config.optim.lr_schedule = 'constant'
  return override(config, overrides)


@pytest.mark.parametrize('overrides', [
    {},
    {'optim.n_critic': 2, 'loss.name': 'wasserstein', 'loss.penalty': 'gradient_penalty',
     'model.d_norm': 'layer'},
    {'data.diffaugment': 'color,translation,cutout', 'loss.penalty': 'r1',
     'model.d_norm': 'layer'},
], ids=['dcgan', 'wgan_gp_n_critic2', 'diffaugment_r1'])
def test_resumed_run_equals_straight_run(overrides, tmp_path):
  straight, resumed = str(tmp_path / 'straight'), str(tmp_path / 'resumed')
  train.train_and_evaluate(digits_config(6, **overrides), straight)
  train.train_and_evaluate(digits_config(3, **overrides), resumed)
  train.train_and_evaluate(digits_config(6, **overrides), resumed)
  assert_same_run(straight, resumed, 6)


CLOCK_TAGS = {'steps_per_sec', 'uptime'}


def real_settings(name, steps=10, **overrides):
  """configs/<name>.py as tiny() shrinks it, but with its own lr schedule (linear decay to 0 at
  num_steps), steps_per_call (5) and evaluators (every call, on 64 samples, best checkpoint)."""
  config = get_config(name)
  steps_per_call = config.steps_per_call
  config = tiny(config, steps)
  config.steps_per_call = config.log_every = steps_per_call
  for spec in config.evals.values():
    spec.every, spec.num_samples = steps_per_call, 64
  return override(config, overrides)


def train_until_preempted(config, workdir, monkeypatch, calls):
  """Trains `config` and sends this process SIGTERM during its `calls`-th training call (the
  loop's own handler then saves and stops); returns the step it stopped after."""
  requested, seen = preemption.StopSignal.requested, []

  def requested_after_a_signal(self, sync_point):
    seen.append(sync_point)
    if len(seen) == calls:
      signal.raise_signal(signal.SIGTERM)
    return requested(self, sync_point)
  monkeypatch.setattr(preemption.StopSignal, 'requested', requested_after_a_signal)
  with pytest.raises(preemption.Preempted) as stopped:
    train.train_and_evaluate(config, workdir)
  monkeypatch.undo()
  return stopped.value.step


@pytest.mark.parametrize('name, overrides', [
    ('dcgan_digits', {}),
    ('dcgan_digits', {'model.ema_standing_batches': 2}),
    ('dcgan_digits', {'data.num_workers': 2}),
    ('acgan_digits', {}),
], ids=['quick_start', 'standing_stats', 'num_workers_2', 'acgan_digits'])
def test_a_preempted_run_with_real_settings_resumes_bit_for_bit(name, overrides, tmp_path,
                                                                monkeypatch):
  """The quick start's settings (linear decay, 5 steps per call, its evaluators and best
  checkpoint), with standing statistics, decoding threads, or a class-conditional model:
  stopped by SIGTERM after the first call of 5 steps and run again, it ends where the
  uninterrupted run ends, to the bit (state, data position, grid, every logged scalar, the
  best checkpoint, the stored standing statistics)."""
  config = real_settings(name, **overrides)
  assert config.optim.lr_schedule == 'linear' and config.steps_per_call == 5
  assert config.evals and config.best_metric
  straight, resumed = str(tmp_path / 'straight'), str(tmp_path / 'resumed')
  train.train_and_evaluate(config, straight)
  assert train_until_preempted(config, resumed, monkeypatch, calls=1) == 5
  assert checkpoint.Checkpointer(resumed, 3).latest_step() == 5
  train.train_and_evaluate(config, resumed)
  with open(os.path.join(resumed, 'run_info.json')) as f:  # It resumed; it did not start over.
    assert [s['start_step'] for s in json.load(f)['starts']] == [0, 5]
  assert_same_run(straight, resumed, 10)

  # CLU's progress hook logs wall-clock tags (steps_per_sec, uptime) on a timer: not the run's.
  scalars = [{tag: series for tag, series in report.read_scalars(w).items()
              if tag not in CLOCK_TAGS} for w in (straight, resumed)]
  assert set(scalars[0]) == set(scalars[1]), set(scalars[0]) ^ set(scalars[1])
  assert {'train_d_loss', f'eval_{config.best_metric}'} <= scalars[0].keys()
  for tag, (steps, values) in scalars[0].items():
    assert list(steps) == list(scalars[1][tag][0]) and list(steps)[-1] == 10, tag
    assert np.array_equal(values, scalars[1][tag][1]), tag
  best = [sorted(os.listdir(os.path.join(w, 'best'))) for w in (straight, resumed)]
  assert best[0] == best[1] and len(best[0]) == 1
  for subdir in ('checkpoints', 'best'):
    stored = [generate.load_run(w, subdir=subdir)[3] for w in (straight, resumed)]
    if not overrides.get('model.ema_standing_batches'):
      assert stored == [None, None]
      continue
    leaves = [jax.tree.leaves(s) for s in stored]
    assert len(leaves[0]) == len(leaves[1]) > 0
    assert all(np.array_equal(a, b) for a, b in zip(*leaves)), subdir


def test_seed_decides_the_initial_state():
  """Same seed: the same parameters and key (the resume tests show the same steps follow)."""
  mesh = sharding.make_mesh()
  init = [build_gan(digits_config(1, seed=seed), mesh)[2] for seed in (0, 1)]
  states = [init[0](), init[0](), init[1]()]
  leaves = [jax.tree.leaves(state) for state in states]
  assert all(np.array_equal(a, b) for a, b in zip(leaves[0], leaves[1]))
  assert not np.array_equal(states[0].key, states[2].key)
  assert not any(np.array_equal(a, c) for a, c in zip(jax.tree.leaves(states[0].g_params),
                                                      jax.tree.leaves(states[2].g_params))
                 if np.std(a) > 0)


CLI_FIELDS = dict(batch_size=8, log_every=1, checkpoint_every=1000, num_grid_samples=16,
                  steps_per_call=1, **{'optim.lr_schedule': 'constant'},
                  **{'model.image_size': 16, 'model.g_features': 8, 'model.d_features': 8})


def start_cli(workdir, cache, steps, **fields):
  """`python -m jaxgan.main` on the tiny digits config; compiled steps cached across runs."""
  fields = CLI_FIELDS | dict(num_steps=steps, sample_every=steps) | fields
  env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=str(cache),
             JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS='0', PYTHONUNBUFFERED='1')
  args = [f'--config.{k}={v}' for k, v in fields.items()]
  # --verbosity=0: the absl records (each step's train_* scalars) on stderr, to follow the run.
  return subprocess.Popen([sys.executable, '-m', 'jaxgan.main', f'--workdir={workdir}',
                           '--verbosity=0', *args],
                          cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)


def wait_for_step(process, step):
  """Reads the run's log until it reports `step` (log_every=1); returns the lines read."""
  lines = []
  for line in process.stderr:
    lines.append(line)
    logged = line.split('] train_')[0].rsplit('[', 1)[-1] if '] train_' in line else ''
    if logged.isdigit() and int(logged) >= step:
      return lines
  raise AssertionError('run ended before step %d:\n%s' % (step, ''.join(lines[-20:])))


def test_sigterm_saves_and_the_resumed_run_equals_a_straight_run(tmp_path):
  steps, workdir, straight = 24, str(tmp_path / 'preempted'), str(tmp_path / 'straight')
  run = start_cli(workdir, tmp_path / 'cache', steps)
  wait_for_step(run, 3)
  run.send_signal(signal.SIGTERM)
  err = run.communicate(timeout=300)[1]
  assert run.returncode == 128 + signal.SIGTERM, err[-2000:]
  message = err.strip().splitlines()[-1]
  assert message.startswith('jaxgan: stopped by SIGTERM after step '), message
  stopped = int(message.split('after step ')[1].split(';')[0])
  assert 3 <= stopped < steps
  assert checkpoint.Checkpointer(workdir, 3).latest_step() == stopped
  assert not os.path.exists(os.path.join(workdir, 'report.md'))  # Written by finished runs.
  resumed = start_cli(workdir, tmp_path / 'cache', steps)
  err = resumed.communicate(timeout=300)[1]
  assert resumed.returncode == 0, err[-2000:]
  with open(os.path.join(workdir, 'report.md')) as f:
    assert '![losses](report/losses.png)' in f.read()
  config = digits_config(steps)
  config.log_every = 1
  train.train_and_evaluate(config, straight)
  assert_same_run(straight, workdir, steps)


def test_kill_9_never_leaves_an_unloadable_latest_checkpoint(tmp_path):
  """Saves every step (async), killed at random moments: the latest checkpoint always loads."""
  workdir, rng, latest = str(tmp_path / 'killed'), np.random.default_rng(0), 0
  for _ in range(3):
    run = start_cli(workdir, tmp_path / 'cache', 10_000, checkpoint_every=1, keep_checkpoints=2)
    wait_for_step(run, latest + 3)
    time.sleep(rng.uniform(0, 0.3))
    run.kill()
    run.communicate(timeout=60)
    ckpt = checkpoint.Checkpointer(workdir, 2)
    step = ckpt.latest_step()
    ckpt.close()
    # Orbax starts a save after the previous one is done: logging step k proves k - 2 saved.
    assert step is not None and step >= latest + 1
    state, data = restore(workdir, data=True)
    assert int(state.step) == step and data
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state.g_params))
    latest = step
  checkpoint.Checkpointer(workdir, 2, cleanup_tmp=True).close()  # As training starts.
  assert not [d for d in os.listdir(os.path.join(workdir, 'checkpoints')) if 'tmp' in d]
