"""Per-example image transforms (numpy): centre crop, resize, flip, scaling to [-1, 1]."""

import numpy as np
from PIL import Image


def center_crop_resize(image: np.ndarray, size: int) -> np.ndarray:
  """Crops the largest centred square and resizes it to size x size (antialiased bicubic)."""
  h, w = image.shape[:2]
  s = min(h, w)
  top, left = (h - s) // 2, (w - s) // 2
  image = image[top:top + s, left:left + s]
  if s != size:
    squeeze = image.ndim == 3 and image.shape[-1] == 1
    pil = Image.fromarray(image[..., 0] if squeeze else image)
    image = np.asarray(pil.resize((size, size), Image.BICUBIC))
    if squeeze:
      image = image[..., None]
  return image


def to_unit_range(image: np.ndarray) -> np.ndarray:
  """uint8 [0, 255] -> float32 [-1, 1]."""
  return image.astype(np.float32) / 127.5 - 1.0


def to_uint8(image) -> np.ndarray:
  """float [-1, 1] -> uint8 [0, 255], rounding to nearest."""
  return np.clip(np.round((np.asarray(image, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def random_flip(example: dict, rng: np.random.Generator) -> dict:
  if rng.random() < 0.5:
    example = dict(example, image=example['image'][:, ::-1])
  return example
