"""What the digits classifier trains on besides clean digits: nuisances and non-digits.

A reader ignores small shifts, rotations, blur, contrast and noise, so `nuisance` draws those
and keeps the label. A reader reads no digit in a blank, in noise or in a blob, so `non_digits`
draws those with a uniform target (outlier exposure, Hendrycks et al. 2019), and no single digit
in two digits laid over each other (`overlay`) or joined half and half (`splice`), which get a
target between mixup's (Zhang et al. 2018) and uniform: the classifier learns to be unsure.
All functions are pure in their key and work on float NHWC images in [-1, 1], 1 channel, with
-1 the background.
"""

import jax
import jax.numpy as jnp

BACKGROUND = -1.0


def _affine_warp(key, image, max_shift, max_rotation, scale_range):
  """One image rotated, scaled and shifted by sub-pixel amounts (bilinear, background fill)."""
  h, w, _ = image.shape
  k_shift, k_rot, k_scale = jax.random.split(key, 3)
  shift = jax.random.uniform(k_shift, (2,), minval=-max_shift, maxval=max_shift)
  angle = jax.random.uniform(k_rot, (), minval=-max_rotation, maxval=max_rotation)
  scale = jax.random.uniform(k_scale, (), minval=scale_range[0], maxval=scale_range[1])
  cos, sin = jnp.cos(angle) / scale, jnp.sin(angle) / scale
  yy, xx = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32) - (h - 1) / 2,
                        jnp.arange(w, dtype=jnp.float32) - (w - 1) / 2, indexing='ij')
  src_y = cos * yy - sin * xx + (h - 1) / 2 - shift[0]
  src_x = sin * yy + cos * xx + (w - 1) / 2 - shift[1]
  warped = jax.scipy.ndimage.map_coordinates(image[..., 0], [src_y, src_x], order=1,
                                             mode='constant', cval=BACKGROUND)
  return warped[..., None]


def gaussian_blur(images, sigma, radius: int):
  """Per-image separable Gaussian blur (sigma (N,) in px); the border is background."""
  taps = jnp.arange(-radius, radius + 1, dtype=jnp.float32)
  kernels = jnp.exp(-0.5 * (taps[None] / jnp.maximum(sigma[:, None], 1e-3)) ** 2)
  kernels = kernels / kernels.sum(axis=1, keepdims=True)  # (N, taps)
  padded = jnp.pad(images[..., 0], ((0, 0), (radius, radius), (radius, radius)),
                   constant_values=BACKGROUND)

  def blur_one(image, kernel):
    rows = jax.vmap(lambda r: jnp.convolve(r, kernel, mode='valid'))(image)
    return jax.vmap(lambda c: jnp.convolve(c, kernel, mode='valid'), 1, 1)(rows)
  return jax.vmap(blur_one)(padded, kernels)[..., None]


def nuisance(key, images, shift: float = 1.5, rotation: float = 0.2, scale: float = 0.15,
             blur: bool = True):
  """Label-preserving views: sub-pixel shifts (up to `shift` px at 16 px), rotation (radians),
  scale (1 +- scale), blur (unless `blur=False`), contrast, noise."""
  n, size = images.shape[0], images.shape[1]
  px = size / 16  # Amounts are set for 16 px and scale with the image.
  keys = jax.random.split(key, 6)
  images = jax.vmap(lambda k, x: _affine_warp(k, x, shift * px, rotation,
                                              (1 - scale, 1 + scale)))(
      jax.random.split(keys[0], n), images)
  if blur:
    sigma = jax.random.uniform(keys[1], (n,), maxval=0.7 * px)
    images = gaussian_blur(images, sigma, radius=int(round(2 * px)))
  contrast = jax.random.uniform(keys[2], (n, 1, 1, 1), minval=0.5, maxval=1.0)
  images = BACKGROUND + contrast * (images - BACKGROUND)
  images = images + jax.random.uniform(keys[3], (n, 1, 1, 1), minval=0.0, maxval=0.3)
  noise_sd = jax.random.uniform(keys[4], (n, 1, 1, 1), maxval=0.25)
  images = images + noise_sd * jax.random.normal(keys[5], images.shape)
  return jnp.clip(images, -1.0, 1.0)


def _unsure_targets(labels, other, mix, num_classes: int):
  """Targets of a mix of two digits: half mixup, half uniform, so neither digit can reach
  CONFIDENT (mixup alone left a third of overlaid held-out pairs confident). A pair of one
  class is still that digit and keeps its one-hot target."""
  one_hot = jax.nn.one_hot(labels, num_classes)
  mixup = mix * one_hot + (1 - mix) * one_hot[other]
  same = (labels == labels[other])[:, None]
  return jnp.where(same, one_hot, 0.5 * mixup + 0.5 / num_classes)


def overlay(key, images, labels, num_classes: int):
  """Pairs of digits laid over each other, mixed 35-65%: (images, unsure targets)."""
  n = images.shape[0]
  k_perm, k_mix = jax.random.split(key)
  other = jax.random.permutation(k_perm, n)
  mix = jax.random.uniform(k_mix, (n, 1, 1, 1), minval=0.35, maxval=0.65)
  mixed = mix * images + (1 - mix) * images[other]
  return mixed, _unsure_targets(labels, other, mix[:, :, 0, 0], num_classes)


def splice(key, images, labels, num_classes: int):
  """Chimeras: one digit's top (or left) part joined to another's bottom (or right) part,
  cut at 35-65% of the side: (images, unsure targets)."""
  n, size = images.shape[0], images.shape[1]
  k_perm, k_cut, k_axis = jax.random.split(key, 3)
  other = jax.random.permutation(k_perm, n)
  cut = jax.random.randint(k_cut, (n, 1, 1, 1), int(0.35 * size), int(0.65 * size) + 1)
  rows = jnp.arange(size)[None, :, None, None]
  cols = jnp.arange(size)[None, None, :, None]
  first = jnp.where(jax.random.bernoulli(k_axis, 0.5, (n, 1, 1, 1)), rows < cut, cols < cut)
  spliced = jnp.where(first, images, images[other])
  share = first.mean(axis=(1, 2, 3))[:, None]
  return spliced, _unsure_targets(labels, other, share, num_classes)


def _smooth_field(key, n, size, cells):
  """Random low-frequency fields: (cells x cells) noise upsampled to size x size."""
  coarse = jax.random.normal(key, (n, cells, cells, 1))
  return jax.image.resize(coarse, (n, size, size, 1), method='cubic')


def non_digits(key, n: int, size: int, digits):
  """`n` images that are not digits: blanks, pixel noise, blobs, smears of digits."""
  keys = jax.random.split(key, 8)
  shape = (n, size, size, 1)
  level = jax.random.uniform(keys[0], (n, 1, 1, 1), minval=-1.0, maxval=1.0)
  blank = jnp.broadcast_to(level, shape) + 0.05 * jax.random.normal(keys[1], shape)
  noise = jnp.where(jax.random.bernoulli(keys[2], 0.5, (n, 1, 1, 1)),
                    jax.random.uniform(keys[3], shape, minval=-1.0, maxval=1.0),
                    level + 0.5 * jax.random.normal(keys[3], shape))
  cells = 3 + jax.random.randint(keys[4], (), 0, 4)  # One blob scale per batch: a static shape.
  field = jax.lax.switch(cells - 3, [
      lambda: _smooth_field(keys[5], n, size, 3), lambda: _smooth_field(keys[5], n, size, 4),
      lambda: _smooth_field(keys[5], n, size, 5), lambda: _smooth_field(keys[5], n, size, 6)])
  blob = jnp.tanh(3.0 * (field - jax.random.uniform(keys[6], (n, 1, 1, 1), minval=0.0,
                                                      maxval=1.2)))
  # A digit blurred past reading (sigma 1.5-2.5 px at 16 px) is a blob too.
  px = size / 16
  smear = gaussian_blur(digits[:n], jax.random.uniform(keys[7], (n,), minval=1.5 * px,
                                                       maxval=2.5 * px), int(round(5 * px)))
  smear = BACKGROUND + (smear - BACKGROUND) / jnp.maximum(
      smear.max(axis=(1, 2, 3), keepdims=True) - BACKGROUND, 1e-3) * 2.0
  kind = jax.random.randint(jax.random.fold_in(key, 1), (n, 1, 1, 1), 0, 4)
  out = jnp.select([kind == 0, kind == 1, kind == 2], [blank, noise, blob], smear)
  return jnp.clip(out, -1.0, 1.0)
