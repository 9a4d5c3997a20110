"""Precision, recall, density and coverage against a brute-force oracle and known cases."""

import tracemalloc

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from jaxgan.metrics.prdc import prdc


def kth_value(unsorted, k):
  """clovaai prdc's get_kth_value: the largest of the k smallest of each row."""
  indices = np.argpartition(unsorted, k, axis=-1)[..., :k]
  return np.take_along_axis(unsorted, indices, axis=-1).max(axis=-1)


def oracle(real, fake, k, within=np.less_equal):
  """clovaai prdc's compute_prdc on full cdist matrices; `within` is `<` in the package."""
  real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
  real_radii = kth_value(cdist(real, real), k + 1)  # Self-distance 0 is among the k + 1.
  fake_radii = kth_value(cdist(fake, fake), k + 1)
  cross = cdist(real, fake)
  in_real_balls = within(cross, real_radii[:, None])
  return {
      'precision': in_real_balls.any(axis=0).mean(),
      'recall': within(cross, fake_radii[None, :]).any(axis=1).mean(),
      'density': in_real_balls.sum(axis=0).mean() / k,
      'coverage': within(cross.min(axis=1), real_radii).mean(),
  }


def assert_matches(result, expected):
  assert set(result) == {'precision', 'recall', 'density', 'coverage'}
  assert all(type(v) is float for v in result.values())
  for key in ('precision', 'recall', 'coverage'):
    assert result[key] == expected[key], key
  assert result['density'] == pytest.approx(expected['density'], abs=1e-12, rel=0)


def ring8(rng, n, modes, std=0.05):
  """n points from the Gaussians of std `std` at the listed modes of 8 on a radius-2 ring."""
  angles = rng.choice(np.asarray(modes), n) * np.pi / 4
  centres = 2 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
  return centres + std * rng.standard_normal((n, 2))


@pytest.mark.parametrize('k,n,m,d,dtype', [
    (1, 300, 217, 2, np.float64),
    (3, 150, 400, 5, np.float64),
    (5, 257, 301, 8, np.float32),
    (10, 200, 120, 3, np.float64),
])
def test_matches_bruteforce_oracle(k, n, m, d, dtype):
  rng = np.random.default_rng(k)
  real = rng.standard_normal((n, d)).astype(dtype)
  fake = (1.3 * rng.standard_normal((m, d)) + 0.4).astype(dtype)  # Partly overlapping.
  expected = oracle(real, fake, k)
  assert 0 < expected['precision'] < 1 and 0 < expected['coverage'] < 1
  assert_matches(prdc(real, fake, k=k, chunk_size=64), expected)


def test_ties_on_discrete_features_use_closed_balls():
  # Integer features in a 4^3 grid: many duplicates and equal distances, all exact in float64.
  rng = np.random.default_rng(0)
  real, fake = rng.integers(0, 4, (200, 3)), rng.integers(0, 4, (150, 3))
  expected = oracle(real, fake, k=5)
  assert_matches(prdc(real, fake, k=5, chunk_size=32), expected)
  strict = oracle(real, fake, k=5, within=np.less)  # The prdc package's `<` differs here.
  assert strict['precision'] < expected['precision']


@pytest.mark.parametrize('chunk_size', [1, 7, 299, 10_000])
def test_chunk_size_does_not_change_results(chunk_size):
  rng = np.random.default_rng(1)
  real, fake = rng.standard_normal((300, 4)), rng.standard_normal((250, 4)) + 0.5
  assert prdc(real, fake, k=4, chunk_size=chunk_size) == prdc(real, fake, k=4, chunk_size=1000)


def test_recall_is_precision_with_roles_swapped():
  rng = np.random.default_rng(2)
  real, fake = rng.standard_normal((200, 3)), 0.5 * rng.standard_normal((150, 3))
  forward, backward = prdc(real, fake, k=3), prdc(fake, real, k=3)
  assert forward['recall'] == backward['precision'] != forward['precision']
  assert forward['precision'] == backward['recall']


def test_far_from_origin_and_in_high_dimension():
  # Offsets of 1e4 put |a|^2 + |b|^2 - 2 a.b's rounding near the distances themselves; in 512
  # dimensions distances concentrate, so many pairs lie near a ball's boundary.
  rng = np.random.default_rng(7)
  real, fake = rng.standard_normal((150, 512)), 1.05 * rng.standard_normal((120, 512))
  expected = oracle(real, fake, k=3)
  assert_matches(prdc(real, fake, k=3, chunk_size=50), expected)
  assert_matches(prdc(real + 1e4, fake + 1e4, k=3, chunk_size=50), expected)


@pytest.mark.parametrize('k', [1, 3, 5])
def test_identical_sets(k):
  # Each real ball holds exactly k + 1 of the reals (itself and its k neighbours, the k-th on
  # the boundary) when there are no ties, so density is (k + 1) / k (1 with the package's `<`).
  rng = np.random.default_rng(k)
  real = rng.standard_normal((200, 6)) * 3 + 10
  result = prdc(real, real.copy(), k=k, chunk_size=64)
  assert_matches(result, oracle(real, real, k))
  assert result == {'precision': 1.0, 'recall': 1.0, 'density': (k + 1) / k, 'coverage': 1.0}


def test_far_away_fakes_score_zero():
  rng = np.random.default_rng(3)
  real = rng.standard_normal((200, 8))
  result = prdc(real, real + 100, k=5)
  assert result == {'precision': 0.0, 'recall': 0.0, 'density': 0.0, 'coverage': 0.0}


def test_mode_collapse_onto_one_real_point():
  # Fake radii are all 0, so only the real copied is recalled. A real is covered when the copy
  # lies in its ball: the copied point and those having it among their k nearest neighbours,
  # at most 6k of them in the plane. Each fake lies in exactly those balls.
  rng = np.random.default_rng(4)
  n, k = 300, 5
  real = rng.standard_normal((n, 2))
  result = prdc(real, np.repeat(real[:1], 50, axis=0), k=k, chunk_size=64)
  radii = kth_value(cdist(real, real), k + 1)
  balls_holding_copy = np.count_nonzero(np.linalg.norm(real - real[0], axis=1) <= radii)
  assert result['precision'] == 1.0
  assert result['recall'] == 1 / n
  assert result['coverage'] == balls_holding_copy / n <= (1 + 6 * k) / n
  assert result['density'] == pytest.approx(balls_holding_copy / k, abs=1e-12)


def test_mode_dropping_on_ring_of_eight_gaussians():
  rng = np.random.default_rng(5)
  real = ring8(rng, 800, range(8))
  dropped = prdc(real, ring8(rng, 800, [0, 3]))
  assert dropped['precision'] > 0.9
  assert dropped['recall'] < 0.4 and dropped['coverage'] < 0.4
  full = prdc(real, ring8(rng, 800, range(8)))
  assert min(full['precision'], full['recall'], full['coverage']) > 0.8
  assert 0.7 <= full['density'] <= 1.3
  noise = prdc(real, rng.uniform(real.min(axis=0), real.max(axis=0), (800, 2)))
  assert noise['precision'] < 0.2 and noise['density'] < 0.2


@pytest.mark.parametrize('real_shape,fake_shape,kwargs,message', [
    ((10, 3), (10, 4), {}, 'feature dimensions differ: real 3, fake 4'),
    ((10, 3), (5, 3), {'k': 5}, 'fake_features has 5 samples, k=5 needs more than 5'),
    ((3, 3), (10, 3), {}, 'real_features has 3 samples'),
    ((10,), (10, 1), {}, r'real_features must be 2-D .* got shape \(10,\)'),
    ((10, 2), (10, 2, 1), {}, 'fake_features must be 2-D'),
    ((10, 2), (10, 2), {'k': 0}, 'k must be an integer >= 1'),
    ((10, 2), (10, 2), {'k': 2.0}, 'k must be an integer >= 1'),
    ((10, 2), (10, 2), {'chunk_size': 0}, 'chunk_size must be an integer >= 1'),
])
def test_invalid_inputs_raise(real_shape, fake_shape, kwargs, message):
  with pytest.raises(ValueError, match=message):
    prdc(np.zeros(real_shape), np.ones(fake_shape), **kwargs)


def test_non_finite_features_raise():
  fake = np.ones((10, 2))
  fake[3, 1] = np.nan
  with pytest.raises(ValueError, match='NaN or infinity'):
    prdc(np.zeros((10, 2)), fake, k=2)


def test_peak_memory_stays_far_below_a_full_distance_matrix():
  rng = np.random.default_rng(6)
  n, d, chunk = 3000, 16, 500
  real, fake = rng.standard_normal((n, d)), rng.standard_normal((n, d)) + 0.3
  tracemalloc.start()
  try:
    chunked = prdc(real, fake, k=5, chunk_size=chunk)
    peak = tracemalloc.get_traced_memory()[1]
  finally:
    tracemalloc.stop()
  full_matrix = n * n * 8
  # About one (chunk, n) float64 block plus boolean masks: ~16 MB against 72 MB.
  assert peak < 1.5 * chunk * n * 8
  assert peak < full_matrix / 4
  assert chunked == prdc(real, fake, k=5, chunk_size=n)
