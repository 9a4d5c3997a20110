"""Mode coverage and diversity on hand-made point sets whose answers are known by construction."""

import itertools

import numpy as np
import pytest

from jaxgan.metrics import coverage


def test_ring8_and_grid25_centres():
  ring = coverage.ring8_centers()
  assert ring.shape == (8, 2)
  np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2.0)
  np.testing.assert_allclose(ring[0], [2.0, 0.0])
  np.testing.assert_allclose(ring[2], [0.0, 2.0], atol=1e-12)
  grid = coverage.grid25_centers()
  expected = {(x, y) for x, y in itertools.product([-4, -2, 0, 2, 4], repeat=2)}
  assert {tuple(p) for p in grid.astype(int)} == expected and len(grid) == 25


def test_all_modes_covered_by_exact_centres():
  centres = coverage.grid25_centers()
  covered, quality = coverage.mode_coverage(np.repeat(centres, 3, axis=0), centres, std=0.05)
  assert (covered, quality) == (25, 1.0)


def test_collapse_to_two_modes_with_outliers():
  centres = coverage.ring8_centers()
  std = 0.02
  samples = np.array([
      centres[0] + [0.05, 0.0],  # 2.5 std: high quality, mode 0.
      centres[0] - [0.0, 0.059],  # 2.95 std: high quality, mode 0.
      centres[3] + [0.07, 0.0],  # 3.5 std: low quality, so mode 3 is not covered.
      centres[5],  # Exactly on mode 5.
      [0.0, 0.0],  # Between modes: low quality.
  ])
  covered, quality = coverage.mode_coverage(samples, centres, std)
  assert covered == 2
  assert quality == pytest.approx(3 / 5)


def test_empty_samples():
  assert coverage.mode_coverage(np.zeros((0, 2)), coverage.ring8_centers(), 0.02) == (0, 0.0)


def test_mean_pairwise_distance_hand_computed():
  # Right triangle 3-4-5: pairs have distances 3, 4 and 5.
  points = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
  assert coverage.mean_pairwise_distance(points) == pytest.approx(4.0, rel=1e-12)
  # Images are flattened per sample; blocks give the same answer as one pass.
  rng = np.random.default_rng(0)
  images = rng.standard_normal((9, 4, 4, 3))
  flat = images.reshape(9, -1)
  direct = np.mean([np.linalg.norm(flat[i] - flat[j]) for i in range(9) for j in range(i + 1, 9)])
  assert coverage.mean_pairwise_distance(images, block=4) == pytest.approx(direct, rel=1e-10)


def test_mean_pairwise_distance_sees_near_collapse():
  # Far from the origin and 1e-6 apart: a float32 Gram matrix would report noise, not 1e-6.
  base = np.full((1, 256), 100.0)
  samples = base + 1e-6 * np.eye(4, 256)
  assert coverage.mean_pairwise_distance(samples) == pytest.approx(np.sqrt(2) * 1e-6, rel=1e-4)
  assert coverage.mean_pairwise_distance(np.repeat(base, 5, axis=0)) == 0.0
