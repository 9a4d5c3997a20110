"""2-D Gaussian mixtures with known modes (VEEGAN / PacGAN protocol) for mode-collapse tests."""

import numpy as np


def ring8_centers(radius: float = 2.0) -> np.ndarray:
  angles = 2 * np.pi * np.arange(8) / 8
  return radius * np.stack([np.cos(angles), np.sin(angles)], axis=-1)


def grid25_centers() -> np.ndarray:
  ticks = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
  return np.stack(np.meshgrid(ticks, ticks, indexing='ij'), axis=-1).reshape(-1, 2)


# name -> (centres, standard deviation of every component).
MIXTURES = {
    'ring8': (ring8_centers(), 0.02),
    'grid25': (grid25_centers(), 0.05),
}


def sample_mixture(name: str, num_points: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """(points float32 (N, 2), component index int32 (N,)), equal-weight components."""
  centers, std = MIXTURES[name]
  rng = np.random.default_rng(seed)
  component = rng.integers(len(centers), size=num_points)
  points = centers[component] + std * rng.standard_normal((num_points, 2))
  return points.astype(np.float32), component.astype(np.int32)
