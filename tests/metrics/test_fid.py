"""FD, KID and IS against independent oracles: scipy's sqrtm, closed forms, direct loops."""

import numpy as np
import pytest
import scipy.linalg
import scipy.stats

from jaxgan.metrics import fid


def sqrtm_frechet(mu1, s1, mu2, s2):
  """The textbook formula, as pytorch-fid evaluates it on well-conditioned inputs."""
  covmean = scipy.linalg.sqrtm(s1 @ s2)
  diff = mu1 - mu2
  return diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real)


def random_cov(rng, d, n):
  a = rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) / np.sqrt(d)
  return np.cov(a, rowvar=False)


@pytest.mark.parametrize('d', [2, 16, 64])
def test_frechet_distance_matches_sqrtm_formula(d):
  rng = np.random.default_rng(d)
  mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
  s1, s2 = random_cov(rng, d, 4 * d + 10), random_cov(rng, d, 4 * d + 10)
  expected = sqrtm_frechet(mu1, s1, mu2, s2)
  assert fid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)
  assert fid.frechet_distance(mu2, s2, mu1, s1) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_near_singular_commuting_closed_form():
  # Covariances sharing an eigenbasis: tr sqrt(s1 s2) = sum sqrt(a_i b_i), exactly. Many
  # eigenvalues are 0 or 1e-12, as with fewer samples than feature dimensions.
  rng = np.random.default_rng(0)
  d = 32
  q, _ = np.linalg.qr(rng.standard_normal((d, d)))
  a, b = rng.random(d) * 3, rng.random(d) * 3
  a[:12], b[8:20] = 0.0, 1e-12
  s1, s2 = (q * a) @ q.T, (q * b) @ q.T
  mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
  expected = np.sum((mu1 - mu2) ** 2) + a.sum() + b.sum() - 2 * np.sqrt(a * b).sum()
  assert fid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-7)


def test_frechet_distance_rank_deficient_from_few_samples():
  # 20 samples in 64 dimensions, like FID on a small evaluation set: finite, non-negative,
  # zero between a distribution and itself, and close to pytorch-fid's eps-regularised value.
  rng = np.random.default_rng(1)
  f1, f2 = rng.standard_normal((20, 64)), rng.standard_normal((20, 64)) + 0.5
  mu1, s1 = fid.feature_statistics(f1)
  mu2, s2 = fid.feature_statistics(f2)
  value = fid.frechet_distance(mu1, s1, mu2, s2)
  assert np.isfinite(value) and value > 0
  assert abs(fid.frechet_distance(mu1, s1, mu1, s1)) < 1e-6 * np.trace(s1)
  eps = 1e-6 * np.eye(64)
  assert value == pytest.approx(sqrtm_frechet(mu1, s1 + eps, mu2, s2 + eps), rel=1e-3)


def test_feature_statistics_and_npz_round_trip(tmp_path):
  rng = np.random.default_rng(2)
  feats = rng.standard_normal((50, 8)).astype(np.float32)
  mu, sigma = fid.feature_statistics(feats)
  assert mu.dtype == sigma.dtype == np.float64
  np.testing.assert_allclose(mu, feats.astype(np.float64).mean(0), rtol=1e-12)
  np.testing.assert_allclose(sigma, np.cov(feats.astype(np.float64).T), rtol=1e-12)
  path = tmp_path / 'stats.npz'
  fid.save_statistics(path, mu, sigma)
  with np.load(path) as f:  # pytorch-fid's layout: exactly `mu` and `sigma`.
    assert sorted(f.files) == ['mu', 'sigma']
  mu2, sigma2 = fid.load_statistics(path)
  np.testing.assert_array_equal(mu2, mu)
  np.testing.assert_array_equal(sigma2, sigma)


def loop_mmd2(x, y):
  """Unbiased MMD^2 with the cubic polynomial kernel, written as the definition's sums."""
  d, m = x.shape[1], len(x)
  k = lambda a, b: (np.dot(a, b) / d + 1) ** 3
  xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
  yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
  xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
  return xx + yy - 2 * xy


def test_kid_on_full_sets_matches_double_loop():
  rng = np.random.default_rng(3)
  x, y = rng.standard_normal((12, 5)), rng.standard_normal((12, 5)) + 0.3
  mean, std = fid.kernel_inception_distance(x, y, num_subsets=3, subset_size=100)
  assert mean == pytest.approx(loop_mmd2(x, y), rel=1e-10)  # Subsets are the whole (clipped).
  assert std == pytest.approx(0.0, abs=1e-12)


def test_kid_subsets_follow_torch_fidelity_sampling():
  rng = np.random.default_rng(4)
  x, y = rng.standard_normal((20, 4)), rng.standard_normal((15, 4))
  sampler = np.random.RandomState(7)
  mmds = []
  for _ in range(5):
    xs = x[sampler.choice(20, 6, replace=False)]
    ys = y[sampler.choice(15, 6, replace=False)]
    mmds.append(loop_mmd2(xs, ys))
  mean, std = fid.kernel_inception_distance(x, y, num_subsets=5, subset_size=6, seed=7)
  assert mean == pytest.approx(np.mean(mmds), rel=1e-10)
  assert std == pytest.approx(np.std(mmds), rel=1e-8)


def test_kid_default_seed_is_torch_fidelitys():
  """Without a seed the subsets are those of torch-fidelity's default rng_seed (2020)."""
  rng = np.random.default_rng(6)
  x, y = rng.standard_normal((30, 4)), rng.standard_normal((25, 4)) + 0.2
  sampler, mmds = np.random.RandomState(2020), []
  for _ in range(4):
    xs, ys = x[sampler.choice(30, 8, replace=False)], y[sampler.choice(25, 8, replace=False)]
    mmds.append(loop_mmd2(xs, ys))
  mean, _ = fid.kernel_inception_distance(x, y, num_subsets=4, subset_size=8)
  assert mean == pytest.approx(np.mean(mmds), rel=1e-10)
  assert mean != pytest.approx(fid.kernel_inception_distance(x, y, 4, 8, seed=0)[0], rel=1e-6)


def test_kid_is_near_zero_for_one_distribution():
  rng = np.random.default_rng(5)
  x, y = rng.standard_normal((400, 16)), rng.standard_normal((400, 16))
  mean, _ = fid.kernel_inception_distance(x, y, num_subsets=10, subset_size=200)
  shifted, _ = fid.kernel_inception_distance(x, y + 1.0, num_subsets=10, subset_size=200)
  assert abs(mean) < 0.01 < shifted


def test_inception_score_of_uniform_predictions_is_one():
  mean, std = fid.inception_score(np.zeros((40, 1008)), splits=4)
  assert mean == pytest.approx(1.0, abs=1e-12) and std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_of_confident_balanced_predictions_is_num_classes():
  labels = np.arange(100) % 10  # Each split of 10 holds every class once.
  logits = 100.0 * np.eye(10)[labels]
  mean, std = fid.inception_score(logits, splits=10)
  assert mean == pytest.approx(10.0, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)


def test_inception_score_equals_entropy_identity():
  # E_x KL(p(y|x) || p(y)) = H(p(y)) - E_x H(p(y|x)), per split.
  rng = np.random.default_rng(6)
  logits = 3 * rng.standard_normal((60, 7))
  probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  scores = [np.exp(scipy.stats.entropy(p.mean(0)) - np.mean(scipy.stats.entropy(p.T)))
            for p in np.split(probs, 3)]
  mean, std = fid.inception_score(logits, splits=3)
  assert mean == pytest.approx(np.mean(scores), rel=1e-10)
  assert std == pytest.approx(np.std(scores), rel=1e-8)
