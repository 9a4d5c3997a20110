"""Mode coverage on 2-D Gaussian mixtures, and sample diversity for the mode-collapse monitor.

The protocol of Unrolled GAN / VEEGAN / PacGAN: a sample is high quality when it lies within
3 standard deviations of its nearest mixture centre, and a mode is covered when at least one
high-quality sample is nearest to it. A collapsed generator covers few modes; a blurry one has a
low high-quality fraction.
"""

from __future__ import annotations

import numpy as np

# The mixtures' centres have one definition, next to the data they generate.
from jaxgan.data.gaussians import grid25_centers, ring8_centers  # noqa: F401 (re-exported)


def mode_coverage(samples, centers, std: float) -> tuple[int, float]:
  """(number of modes covered, fraction of high-quality samples) of (N, D) samples."""
  samples, centers = np.asarray(samples, np.float64), np.asarray(centers, np.float64)
  if len(samples) == 0:
    return 0, 0.0
  distances = np.linalg.norm(samples[:, None, :] - centers[None, :, :], axis=-1)
  nearest = distances.argmin(axis=1)
  high_quality = distances[np.arange(len(samples)), nearest] <= 3 * std
  return int(np.unique(nearest[high_quality]).size), float(high_quality.mean())


def mean_pairwise_distance(features, block: int = 1024) -> float:
  """Mean Euclidean distance over all pairs i < j of (N, ...) samples (flattened per sample).

  Works in float64 on centred features, in row blocks: a collapsed generator has distances near
  zero, where the rounding of a float32 Gram matrix would otherwise dominate.
  """
  x = np.asarray(features, np.float64).reshape(len(features), -1)
  n = len(x)
  if n < 2:
    raise ValueError('need at least 2 samples')
  x = x - x.mean(axis=0)
  sq_norms = np.einsum('ij,ij->i', x, x)
  total = 0.0
  for start in range(0, n, block):
    rows = slice(start, start + block)
    sq = sq_norms[rows, None] + sq_norms[None, :] - 2 * x[rows] @ x.T
    local = np.arange(len(sq))
    sq[local, start + local] = 0.0  # Exactly, not up to rounding.
    total += np.sqrt(np.clip(sq, 0, None)).sum()
  return float(total / (n * (n - 1)))  # Every pair was counted twice.
