"""Frechet Inception Distance, Kernel Inception Distance and Inception Score, on host in float64.

These take features or logits already extracted (`jaxgan.models.inception.InceptionExtractor`),
so they work for any feature space (e.g. the digits classifier). Statistics files use
pytorch-fid's `.npz` layout (`mu`, `sigma`), so reference statistics can be shared with it.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.special


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
  """Mean and covariance (rows are samples, like `np.cov(rowvar=False)`), in float64."""
  features = np.asarray(features, np.float64)
  if features.ndim != 2 or len(features) < 2:
    raise ValueError(f'need (N >= 2, D) features, got shape {features.shape}')
  return features.mean(axis=0), np.cov(features, rowvar=False)


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
  """Symmetric square root of a symmetric PSD matrix; tiny negative eigenvalues are rounding."""
  w, v = np.linalg.eigh(matrix)
  return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
  """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

  d^2 = |mu1 - mu2|^2 + tr(s1) + tr(s2) - 2 tr((s1 s2)^1/2). The trace term is computed as
  sum(sqrt(eig(s1^1/2 s2 s1^1/2))): that matrix is similar to s1 s2 but symmetric PSD, so its
  eigenvalues are real and non-negative even when the covariances are singular (fewer samples
  than dimensions), where `scipy.linalg.sqrtm(s1 @ s2)` returns complex or inaccurate roots and
  pytorch-fid falls back to adding eps to the diagonals.
  """
  mu1, mu2 = (np.atleast_1d(np.asarray(m, np.float64)) for m in (mu1, mu2))
  s1, s2 = (np.atleast_2d(np.asarray(s, np.float64)) for s in (sigma1, sigma2))
  if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != mu1.shape * 2:
    raise ValueError(f'shape mismatch: mu {mu1.shape}, {mu2.shape}; sigma {s1.shape}, {s2.shape}')
  root1 = _sqrt_psd((s1 + s1.T) / 2)
  middle = root1 @ s2 @ root1
  eigvals = np.linalg.eigvalsh((middle + middle.T) / 2)
  tr_covmean = np.sqrt(np.clip(eigvals, 0, None)).sum()
  diff = mu1 - mu2
  return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_covmean)


def _polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
  """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3: diagonals out of the within-set means."""
  d, m = x.shape[1], x.shape[0]
  k_xx = (x @ x.T / d + 1) ** 3
  k_yy = (y @ y.T / d + 1) ** 3
  k_xy = (x @ y.T / d + 1) ** 3
  within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
  return float(within - 2 * k_xy.mean())


# torch-fidelity's default `rng_seed`: KID's subsets depend on it (1.3% apart from seed 0 on
# the same features), so the same default gives the same numbers.
TORCH_FIDELITY_SEED = 2020


def kernel_inception_distance(feats1, feats2, num_subsets: int = 100, subset_size: int = 1000,
                              seed: int = TORCH_FIDELITY_SEED) -> tuple[float, float]:
  """KID (Binkowski et al. 2018): mean and std of the unbiased polynomial MMD^2 over subsets.

  Subsets are drawn without replacement like torch-fidelity (`np.random.RandomState(seed)`,
  one `choice` per set per subset), so equal features and equal seeds give torch-fidelity's
  numbers; the default is torch-fidelity's default seed, 2020. The subset size is clipped to
  the smaller set.
  """
  x, y = np.asarray(feats1, np.float64), np.asarray(feats2, np.float64)
  if x.ndim != 2 or x.shape[1:] != y.shape[1:]:
    raise ValueError(f'need (N, D) features of equal D, got {x.shape} and {y.shape}')
  m = min(subset_size, len(x), len(y))
  if m < 2:
    raise ValueError('KID needs at least 2 samples per set')
  rng = np.random.RandomState(seed)
  mmds = np.empty(num_subsets)
  for i in range(num_subsets):
    xs = x[rng.choice(len(x), m, replace=False)]
    ys = y[rng.choice(len(y), m, replace=False)]
    mmds[i] = _polynomial_mmd2(xs, ys)
  return float(mmds.mean()), float(mmds.std())


def inception_score(logits, splits: int = 10) -> tuple[float, float]:
  """IS (Salimans et al. 2016): mean and std over splits of exp(E_x KL(p(y|x) || p(y))).

  Splits are the consecutive, unshuffled chunks [k N // splits, (k + 1) N // splits), as in
  openai/improved-gan; p(y) is the mean prediction within each split.
  """
  logits = np.asarray(logits, np.float64)
  if logits.ndim != 2 or len(logits) < splits:
    raise ValueError(f'need (N >= splits, classes) logits, got shape {logits.shape}')
  log_p = scipy.special.log_softmax(logits, axis=1)
  n = len(logits)
  scores = []
  for k in range(splits):
    part = log_p[k * n // splits:(k + 1) * n // splits]
    log_marginal = scipy.special.logsumexp(part, axis=0) - np.log(len(part))
    kl = np.sum(np.exp(part) * (part - log_marginal), axis=1)
    scores.append(np.exp(kl.mean()))
  return float(np.mean(scores)), float(np.std(scores))


def save_statistics(path: str | os.PathLike, mu, sigma) -> None:
  """Writes pytorch-fid's statistics file (`.npz` with `mu` and `sigma`; numpy adds `.npz`)."""
  np.savez(path, mu=np.asarray(mu, np.float64), sigma=np.asarray(sigma, np.float64))


def load_statistics(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
  """Reads a pytorch-fid statistics file (ours, or one made by `pytorch_fid --save-stats`)."""
  with np.load(path) as f:
    return f['mu'][:], f['sigma'][:]
