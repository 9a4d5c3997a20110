"""DiffAugment (Zhao et al. 2020): differentiable augmentations of what D sees, real and fake.

With little data D memorises the real images and stops teaching G. Augmenting every image D
sees, real ones in the D step and fakes in both steps, with the same family of random
transformations keeps D from that, and since the transformations are differentiable G's
gradient flows through them. Policies by name, as in the paper's code (images NHWC in
[-1, 1]; fills are 0, as there):

- 'color': brightness + U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5) per image.
- 'translation': shifts by up to 1/8 of the side in each direction, zero fill.
- 'cutout': one zeroed square of half the side at a random position per image.

`data.diffaugment='color,translation,cutout'` picks them ('' is off). DiffAugment applies every
policy to every image; `data.diffaugment_p` < 1 (or a schedule of it, as R3GAN ramps ADA's p)
applies each policy to each image with that probability instead, as ADA (Karras et al. 2020)
applies each of its transformations. Every draw comes from
the key given, which the train step derives from its own key, so runs stay reproducible and
resume bit-identically on any number of devices.
"""

from typing import Callable

import jax
import jax.numpy as jnp


def brightness(key, x):
  return x + (jax.random.uniform(key, (x.shape[0], 1, 1, 1), x.dtype) - 0.5)


def saturation(key, x):
  mean = x.mean(axis=-1, keepdims=True)
  return (x - mean) * (jax.random.uniform(key, (x.shape[0], 1, 1, 1), x.dtype) * 2) + mean


def contrast(key, x):
  mean = x.mean(axis=(1, 2, 3), keepdims=True)
  return (x - mean) * (jax.random.uniform(key, (x.shape[0], 1, 1, 1), x.dtype) + 0.5) + mean


def color(key, x):
  keys = jax.random.split(key, 3)
  return contrast(keys[2], saturation(keys[1], brightness(keys[0], x)))


def translation(key, x, ratio: float = 0.125):
  """Shifts each image by integers in [-s, s] per axis, s = round(ratio * side); zero fill."""
  n, h, w, c = x.shape
  sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
  shift = jax.random.randint(key, (n, 2), jnp.array([-sh, -sw]), jnp.array([sh + 1, sw + 1]))
  padded = jnp.pad(x, ((0, 0), (sh, sh), (sw, sw), (0, 0)))
  crop = lambda image, s: jax.lax.dynamic_slice(image, (sh - s[0], sw - s[1], 0), (h, w, c))
  return jax.vmap(crop)(padded, shift)


def cutout(key, x, ratio: float = 0.5):
  """Zeroes one square of side round(ratio * side) per image, its centre anywhere in it."""
  n, h, w, _ = x.shape
  size_h, size_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
  k_y, k_x = jax.random.split(key)
  top = jax.random.randint(k_y, (n, 1, 1, 1), 0, h + (1 - size_h % 2)) - size_h // 2
  left = jax.random.randint(k_x, (n, 1, 1, 1), 0, w + (1 - size_w % 2)) - size_w // 2
  rows = jnp.arange(h)[None, :, None, None]
  cols = jnp.arange(w)[None, None, :, None]
  inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
  return jnp.where(inside, jnp.zeros((), x.dtype), x)


POLICIES: dict[str, Callable] = {'color': color, 'translation': translation, 'cutout': cutout}


def parse_policy(policy: str) -> tuple[str, ...]:
  """'color,translation' -> ('color', 'translation'); '' -> () (off)."""
  names = tuple(p.strip() for p in policy.split(',') if p.strip())
  unknown = [p for p in names if p not in POLICIES]
  if unknown:
    raise ValueError(f'Unknown data.diffaugment policy {unknown}; valid: {sorted(POLICIES)}, '
                     f"comma-separated, or '' for none.")
  return names


PROBABILITY_SALT = 0xADA  # Key of a policy's per-image coin: fold_in(policy key, salt).


def make_diffaugment(policy: str, probability: Callable | None = None) -> Callable:
  """(key, images, step=None) -> augmented images; the identity (ignoring the key) for ''.

  `probability`: None applies every policy to every image (DiffAugment); else step -> p, and
  each policy is applied to each image with probability p (its own coin per policy and image).
  """
  names = parse_policy(policy)

  def augment(key, x, step=None):
    for i, name in enumerate(names):
      policy_key = jax.random.fold_in(key, i)
      y = POLICIES[name](policy_key, x)
      if probability is not None:
        coin = jax.random.fold_in(policy_key, PROBABILITY_SALT)
        apply = jax.random.bernoulli(coin, probability(step), (x.shape[0],) + (1,) * (x.ndim - 1))
        y = jnp.where(apply, y, x)
      x = y
    return x
  return augment
