"""The Fashion-MNIST metric fails on every bad input, including kinds its judge never saw.

Real garments come from the fixture (tests/data/fixtures/fashion_mnist, MIT): 2,000 test images
are the reference, and 1,000 training images the shipped judges never trained on stand for a
perfect generator. Each bad set is built here from those images or from scratch, independently
of the judge's own training negatives (jaxgan.metrics.digit_views), and must be clearly worse
than the real images on the figures named for it.
"""

import os

import numpy as np
import pytest
import scipy.ndimage
from sklearn.datasets import load_digits

from jaxgan.data import fashion_mnist
from jaxgan.metrics import fashion, fashion_classifier

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'data', 'fixtures',
                       'fashion_mnist')
N = 1_000
SHOES = (5, 7, 9)  # Sandal, Sneaker, Ankle boot.
TOPS = (0, 2, 6)  # T-shirt/top, Pullover, Shirt.


@pytest.fixture(scope='module', params=['main', 'plain'])
def scorer(request):
  fashion_mnist.prepared.cache_clear()
  return fashion.Scorer(request.param, path=FIXTURE)


@pytest.fixture(scope='module')
def real():
  images, labels, _ = fashion_mnist.prepared('train', 32, FIXTURE)
  return images, labels


def as_uint8(x):
  return np.clip(np.round(x), 0, 255).astype(np.uint8)


# Bad inputs ----------------------------------------------------------------------------------

def noise(real, rng):
  return rng.integers(0, 256, (N, 32, 32, 1), dtype=np.uint8)


def blanks(real, rng):
  level = rng.choice([0, 128, 255], (N, 1, 1, 1))
  return as_uint8(np.broadcast_to(level, (N, 32, 32, 1)) + rng.normal(0, 2, (N, 32, 32, 1)))


def blobs(real, rng):
  """Smooth random blobs, light on black, at the garments' mean brightness."""
  fields = scipy.ndimage.gaussian_filter(rng.random((N, 32, 32)), (0, 4, 4))
  masks = fields > np.quantile(fields, 0.55, axis=(1, 2), keepdims=True)
  return as_uint8(masks[..., None] * rng.uniform(120, 230, (N, 1, 1, 1)))


def shoe_and_top_averages(real, rng):
  images, labels = real
  shoes = images[np.isin(labels, SHOES)].astype(np.float64)
  tops = images[np.isin(labels, TOPS)].astype(np.float64)
  return as_uint8(0.5 * shoes[rng.integers(0, len(shoes), N)] +
                  0.5 * tops[rng.integers(0, len(tops), N)])


def blurred(real, rng):
  del rng
  return as_uint8(scipy.ndimage.gaussian_filter(real[0].astype(np.float64), (0, 1, 1, 0)))


def flipped(real, rng):
  del rng
  return real[0][:, :, ::-1]


def five_classes(real, rng):
  images, labels = real
  keep = np.flatnonzero(labels < 5)
  return images[rng.choice(keep, N)]


def digits(real, rng):
  """Never trained on: scikit-learn's handwritten digits, white on black, at 32 px."""
  del real
  data = load_digits().images[rng.integers(0, 1797, N)] / 16.0 * 255
  return fashion_mnist.resize(as_uint8(data), 32)


def inverted(real, rng):
  """Never trained on: the garments as negatives, dark on a white background."""
  del rng
  return 255 - real[0]


def jigsaw(real, rng):
  """Never trained on: each garment cut in 4x4 tiles of 8 px and the tiles shuffled."""
  tiles = real[0].reshape(N, 4, 8, 4, 8, 1).transpose(0, 1, 3, 2, 4, 5).reshape(N, 16, 8, 8, 1)
  order = np.argsort(rng.random((N, 16)), axis=1)
  shuffled = np.take_along_axis(tiles, order[:, :, None, None, None], axis=1)
  return shuffled.reshape(N, 4, 4, 8, 8, 1).transpose(0, 1, 3, 2, 4, 5).reshape(N, 32, 32, 1)


BAD = {
    'noise': noise, 'blanks': blanks, 'blobs': blobs,
    'shoe_and_top_averages': shoe_and_top_averages, 'blurred_sigma_1': blurred,
    'flipped_left_right': flipped, 'five_of_ten_classes': five_classes,
    'digits': digits, 'inverted': inverted, 'jigsaw': jigsaw,
}
# Besides FD, the figures each kind must fail on: (figure, 'lower' than real by the factor).
ALSO_FAILS = {
    'noise': ('confident', 'precision', 'recall'), 'blanks': ('confident', 'precision', 'recall'),
    'blobs': ('confident', 'precision', 'recall'),
    'shoe_and_top_averages': ('confident', 'recall', 'coverage'),
    'blurred_sigma_1': ('recall', 'coverage'),
    'flipped_left_right': ('density', 'coverage'),
    'five_of_ten_classes': ('recall', 'coverage'),
    'digits': ('confident', 'recall', 'coverage'), 'inverted': ('confident', 'precision'),
    'jigsaw': ('confident', 'precision'),
}
FD_FACTOR = 3.0  # A bad set's FD is at least this many times real images' FD.
DROP = 0.75  # Its other named figures are at most this share of real images'.


@pytest.fixture(scope='module')
def real_figures(scorer, real):
  return scorer.score(real[0])


def test_real_images_score_as_real(scorer, real_figures):
  assert real_figures['classes'] == 10
  assert real_figures['confident'] > 0.6
  assert 0.6 < real_figures['precision'] <= 1 and 0.6 < real_figures['recall'] <= 1


@pytest.mark.parametrize('kind', sorted(BAD))
def test_bad_inputs_are_clearly_worse_than_real(scorer, real, real_figures, kind):
  bad = scorer.score(BAD[kind](real, np.random.default_rng(0)))
  assert bad['fd'] >= FD_FACTOR * real_figures['fd'], (kind, bad['fd'], real_figures['fd'])
  for figure in ALSO_FAILS[kind]:
    assert bad[figure] <= DROP * real_figures[figure], (kind, figure, bad, real_figures)
  if kind == 'five_of_ten_classes':
    assert bad['classes'] == 5


def test_fd_is_scipy_frechet_distance_of_the_judge_features(scorer, real):
  """FD against an independent formula: scipy.linalg.sqrtm on the judge's own features."""
  import scipy.linalg
  x, _ = fashion.to_judge_input(real[0])
  a = scorer.judge.features(x).astype(np.float64)
  b = scorer.reference['features'].astype(np.float64)
  s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  covmean = scipy.linalg.sqrtm(s1 @ s2).real
  oracle = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(s1 + s2 - 2 * covmean)
  assert scorer.score(real[0])['fd'] == pytest.approx(oracle, rel=1e-3, abs=1e-3)


def test_28px_samples_are_prepared_as_the_test_split(scorer):
  """A 28 px sample is resized exactly as the data pipeline resizes the 28 px originals."""
  originals, _ = fashion_mnist.load_idx(FIXTURE, 'train')
  prepared, _, _ = fashion_mnist.prepared('train', 32, FIXTURE)
  as_28, how = fashion.to_judge_input(originals[:50, :, :, None])
  np.testing.assert_array_equal(as_28, prepared[:50].astype(np.float32) / 127.5 - 1.0)
  assert 'resized from 28x28' in how


def test_conditional_agreement_per_class(scorer, real):
  images, labels = real
  right = scorer.score(images, labels)
  wrong = scorer.score(images, (labels + 1) % 10)
  assert right['agreement_min'] > 0.3 and right['agreement'] > 0.6
  assert wrong['agreement'] < 0.05
  for k in range(10):
    assert right[f'agreement/{k}'] > wrong[f'agreement/{k}']


def test_protocol_names_judge_reference_and_sizes(scorer):
  protocol = scorer.protocol(1_000, seed=3)
  assert protocol['reference']['split'] == 'test' and protocol['reference']['count'] == 2_000
  assert protocol['judge'].startswith(f'fashion_{scorer.judge_name}_32_v')
  assert protocol['num_samples'] == 1_000 and protocol['seed'] == 3
  assert 'PIL bilinear' in protocol['samples']


def test_shipped_weights_are_the_recipe_of_this_version():
  """The judges' files load, and their recipe's version is the one in their names."""
  for name in fashion_classifier.RECIPES:
    assert fashion_classifier.shipped_path(name).name.endswith(
        f'_v{fashion_classifier.VERSION}.npz')
    fashion_classifier.load(name)


def test_evaluate_scores_samples_from_anywhere_with_the_protocol(tmp_path, real):
  """python -m jaxgan.evaluate --config=configs/dcgan_fashion.py --samples=S.npz --json=-: the
  fixture's real garments as samples give the Scorer's own figures, with the protocol."""
  import json
  from testlib import run_tool
  path = tmp_path / 'samples.npz'
  np.savez(path, samples=real[0])
  result = run_tool('evaluate', '--config=configs/dcgan_fashion.py',
                    f'--config.data.path={FIXTURE}', f'--samples={path}', '--json=-')
  assert result.returncode == 0, result.stderr
  record = json.loads(result.stdout)
  direct = fashion.Scorer('main', path=FIXTURE).score(real[0])
  for name in ('fd', 'confident', 'recall'):
    assert record['metrics'][f'fashion_{name}'] == pytest.approx(direct[name], rel=1e-5)
  protocol = record['protocol']['fashion']
  assert protocol['num_samples'] == N and protocol['reference']['count'] == 2_000
  assert protocol['judge'] == fashion_classifier.version('main')
  assert 'not measured' in protocol['real']  # The fixture is not the release's 60,000.
