"""Sample grids: images into one tiled PNG, 2-D points into a scatter plot."""

import io
import math

import numpy as np
from etils import epath
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


def save_png(path: epath.PathLike, image: np.ndarray) -> None:
  """Writes through epath, so `path` may be a gs:// URL (PIL itself writes local files only)."""
  buf = io.BytesIO()
  Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buf, 'PNG')
  epath.Path(path).write_bytes(buf.getvalue())


def class_grid(images: np.ndarray, labels: np.ndarray, class_names=(), pad: int = 2) -> np.ndarray:
  """One row per class present in `labels` (sorted), its name written left of the row.

  (N, H, W, C) in [-1, 1] and int (N,) labels -> uint8 RGB (or grayscale) grid.
  """
  from PIL import ImageDraw  # pylint: disable=g-import-not-at-top
  labels = np.asarray(labels)
  classes = np.unique(labels)
  rows = [images[labels == k] for k in classes]
  columns = max(len(r) for r in rows)
  h, w, c = images.shape[1:]
  blank = np.full((columns - 1, h, w, c), 1.0, np.float32)  # white fill for short rows
  grid = make_grid(np.concatenate([np.concatenate([r, blank[:columns - len(r)]]) for r in rows]),
                   columns=columns, pad=pad)
  names = [class_names[k] if k < len(class_names) else str(k) for k in classes]
  canvas = Image.new('L' if c == 1 else 'RGB', (0, 0))
  draw = ImageDraw.Draw(canvas)
  margin = max(draw.textlength(n) for n in names) + 2 * pad
  out = Image.new(canvas.mode, (grid.shape[1] + int(margin), grid.shape[0]), 'white')
  out.paste(Image.fromarray(grid[..., 0] if c == 1 else grid), (int(margin), 0))
  draw = ImageDraw.Draw(out)
  for i, name in enumerate(names):
    top = pad + i * (h + pad)
    draw.text((pad, top + max(h - 11, 0) // 2), name, fill='black')
  out = np.asarray(out)
  return out[..., None] if out.ndim == 2 else out
