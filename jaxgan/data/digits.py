"""The embedded `digits` data set: scikit-learn's 8x8 handwritten digits as GAN-sized images.

Shared by the data pipeline and the digits classifier (`jaxgan.metrics.classifier`), so that the
classifier judges generated images on exactly the distribution the GAN was trained on.
"""

import jax
import numpy as np
from sklearn.datasets import load_digits

NUM_CLASSES = 10
HOLDOUT_EVERY = 10  # Every 10th digit of each class is held out: a fixed, stratified 90/10 split.
SPLITS = ('train', 'test', 'all')  # 1,618 / 179 / 1,797 digits.


def digits_images(image_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
  """All 1,797 digits as `(images float32 (N, S, S, 1) in [-1, 1], labels int32 (N,))`.

  Pixel values 0..16 map to [-1, 1] as x / 8 - 1 before resizing. Upsampling is bilinear with
  `jax.image.resize` (half-pixel centres, edges clamped): a convex combination of neighbouring
  pixels, so values stay in [-1, 1], and the same jax code path as every other resize in the
  package (no PIL uint8 round trip that would quantise the 17 grey levels' interpolants).
  """
  if image_size < 8:
    raise ValueError(f'image_size must be >= 8 (the source is 8x8), got {image_size}')
  data = load_digits()
  small = data.images.astype(np.float32)[..., None] / 8.0 - 1.0  # (N, 8, 8, 1)
  shape = (small.shape[0], image_size, image_size, 1)
  images = jax.device_get(jax.image.resize(small, shape, method='bilinear'))
  # Guard float rounding at the ends so callers can rely on the closed range.
  images = np.clip(np.asarray(images, dtype=np.float32), -1.0, 1.0)
  return images, data.target.astype(np.int32)


def digits_split(image_size: int = 32, split: str = 'train') -> tuple[np.ndarray, np.ndarray]:
  """One split of `digits_images`: 'train' (90%), 'test' (every 10th of each digit) or 'all'.

  GANs train on 'train' and are judged against 'test', which neither they nor the digits
  classifier (`jaxgan.metrics.classifier`) have seen.
  """
  if split not in SPLITS:
    raise ValueError(f'data.split={split!r} for digits: valid splits are {list(SPLITS)}.')
  images, labels = digits_images(image_size)
  if split == 'all':
    return images, labels
  # The rank of each image among the images of its class (the data set is not in class order).
  rank = np.zeros(len(labels), np.int64)
  for k in range(NUM_CLASSES):
    rank[labels == k] = np.arange(np.sum(labels == k))
  test = rank % HOLDOUT_EVERY == HOLDOUT_EVERY - 1
  keep = test if split == 'test' else ~test
  return images[keep], labels[keep]
