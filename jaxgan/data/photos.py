"""`photos`: scikit-image's bundled colour photographs, for offline super-resolution.

Only images that ship inside the scikit-image wheel are used (the others need pooch and a
download). `cat` is left out because it is the same picture as `chelsea`, which would leak
the evaluation set into training; `colorwheel` and `logo` are synthetic. Training crops come
from the remaining natural RGB photos; `astronaut`, `chelsea` and `coffee` are held out for
evaluation (the usual Set5-like role). The bundled greyscale photographs (camera, brick,
grass, gravel, moon, coins) join the training set as three equal channels: they add the fine
natural texture (fur-like grass, gravel, brick) that a 4x upscaler must learn, and SR is
scored on the luma channel anyway. `clock_motion` is motion-blurred, `text`/`page` are scans.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import skimage.data

from jaxgan.data.imresize import bicubic_downsample

TRAIN_NAMES = ('rocket', 'motorcycle', 'immunohistochemistry', 'retina', 'hubble_deep_field',
               'camera', 'brick', 'grass', 'gravel', 'moon', 'coins')
EVAL_NAMES = ('astronaut', 'chelsea', 'coffee')


class Photo(NamedTuple):
  name: str
  image: np.ndarray  # H x W x 3 uint8, read-only


@functools.lru_cache(maxsize=None)
def _load(name: str) -> np.ndarray:
  if name == 'motorcycle':
    image = skimage.data.stereo_motorcycle()[0]  # left view; the right one is near-identical
  else:
    image = getattr(skimage.data, name)()
  if image.ndim == 2:  # greyscale: three equal channels
    image = np.repeat(image[..., None], 3, axis=-1)
  image = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
  image.setflags(write=False)  # cached and shared between callers
  return image


def train_photos() -> list[Photo]:
  return [Photo(name, _load(name)) for name in TRAIN_NAMES]


def eval_photos() -> list[Photo]:
  return [Photo(name, _load(name)) for name in EVAL_NAMES]


def random_sr_crop(hr_image: np.ndarray, rng: np.random.Generator, crop: int = 96,
                   scale: int = 4) -> tuple[np.ndarray, np.ndarray]:
  """One augmented training pair from a uint8 HxWx3 photo.

  A random `crop` x `crop` HR patch, randomly flipped (horizontally, vertically) and rotated
  by a multiple of 90 degrees (the 8 symmetries of the square), then downsampled with
  MATLAB's bicubic kernel in uint8, as SR benchmarks store their LR images.

  Returns:
    (lr, hr): float32 arrays, lr (crop/scale, crop/scale, 3) in [0, 1] and
    hr (crop, crop, 3) in [-1, 1].
  """
  if crop % scale:
    raise ValueError(f'crop {crop} must be divisible by scale {scale}')
  h, w = hr_image.shape[:2]
  if h < crop or w < crop:
    raise ValueError(f'image {h}x{w} is smaller than the crop {crop}')
  top, left = rng.integers(0, h - crop + 1), rng.integers(0, w - crop + 1)
  hr = hr_image[top:top + crop, left:left + crop]
  if rng.random() < 0.5:
    hr = hr[:, ::-1]
  if rng.random() < 0.5:
    hr = hr[::-1]
  hr = np.ascontiguousarray(np.rot90(hr, k=int(rng.integers(4))))
  lr = bicubic_downsample(hr, scale)
  return ((lr.astype(np.float32) / 255.0),
          (hr.astype(np.float32) / 127.5 - 1.0))
