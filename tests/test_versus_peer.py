"""`python -m jaxgan.benchmark --versus_peer`: a config against the PyTorch-GAN DCGAN peer, same
images, same wall time, same judge. Correctness only, never speed or quality."""

import json
import os

import numpy as np
import pytest

from testlib import REPO, get_config, run_tool, tiny
from jaxgan import benchmark
from jaxgan.metrics import fashion_classifier

pytest.importorskip('torch')
FIXTURE = os.path.join(REPO, 'tests', 'data', 'fixtures', 'fashion_mnist')


class FakeScorer:
  """Scorer's interface with figures any function of the samples: their mean pixel as 'fd'."""

  def __init__(self, name, shipped=True):
    self.name, self.shipped, self.scored = name, shipped, []

  @property
  def judge(self):
    if not self.shipped:
      raise FileNotFoundError(f'The Fashion-MNIST judge {self.name} is missing.')
    return self.name

  def score(self, samples, labels=None):
    samples = np.asarray(samples)
    assert samples.dtype == np.uint8 and samples.shape[1:] == (32, 32, 1) and labels is None
    self.scored.append(samples)
    return {'fd': float(samples.mean()), 'confident': 0.5, 'classes': np.int64(10),
            'class_tv': 0.1, 'precision': 0.9, 'recall': 0.8, 'density': np.float32(1.0),
            'coverage': 0.7}

  def real_figures(self, num, conditional=False):
    return self.score(np.full((num, 32, 32, 1), 7, np.uint8))

  def protocol(self, num_samples, seed=None):
    return {'judge': f'fake {self.name}', 'num_samples': num_samples, 'seed': seed}


def tiny_fashion():
  """dcgan_fashion at 32 px with narrow networks, 2 steps, on the real fixture, no evaluator."""
  c = tiny(get_config('dcgan_fashion'), steps=2)
  c.model.image_size = 32
  c.data.path = FIXTURE
  c.evals = type(c.evals)()
  c.best_metric = ''
  return c


def test_versus_peer_prints_the_table_and_json(tmp_path, capsys):
  scorers = {'main': FakeScorer('main'), 'plain': FakeScorer('plain', shipped=False)}
  workdir = str(tmp_path / 'run')
  result = benchmark.versus_peer(tiny_fashion(), workdir, 12, make_scorer=scorers.get)
  benchmark.print_versus(result)
  out = capsys.readouterr().out.strip().splitlines()
  printed = json.loads(out[-1])
  assert printed == json.loads(json.dumps(result))
  jax_side, peer_side = printed['jaxgan'], printed['peer']
  assert jax_side['steps'] == 2 and peer_side['steps'] >= 1
  # The peer trained for the jaxgan run's wall time: it stops at the step that crosses it.
  per_step = peer_side['wall_s'] / peer_side['steps']
  assert jax_side['wall_s'] <= peer_side['wall_s'] <= jax_side['wall_s'] + max(3 * per_step, 1)
  assert peer_side['images'] == 1000 and peer_side['batch_size'] == 64  # The fixture, their batch.
  # Both sides and the real images were scored by the judge that is there; 'plain' is missing.
  assert set(printed['figures']) == {'main'} and 'plain' in printed['judges_missing']
  figures = printed['figures']['main']
  assert figures['real']['fd'] == 7.0
  for side in ('jaxgan', 'peer'):
    assert set(figures[side]) >= set(benchmark.FIGURES)
  scored = scorers['main'].scored[1:]  # After the real images: jaxgan's, then the peer's.
  assert [len(s) for s in scored] == [12, 12]
  assert figures['jaxgan']['fd'] == pytest.approx(scored[0].mean())
  assert figures['peer']['fd'] == pytest.approx(scored[1].mean())
  assert printed['protocol']['main']['num_samples'] == 12
  # The table: a header, a rule and three rows with every figure.
  table = [line for line in out if line.startswith('|')]
  assert len(table) == 5 and 'main fd' in table[0] and 'plain' not in table[0]
  assert [row.split('|')[1].strip() for row in table[2:]] == [
      'real images', 'dcgan_fashion', 'PyTorch-GAN DCGAN']
  assert all(len(row.split('|')) == len(table[0].split('|')) for row in table)
  # The samples, as a person looks at them.
  for side in ('jaxgan', 'peer'):
    with np.load(printed['files'][side]['npz']) as f:
      np.testing.assert_array_equal(f['samples'], scored[side == 'peer'])
    assert os.path.getsize(printed['files'][side]['png']) > 0


def test_versus_peer_refuses_a_used_workdir_and_other_data(tmp_path):
  scorers = {'main': FakeScorer('main'), 'plain': FakeScorer('plain')}
  used = tmp_path / 'used'
  (used / 'checkpoints').mkdir(parents=True)
  with pytest.raises(ValueError, match='already holds a run'):
    benchmark.versus_peer(tiny_fashion(), str(used), 12, make_scorer=scorers.get)
  digits = tiny(get_config('dcgan_digits'))
  with pytest.raises(ValueError, match='Fashion-MNIST judges'):
    benchmark.versus_peer(digits, str(tmp_path / 'new'), 12, make_scorer=scorers.get)
  missing = {'main': FakeScorer('main', shipped=False), 'plain': FakeScorer('plain')}
  with pytest.raises(FileNotFoundError, match='main'):
    benchmark.versus_peer(tiny_fashion(), str(tmp_path / 'new'), 12, make_scorer=missing.get)
  assert not (tmp_path / 'new').exists()  # Nothing trained.


def test_versus_peer_does_not_take_the_speed_batch_flag():
  run = run_tool('benchmark', '--config=configs/dcgan_fashion.py', '--versus_peer',
                 '--batch_size=8', env={'PYTHONPATH': REPO}, timeout=300)
  assert run.returncode == 1 and '--config.batch_size' in run.stderr.strip().splitlines()[-1]


@pytest.mark.slow
@pytest.mark.skipif(not fashion_classifier.shipped_path('main').exists(),
                    reason='the Fashion-MNIST judge is not shipped yet')
def test_versus_peer_command_with_the_real_judge(tmp_path):
  """The command end to end on the real Fashion-MNIST (Debian's files) and the shipped judges."""
  if not os.path.isdir('/usr/share/datasets/fashion-mnist'):
    pytest.skip('Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)')
  overrides = ['num_steps=2', 'steps_per_call=1', 'batch_size=8', 'log_every=1',
               'sample_every=2', 'checkpoint_every=2', 'model.g_features=8',
               'model.d_features=8', 'evals.fashion.every=2', 'evals.fashion.num_samples=50']
  run = run_tool('benchmark', '--config=configs/dcgan_fashion.py', '--versus_peer',
                 '--num_samples=200', f'--workdir={tmp_path / "run"}',
                 *[f'--config.{o}' for o in overrides], env={'PYTHONPATH': REPO}, timeout=900)
  assert run.returncode == 0, run.stderr[-3000:]
  result = json.loads(run.stdout.strip().splitlines()[-1])
  assert result['jaxgan']['steps'] == 2 and result['peer']['steps'] >= 1
  assert result['peer']['wall_s'] >= result['jaxgan']['wall_s']
  for judge, figures in result['figures'].items():
    assert result['protocol'][judge]['judge'].startswith(f'fashion_{judge}_32')
    assert figures['real']['confident'] > 0.5 and figures['real']['classes'] == 10  # Real images.
    for side in ('real', 'jaxgan', 'peer'):
      assert np.isfinite(figures[side]['fd'])
