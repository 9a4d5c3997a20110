"""PSNR, SSIM and a detail ratio with the conventions of super-resolution papers, in jax (runs on device).

Images are HWC or NHWC with values in [0, data_range]. A batch gives one value per image
(shape (N,)): papers average per-image PSNR over a test set, which is not the PSNR of the mean
squared error. `crop_border` drops that many pixels on each side (papers crop the scale factor);
`y_channel` scores the BT.601 luma of MATLAB's `rgb2ycbcr`, as SRCNN/EDSR/SRGAN tables do.
SSIM is Wang et al. 2004: an 11-tap Gaussian window with sigma 1.5, K1 0.01, K2 0.03, population
(co)variances, averaged over the positions where the window fits and over channels, which is
`skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, channel_axis=-1)`.

PSNR and SSIM reward the blur that averages over what the LR image cannot determine, so they
cannot show what SRGAN adds. `detail_ratio` does: the mean gradient magnitude of a prediction
over the reference's, 1 for as much fine detail (edges, texture) as the HR image; bicubic and
MSE-trained upscalers stay well below 1, above 1 is over-sharpened or noisy.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

# MATLAB rgb2ycbcr: Y = 16 + 65.481 R + 128.553 G + 24.966 B for RGB in [0, 1], Y in [16, 235].
_Y_OFFSET, _Y_WEIGHTS = 16.0, (65.481, 128.553, 24.966)
SSIM_SIGMA, SSIM_RADIUS, SSIM_K1, SSIM_K2 = 1.5, 5, 0.01, 0.03


def rgb_to_y(images, data_range: float = 1.0):
  """(..., 3) RGB in [0, data_range] -> (..., 1) luma in [16/255, 235/255] * data_range."""
  x = jnp.asarray(images, jnp.float32) / data_range
  # An explicit weighted sum, not a matmul: accelerators may run float32 matmuls in lower precision.
  y = _Y_OFFSET + sum(w * x[..., i] for i, w in enumerate(_Y_WEIGHTS))
  return (y / 255.0 * data_range)[..., None]


def _prepare(a, b, data_range, crop_border, y_channel):
  a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
  if a.shape != b.shape or a.ndim not in (3, 4):
    raise ValueError(f'need two HWC or NHWC images of one shape, got {a.shape} and {b.shape}')
  batched = a.ndim == 4
  a, b = (a, b) if batched else (a[None], b[None])
  if crop_border:
    a, b = (x[:, crop_border:-crop_border, crop_border:-crop_border] for x in (a, b))
  if y_channel:
    if a.shape[-1] != 3:
      raise ValueError(f'y_channel needs RGB images, got {a.shape[-1]} channels')
    a, b = rgb_to_y(a, data_range), rgb_to_y(b, data_range)
  return a, b, batched


@functools.partial(jax.jit, static_argnames=('data_range', 'crop_border', 'y_channel'))
def psnr(a, b, data_range: float, crop_border: int = 0, y_channel: bool = False):
  """Peak signal-to-noise ratio in dB: a scalar for HWC, shape (N,) for NHWC (inf if equal)."""
  a, b, batched = _prepare(a, b, data_range, crop_border, y_channel)
  mse = jnp.mean((a - b) ** 2, axis=(1, 2, 3))
  values = 10.0 * jnp.log10(data_range**2 / mse)
  return values if batched else values[0]


def _gaussian_taps() -> np.ndarray:
  x = np.arange(-SSIM_RADIUS, SSIM_RADIUS + 1)
  taps = np.exp(-0.5 * (x / SSIM_SIGMA) ** 2)
  return taps / taps.sum()


def _blur_valid(x):
  """Separable Gaussian over axes 2 and 3 (H, W of stacked NHWC maps), where the window fits.

  skimage filters with reflect padding and then crops the radius, so the padding never reaches
  the mean; a shifted sum of slices keeps full float32 precision on any device.
  """
  taps = _gaussian_taps()
  for axis in (2, 3):
    n = x.shape[axis] - len(taps) + 1
    x = sum(float(w) * jax.lax.slice_in_dim(x, k, k + n, axis=axis) for k, w in enumerate(taps))
  return x


@functools.partial(jax.jit, static_argnames=('data_range', 'crop_border', 'y_channel'))
def ssim(a, b, data_range: float, crop_border: int = 0, y_channel: bool = False):
  """Structural similarity: a scalar for HWC, shape (N,) for NHWC. Needs images >= 11x11."""
  a, b, batched = _prepare(a, b, data_range, crop_border, y_channel)
  if min(a.shape[1:3]) < 2 * SSIM_RADIUS + 1:
    raise ValueError(f'SSIM needs images of at least 11x11 after cropping, got {a.shape[1:3]}')
  c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
  mu_a, mu_b, aa, bb, ab = _blur_valid(jnp.stack([a, b, a * a, b * b, a * b]))
  var_a, var_b, cov = aa - mu_a**2, bb - mu_b**2, ab - mu_a * mu_b
  numerator = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
  denominator = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
  values = jnp.mean(numerator / denominator, axis=(1, 2, 3))
  return values if batched else values[0]


@functools.partial(jax.jit, static_argnames=('data_range', 'crop_border', 'y_channel'))
def detail_ratio(a, b, data_range: float, crop_border: int = 0, y_channel: bool = False):
  """mean |grad a| / mean |grad b| (forward differences, L1 over x and y, over all channels):
  a scalar for HWC, shape (N,) for NHWC."""
  a, b, batched = _prepare(a, b, data_range, crop_border, y_channel)

  def gradient(x):
    return (jnp.mean(jnp.abs(jnp.diff(x, axis=1)), axis=(1, 2, 3))
            + jnp.mean(jnp.abs(jnp.diff(x, axis=2)), axis=(1, 2, 3)))
  values = gradient(a) / gradient(b)
  return values if batched else values[0]
