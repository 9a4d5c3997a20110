"""config.num_seeds: N seeds trained as N members of one state in one compiled step.

Every member is checked against the independent single run of its seed (seed + k): the final
state, the samples, the data order, the logged losses and eval scores, the best checkpoint, and
`jaxgan.sample` / `jaxgan.evaluate --seed_index`. A resumed 2-seed run equals an uninterrupted
one bit for bit, and one seed (the default) has no member axis at all.
"""

import os
import subprocess
import sys

import jax
import ml_collections
import numpy as np
import pytest
from PIL import Image

from testlib import REPO, build_gan, get_config, override, read_scalars, run_tool, tiny
from jaxgan import evaluate, report
from jaxgan.data import pipeline, sources
from jaxgan.data.transforms import to_uint8
from jaxgan.gan import generate, state as state_lib, train
from jaxgan.run import checkpoint, members

SEED = 3
# Member k against the single run of seed + k after 4 steps: the same ops, compiled into one
# program, may fuse differently (measured: at most 5e-10 apart with 'loop').
TOLERANCE = 1e-6


def seeds_config(num_seeds=1, seed=SEED, steps=4, **overrides):
  config = tiny(get_config('dcgan_digits'), steps)
  config.seed, config.num_seeds = seed, num_seeds
  config.evals = ml_collections.ConfigDict()
  config.evals.digits_fd = dict(every=2, num_samples=64)  # Steps 2 and 4: a best per member.
  config.best_metric = 'digits_fd'
  return override(config, overrides)


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
  """{'multi': workdir of 2 seeds (3 and 4) in one run, 3: / 4: the single runs' workdirs}."""
  root = tmp_path_factory.mktemp('seeds')
  workdirs = {'multi': str(root / 'multi'), SEED: str(root / 'single3'),
              SEED + 1: str(root / 'single4')}
  train.train_and_evaluate(seeds_config(2), workdirs['multi'])
  for seed in (SEED, SEED + 1):
    train.train_and_evaluate(seeds_config(seed=seed), workdirs[seed])
  return workdirs


def max_difference(a, b) -> float:
  leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
  assert len(leaves_a) == len(leaves_b) > 10
  return max(float(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))))
             for x, y in zip(leaves_a, leaves_b))


def samples_of(workdir, seed_index=0, subdir='checkpoints', num=64):
  config, gan, state, standing = generate.load_run(workdir, subdir=subdir, seed_index=seed_index)
  return to_uint8(generate.generate_samples(config, gan, state, num, seed=0, standing=standing))


def assert_close_images(a, b):
  assert a.shape == b.shape and a.dtype == np.uint8
  assert int(np.max(np.abs(a.astype(int) - b.astype(int)))) <= 2


def test_each_member_equals_the_single_run_of_its_seed(runs):
  singles = [generate.load_run(runs[SEED + k])[2] for k in range(2)]
  assert max_difference(singles[0], singles[1]) > 1e-2  # The seeds really differ.
  stacked = generate.load_run(runs['multi'], seed_index=None)[2]
  assert all(x.shape[0] == 2 for x in jax.tree.leaves(stacked))
  for k in range(2):
    config, _, member, _ = generate.load_run(runs['multi'], seed_index=k)
    assert config.seed == SEED + k and config.num_seeds == 1
    assert int(member.step) == 4
    assert max_difference(member, singles[k]) <= TOLERANCE
    assert_close_images(samples_of(runs['multi'], k), samples_of(runs[SEED + k]))
  # The sample grids written during training: each member's from its own seed's noise.
  for k, folder in enumerate(('samples', 'samples/seed_1')):
    grids = [np.asarray(Image.open(os.path.join(w, folder if w == runs['multi'] else 'samples',
                                                'step_0000004.png')), int)
             for w in (runs['multi'], runs[SEED + k])]
    assert np.max(np.abs(grids[0] - grids[1])) <= 2


def test_each_member_reads_the_data_in_its_seed_order():
  config = seeds_config(2)
  source = sources.build_source(config)
  make = lambda c: pipeline.make_iterator(c, pipeline.build_dataset(c, source))
  together = members.iterator(config, make)
  alone = [make(seeds_config(seed=SEED + k)) for k in range(2)]
  for _ in range(3):
    batch = next(together)
    assert batch['image'].shape[:3] == (2, config.optim.n_critic, config.batch_size)
    for k, single in enumerate(alone):
      assert np.array_equal(batch['image'][k], next(single)['image'])
    assert not np.array_equal(batch['image'][0], batch['image'][1])
  assert together.get_state() == {'members': [it.get_state() for it in alone]}


def test_losses_and_evaluations_are_logged_per_member_and_as_mean_and_std(runs):
  for tag in ('train_d_loss', 'eval_digits_fd'):
    per_member = [read_scalars(runs['multi'], f'{tag}/seed_{k}') for k in range(2)]
    for k in range(2):  # Member k's values are its single run's.
      single = read_scalars(runs[SEED + k], tag)
      assert [s for s, _ in per_member[k]] == [s for s, _ in single] == [2, 4]
      np.testing.assert_allclose([v for _, v in per_member[k]], [v for _, v in single],
                                 rtol=1e-4, err_msg=tag)
    values = np.array([[v for _, v in m] for m in per_member])
    np.testing.assert_allclose([v for _, v in read_scalars(runs['multi'], tag)],
                               values.mean(axis=0), rtol=1e-6)
    # TensorBoard keeps float32: the spread of close values is exact to their rounding only.
    np.testing.assert_allclose([v for _, v in read_scalars(runs['multi'], f'{tag}/std')],
                               values.std(axis=0, ddof=1), atol=1e-6 * np.abs(values).max())
    assert values.std(axis=0, ddof=1).min() > 0
  text = report.write_report(runs['multi']).read_text()
  assert '## Seeds' in text and '| seed_0 | seed_1 |' in text
  assert '| eval_digits_fd | 4 |' in text and '\u00b1' in text


def test_each_member_keeps_its_own_best_checkpoint(runs):
  assert {'best_seed_0', 'best_seed_1'} <= set(os.listdir(runs['multi']))
  assert 'best' not in os.listdir(runs['multi'])
  for k in range(2):
    single = checkpoint.Checkpointer(runs[SEED + k], 1, 'best').latest_step()
    member = checkpoint.Checkpointer(runs['multi'], 1, f'best_seed_{k}').latest_step()
    assert member == single
    best = [generate.load_run(w, subdir='best', seed_index=i)[2]
            for w, i in ((runs['multi'], k), (runs[SEED + k], 0))]
    assert max_difference(*best) <= TOLERANCE


def test_sample_and_evaluate_take_a_seed_index(runs, tmp_path):
  out = str(tmp_path / 'member1.npz')
  result = run_tool('sample', f'--workdir={runs["multi"]}', '--seed_index=1', '--num=16',
                    f'--out={out}')
  assert result.returncode == 0, result.stderr[-2000:]
  with np.load(out) as f:
    assert_close_images(f['samples'], samples_of(runs[SEED + 1], num=16))
    assert not np.array_equal(f['samples'], samples_of(runs[SEED], num=16))
  bad = run_tool('sample', f'--workdir={runs["multi"]}', '--seed_index=2',
                 f'--out={tmp_path / "x.npz"}')
  assert bad.returncode == 1
  lines = bad.stderr.strip().splitlines()
  assert len(lines) == 1 and '--seed_index=2' in lines[0] and '0..1' in lines[0], bad.stderr
  scores = [evaluate.evaluate_checkpoint(w, ['digits_fd'], num_samples=64, raw=False,
                                         seed_index=i)[1]['digits_fd']
            for w, i in ((runs['multi'], 1), (runs[SEED + 1], 0))]
  np.testing.assert_allclose(scores[0], scores[1], rtol=1e-4)
  np.testing.assert_allclose(scores[0], read_scalars(runs['multi'], 'eval_digits_fd/seed_1')[-1][1],
                             rtol=1e-4)


def test_a_resumed_run_of_two_seeds_equals_the_uninterrupted_one(tmp_path):
  """Three steps per call (the scan over steps, members inside each step), constant rates (the
  resumed run grows num_steps), interrupted at step 3: state, data positions and both members'
  grids equal to the bit."""
  def config(steps):
    return seeds_config(2, steps=steps, steps_per_call=3, log_every=3, sample_every=6,
                        checkpoint_every=3, evals=ml_collections.ConfigDict(), best_metric='',
                        **{'optim.lr_schedule': 'constant'})
  straight, resumed = str(tmp_path / 'straight'), str(tmp_path / 'resumed')
  train.train_and_evaluate(config(6), straight)
  train.train_and_evaluate(config(3), resumed)
  train.train_and_evaluate(config(6), resumed)
  states, datas = [], []
  for workdir in (straight, resumed):
    run_config, _, state, _ = generate.load_run(workdir, seed_index=None)
    ckpt = checkpoint.Checkpointer(workdir, 3)
    datas.append(ckpt.restore(build_gan(run_config)[1])[1])
    ckpt.close()
    states.append(state)
  leaves = [jax.tree.leaves(s) for s in states]
  assert len(leaves[0]) == len(leaves[1]) > 10
  assert all(np.array_equal(a, b) for a, b in zip(*leaves))
  assert np.array_equal(states[0].step, [6, 6])
  assert datas[0] == datas[1] and len(datas[0]['members']) == 2
  for folder in ('samples', 'samples/seed_1'):
    grids = [np.asarray(Image.open(os.path.join(w, folder, 'step_0000006.png')))
             for w in (straight, resumed)]
    assert np.array_equal(*grids)


def test_one_seed_has_no_member_axis():
  config = tiny(get_config('dcgan_digits'))
  assert config.num_seeds == 1
  plain = jax.eval_shape(state_lib.create(config)[1])
  built = build_gan(config)[1]
  assert jax.tree.structure(built) == jax.tree.structure(plain)
  assert [x.shape for x in jax.tree.leaves(built)] == [x.shape for x in jax.tree.leaves(plain)]
  config.num_seeds = 3
  stacked = build_gan(config)[1]
  assert [x.shape for x in jax.tree.leaves(stacked)] == [
      (3,) + x.shape for x in jax.tree.leaves(plain)]


MESHES = """
import sys
import jax, ml_collections, numpy as np
from testlib import get_config, tiny
from jaxgan.gan import train

def config(devices, seed_axis=False):
  c = tiny(get_config('dcgan_digits'), 4)
  c.seed, c.num_seeds = 3, 2
  c.evals, c.best_metric = ml_collections.ConfigDict(), ''
  c.mesh.num_devices, c.mesh.seed_axis = devices, seed_axis
  c.seed_batching = 'loop'
  return c

assert jax.device_count() == 4
one = train.train_and_evaluate(config(1), sys.argv[1] + '/one')
for name, c in (('data', config(4)), ('seeds', config(4, seed_axis=True))):
  state = train.train_and_evaluate(c, sys.argv[1] + '/' + name)
  leaf = jax.tree.leaves(state.g_params)[0]
  spec = tuple(leaf.sharding.spec)
  diff = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
             for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(state)))
  print('RESULT', name, len(leaf.sharding.device_set), spec, diff)
from jaxgan.run import sharding
for bad in (dict(seed_batching='vmap'), dict(devices=3)):
  c = config(bad.get('devices', 4), seed_axis=True)
  c.seed_batching = bad.get('seed_batching', 'loop')
  try:
    sharding.make_mesh(c)
  except ValueError as e:
    print('REFUSED', str(e).splitlines()[0])
"""


@pytest.mark.slow
def test_two_seeds_on_four_devices_equal_one_device(tmp_path):
  """2 seeds on 4 fake CPU devices, sharing the data axis (batch split in 4) or one row of 2
  devices per member (mesh.seed_axis), against the same run on one device; the seeds axis with
  vmapped members (which XLA cannot partition) or 3 devices for 2 members is one clear error."""
  env = dict(os.environ, JAX_PLATFORMS='cpu', XLA_FLAGS='--xla_force_host_platform_device_count=4',
             PYTHONPATH=os.pathsep.join([REPO, os.path.join(REPO, 'tests')]))
  result = subprocess.run([sys.executable, '-c', MESHES, str(tmp_path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
  assert result.returncode == 0, result.stderr[-3000:]
  found = {l.split()[1]: l.split(maxsplit=2)[2] for l in result.stdout.splitlines()
           if l.startswith('RESULT')}
  assert set(found) == {'data', 'seeds'}, result.stdout
  for name, line in found.items():
    devices, *_, diff = line.split()
    assert int(devices) == 4 and float(diff) <= 1e-4, (name, line)
  assert "'seeds'" in found['seeds'] and "'seeds'" not in found['data']
  refused = [l for l in result.stdout.splitlines() if l.startswith('REFUSED')]
  assert len(refused) == 2 and 'seed_batching' in refused[0] and 'multiple of 2' in refused[1]
