"""Sample grids: images into one tiled PNG, 2-D points into a scatter plot."""

import io
import math

import numpy as np
from PIL import Image

from jaxgan.data.transforms import to_uint8


def make_grid(images: np.ndarray, columns: int | None = None, pad: int = 2) -> np.ndarray:
  """(N, H, W, C) in [-1, 1] -> one uint8 (rows*H', columns*W', C) grid."""
  images = to_uint8(images)
  n, h, w, c = images.shape
  columns = columns or math.ceil(math.sqrt(n))
  rows = math.ceil(n / columns)
  grid = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, c), 255, np.uint8)
  for i, image in enumerate(images):
    y, x = (pad + k * (size + pad) for k, size in zip(divmod(i, columns), (h, w)))
    grid[y:y + h, x:x + w] = image
  return grid


def scatter_plot(points: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
  """2-D samples (and optionally real points) as a uint8 RGB image."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
  if reference is not None:
    ax.scatter(reference[:, 0], reference[:, 1], s=2, c='tab:blue', alpha=0.3, label='real')
  ax.scatter(points[:, 0], points[:, 1], s=2, c='tab:red', alpha=0.6, label='generated')
  ax.set_aspect('equal')
  ax.legend(loc='upper right', fontsize=7)
  buf = io.BytesIO()
  fig.savefig(buf, format='png')
  plt.close(fig)
  return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert('RGB'))


def render(samples: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
  """A picture of generator output: a grid for images, a scatter plot for points."""
  samples = np.asarray(samples)
  return scatter_plot(samples, reference) if samples.ndim == 2 else make_grid(samples)


def save_png(path: str, image: np.ndarray) -> None:
  Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)
