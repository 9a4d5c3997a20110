"""Precision, recall, density and coverage of generated features against real ones.

All four compare k-nearest-neighbour balls in a feature space (e.g. Inception pool features):
the ball of a sample has the Euclidean distance to its k-th nearest neighbour within its own set
(itself excluded) as radius, and the balls are closed (`<=`, as both papers define them).

- precision (Kynkaanniemi et al. 2019): fidelity, the fraction of fakes inside some real ball.
- recall (same paper): diversity, the fraction of reals inside some fake ball.
- density (Naeem et al. 2020): fidelity robust to outliers, the number of real balls around each
  fake divided by k, averaged over fakes. Not a fraction: it exceeds 1 where fakes crowd dense
  real regions (fakes identical to the reals give (k + 1) / k) and is about 1 when both sets come
  from the same distribution.
- coverage (same paper): diversity robust to outliers, the fraction of reals whose ball holds
  at least one fake.

k = 5 is the default of Naeem et al. (and of their `prdc` package); Kynkaanniemi et al. used
k = 3, so pass k=3 to compare with their precision and recall. The radii follow the `prdc`
package: the (k + 1)-th smallest distance with the zero self-distance counted, so duplicates of a
sample count as neighbours at distance 0. Unlike that package, which compares with a strict `<`
(so sets with many duplicates, e.g. discrete features, score 0), balls here are closed.
"""

from __future__ import annotations

import numbers

import numpy as np

_EPS = np.finfo(np.float64).eps


def prdc(real_features, fake_features, k: int = 5, chunk_size: int = 1000) -> dict[str, float]:
  """Precision, recall, density and coverage of (M, D) fake against (N, D) real features.

  Works in float64 on row blocks of `chunk_size` rows against a whole set, so memory is the two
  sets in float64 plus a few (chunk_size, max(N, M)) blocks: for 10,000 x 10,000 features of
  dimension 2048 about 330 MB for the sets and 80 MB per block, never an N x M matrix. Distances
  come from |a|^2 + |b|^2 - 2 a.b; the pairs whose comparison with a radius that formula's
  rounding could flip are recomputed as |a - b|^2, so the result is that of direct distances
  (sets with many duplicates, e.g. a collapsed generator's, make many such pairs: slower).

  Returns:
    A dict of Python floats with keys 'precision', 'recall', 'density', 'coverage'.
  Raises:
    ValueError: for inputs that are not 2-D, have different feature dimensions or non-finite
      values, or too few samples for k (each set needs more than k).
  """
  x, y = _validate(real_features, fake_features, k, chunk_size)
  real_radii = _knn_radii_sq(x, k, chunk_size)
  fake_radii = _knn_radii_sq(y, k, chunk_size)
  sq_x, sq_y = _sq_norms(x), _sq_norms(y)
  fake_in_real = np.zeros(len(y), bool)  # Some real ball holds the fake.
  covered = np.zeros(len(x), bool)  # The real's ball holds some fake.
  real_in_fake = np.zeros(len(x), bool)  # Some fake ball holds the real.
  pairs_inside = 0  # (real, fake) pairs with the fake in the real's ball.
  for start in range(0, len(x), chunk_size):
    rows = slice(start, start + chunk_size)
    sq, tol = _sq_dists(x, y, sq_x, sq_y, rows)
    inside = _within(sq, real_radii[rows, None], tol, x[rows], y)
    fake_in_real |= inside.any(axis=0)
    covered[rows] = inside.any(axis=1)
    pairs_inside += np.count_nonzero(inside)
    del inside
    real_in_fake[rows] = _within(sq, fake_radii[None, :], tol, x[rows], y).any(axis=1)
    del sq  # Before the next block is allocated.
  return {
      'precision': float(fake_in_real.mean()),
      'recall': float(real_in_fake.mean()),
      'density': float(pairs_inside / (k * len(y))),
      'coverage': float(covered.mean()),
  }


def _validate(real, fake, k, chunk_size) -> tuple[np.ndarray, np.ndarray]:
  """The two sets in float64, both shifted by the real mean; errors name the bad argument."""
  x, y = np.asarray(real), np.asarray(fake)
  for name, f in (('real_features', x), ('fake_features', y)):
    if f.ndim != 2:
      raise ValueError(f'{name} must be 2-D (samples, features), got shape {f.shape}')
  if x.shape[1] != y.shape[1]:
    raise ValueError(f'feature dimensions differ: real {x.shape[1]}, fake {y.shape[1]}')
  if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
    raise ValueError(f'k must be an integer >= 1, got {k!r}')
  if not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
    raise ValueError(f'chunk_size must be an integer >= 1, got {chunk_size!r}')
  for name, f in (('real_features', x), ('fake_features', y)):
    if len(f) <= k:
      raise ValueError(f'{name} has {len(f)} samples, k={k} needs more than {k}')
  x, y = x.astype(np.float64), y.astype(np.float64)
  if not (np.isfinite(x).all() and np.isfinite(y).all()):
    raise ValueError('features contain NaN or infinity')
  # Distances don't change under a common shift, but the rounding of |a|^2 + |b|^2 - 2 a.b
  # scales with |a|^2 + |b|^2: centring keeps it small for features far from the origin.
  mean = x.mean(axis=0)
  x -= mean
  y -= mean
  return x, y


def _sq_norms(a: np.ndarray) -> np.ndarray:
  return np.einsum('ij,ij->i', a, a)


def _sq_dists(a, b, sq_a, sq_b, rows: slice) -> tuple[np.ndarray, float]:
  """Squared distances from a[rows] to all of b, and a bound on their rounding error.

  The bound is 4x the formula's worst case in float64, about D eps (|a|^2 + |b|^2) from the
  D-term dot product and norms, with the largest norms of the block so that it is one number.
  """
  sq = a[rows] @ b.T  # In place from here on: the block is the largest array alive.
  sq *= -2
  sq += sq_a[rows, None]
  sq += sq_b
  np.maximum(sq, 0, out=sq)
  tol = (4 * a.shape[1] + 16) * _EPS * (sq_a[rows].max() + sq_b.max())
  return sq, float(tol)


def _exact_sq(a, b, i, j) -> np.ndarray:
  """|a[i] - b[j]|^2 pair by pair.

  A pair's value depends only on its two rows, so a tie seen from either side (a duplicate's
  distance and a radius equal to it) compares equal, as with direct distances.
  """
  out = np.empty(len(i))
  step = max(1, (1 << 21) // max(a.shape[1], 1))  # 16 MB of differences at a time.
  for s in range(0, len(i), step):
    diff = a[i[s:s + step]] - b[j[s:s + step]]
    diff *= diff
    out[s:s + step] = diff.sum(axis=1)
  return out


def _within(sq, radii_sq, tol, a, b) -> np.ndarray:
  """The (rows, len(b)) mask |a_i - b_j|^2 <= radii_sq, broadcast over rows or columns.

  Approximate distances decide every pair except those within `tol` of the radius, which the
  exact differences decide.
  """
  inside = sq <= radii_sq - tol
  near = sq <= radii_sq + tol
  near ^= inside  # Within tol of the radius (inside implies near).
  i, j = np.nonzero(near)
  del near
  if len(i):
    radii_sq = np.broadcast_to(radii_sq, sq.shape)[i, j]
    inside[i, j] = _exact_sq(a, b, i, j) <= radii_sq
  return inside


def _knn_radii_sq(a: np.ndarray, k: int, chunk_size: int) -> np.ndarray:
  """Squared distance of each row of a to its k-th nearest other row (duplicates at 0)."""
  sq_a = _sq_norms(a)
  radii = np.empty(len(a))
  for start in range(0, len(a), chunk_size):
    rows = slice(start, start + chunk_size)
    sq, tol = _sq_dists(a, a, sq_a, sq_a, rows)
    # Every row of a whose exact distance could be among the k + 1 smallest (self included)
    # has an approximate one within 2 tol of the approximate (k + 1)-th smallest.
    i, j = np.nonzero(sq <= _kth_smallest(sq, k)[:, None] + 2 * tol)
    first = np.searchsorted(i, np.arange(len(sq)))  # Each row's first pair: i is sorted.
    del sq
    exact = _exact_sq(a[rows], a, i, j)
    exact = exact[np.lexsort((exact, i))]  # By row, then by distance.
    radii[rows] = exact[first + k]
  return radii


def _kth_smallest(sq: np.ndarray, k: int, rows_per_step: int = 64) -> np.ndarray:
  """Row-wise k-th smallest (0-based) in steps, since np.partition copies what it sorts."""
  out = np.empty(len(sq))
  for s in range(0, len(sq), rows_per_step):
    out[s:s + rows_per_step] = np.partition(sq[s:s + rows_per_step], k, axis=1)[:, k]
  return out
