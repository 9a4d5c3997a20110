"""MATLAB bicubic imresize against closed forms, a hand derivation and a direct double sum."""

import math

import numpy as np
import pytest
import skimage.data
from PIL import Image

from jaxgan.data.imresize import bicubic_downsample, imresize, modcrop


# --- An independent reference: MATLAB's definition written as a plain double sum. ---------

def _keys(x):
  x = abs(x)
  if x <= 1:
    return 1.5 * x**3 - 2.5 * x**2 + 1
  if x <= 2:
    return -0.5 * x**3 + 2.5 * x**2 - 4 * x + 2
  return 0.0


def _mirror(k, n):
  """1-based index k folded into 1..n by half-sample symmetry: 0 -> 1, n + 1 -> n."""
  while not 1 <= k <= n:
    k = 1 - k if k < 1 else 2 * n + 1 - k
  return k


def _taps(n_in, n_out, s=None):
  """For each 1-based output pixel, a list of (1-based input pixel, unnormalised weight)."""
  s = n_out / n_in if s is None else s
  stretch = min(s, 1.0)  # the kernel is widened by 1/s only when shrinking
  taps = []
  for x in range(1, n_out + 1):
    u = x / s + 0.5 * (1 - 1 / s)  # where output pixel x's centre falls in the input
    reach = 2 / stretch
    ks = range(math.floor(u - reach) - 1, math.ceil(u + reach) + 2)
    taps.append([(_mirror(k, n_in), stretch * _keys(stretch * (u - k))) for k in ks])
  return taps


def _reference(image, out_rows, out_cols, scale=None):
  """out[i, j] = sum_k sum_l wr[i, k] wc[j, l] img[k, l] / (sum wr)(sum wc), in float64."""
  image = np.asarray(image, np.float64)
  rows = _taps(image.shape[0], out_rows, scale)
  cols = _taps(image.shape[1], out_cols, scale)
  out = np.zeros((out_rows, out_cols) + image.shape[2:])
  for i, row_taps in enumerate(rows):
    for j, col_taps in enumerate(cols):
      total = 0.0
      for k, wk in row_taps:
        for l, wl in col_taps:
          total = total + wk * wl * image[k - 1, l - 1]
      norm = sum(w for _, w in row_taps) * sum(w for _, w in col_taps)
      out[i, j] = total / norm
  return out


@pytest.mark.parametrize('in_shape,out_shape', [
    ((8, 8), (2, 2)),       # x1/4, kernel 16 px wide, reaches past both borders
    ((8, 8), (3, 3)),       # non-integer scale 3/8
    ((5, 4), (10, 8)),      # x2 upsampling: no widening
    ((7, 9, 2), (4, 5)),    # HWC, different scales per axis
    ((12, 6), (4, 13)),     # shrink one axis, grow the other
])
def test_matches_direct_double_sum(in_shape, out_shape):
  image = np.random.default_rng(0).uniform(-1, 2, in_shape)
  got = imresize(image, output_shape=out_shape)
  np.testing.assert_allclose(got, _reference(image, *out_shape), rtol=0, atol=1e-12)


def test_scale_gives_ceil_size_and_keeps_the_given_scale():
  image = np.random.default_rng(1).uniform(size=(10, 7))
  out = imresize(image, scale=0.5)
  assert out.shape == (5, 4)  # ceil(3.5) = 4, like MATLAB
  # MATLAB keeps the requested scale (0.5) for the kernel, not 4 / 7.
  np.testing.assert_allclose(out, _reference(image, 5, 4, scale=0.5), rtol=0, atol=1e-12)
  assert not np.allclose(out, imresize(image, output_shape=(5, 4)))


# --- Hand-derived values: 8x8 -> 2x2 (scale 1/4). ---------------------------------------
# Output pixel 1 sits at u = 1 * 4 + 0.5 * (1 - 4) = 2.5 (1-based). The stretched kernel
# w(k) = 1/4 * keys((u - k) / 4) is nonzero for k = -5..10, e.g. k = 2, 3: 987/4096;
# k = 1: 745/4096; k = 0: 399/4096 (folded onto pixel 1); k = -1: 93/4096 (onto 2), ...
# The 16 weights sum to exactly 1. Folding gives these per-pixel weights (pixel 2's are the
# same, reversed, by symmetry):
_W1 = np.array([143 / 512, 135 / 512, 469 / 2048, 335 / 2048,
                177 / 2048, 43 / 2048, -7 / 512, -15 / 512])


def test_hand_derived_weights():
  eye = np.eye(8)
  np.testing.assert_allclose(imresize(eye, output_shape=(2, 8)),
                             np.stack([_W1, _W1[::-1]]), rtol=0, atol=1e-15)


def test_hand_derived_2x2():
  r, c = np.mgrid[:8, :8]
  image = (r * c) % 7 * 10 + r
  # sum_rc W[i, r] W[j, c] image[r, c], evaluated exactly with fractions: x / 262144.
  expected = np.array([[4751429, 6291899], [7405499, 5865029]]) / 262144
  np.testing.assert_allclose(imresize(image.astype(np.float64), output_shape=(2, 2)),
                             expected, rtol=0, atol=1e-12)


# --- Closed forms. ----------------------------------------------------------------------

@pytest.mark.parametrize('scale', [0.25, 1 / 3, 0.5, 0.7, 2.0, 3.0])
def test_constant_stays_constant(scale):
  out = imresize(np.full((13, 11, 3), 0.375), scale=scale)
  np.testing.assert_allclose(out, 0.375, rtol=0, atol=1e-14)
  out8 = imresize(np.full((13, 11), 77, np.uint8), scale=scale)
  assert out8.dtype == np.uint8 and np.all(out8 == 77)


@pytest.mark.parametrize('factor', [2, 3, 4])
def test_linear_ramp_is_sampled_at_pixel_centres(factor):
  # A symmetric, normalised kernel centred on u returns f(u) for linear f. Output pixel i
  # (0-based) is centred on input coordinate (i + 0.5) * factor - 0.5.
  n = 24 * factor
  ramp = 3.0 * np.arange(n) - 7.0
  image = np.tile(ramp, (n, 1))  # varies along columns only
  out = bicubic_downsample(image, factor)
  i = np.arange(n // factor)
  expected = 3.0 * ((i + 0.5) * factor - 0.5) - 7.0
  interior = slice(3, -3)  # the widened kernel reaches 2 LR pixels; mirroring bends the ramp
  np.testing.assert_allclose(out[:, interior], np.tile(expected, (n // factor, 1))[:, interior],
                             rtol=0, atol=1e-9)
  np.testing.assert_allclose(bicubic_downsample(image.T, factor)[interior, :],
                             np.tile(expected, (n // factor, 1)).T[interior, :], atol=1e-9)


# --- Dtypes. ------------------------------------------------------------------------------

def test_uint8_rounds_and_saturates_per_pass():
  step = np.zeros((16, 16, 3), np.uint8)
  step[:, 8:] = 255  # overshoots below 0 and above 255 next to the edge
  out = imresize(step, scale=2.0)
  assert out.dtype == np.uint8
  as_float = imresize(step.astype(np.float64), scale=2.0)
  assert as_float.min() < 0 and as_float.max() > 255  # floats are not clipped
  assert np.abs(out.astype(float) - np.clip(as_float, 0, 255)).max() <= 1.0


def test_float32_in_float32_out():
  out = imresize(np.ones((8, 8), np.float32), scale=0.5)
  assert out.dtype == np.float32 and out.shape == (4, 4)


def test_bicubic_downsample_requires_divisible_size():
  with pytest.raises(ValueError, match='modcrop'):
    bicubic_downsample(np.zeros((10, 12)), 4)
  assert bicubic_downsample(modcrop(np.zeros((10, 13, 3)), 4), 4).shape == (2, 3, 3)
  assert bicubic_downsample(np.zeros((9, 6)), 3).shape == (3, 2)


# --- Against PIL on a real photo. ---------------------------------------------------------

def test_close_to_pil_bicubic_but_not_equal_at_borders():
  """PIL's BICUBIC uses the same a = -0.5 antialiased kernel: on float ('F') images it
  agrees with MATLAB to float32 precision inside the image (measured: max 2e-5 gray levels
  on astronaut), but it renormalises the truncated kernel at the borders instead of
  mirroring, which moves the outer 2 LR pixels by up to ~12 gray levels (mean over the
  whole image 0.03). PIL on uint8 images additionally rounds between its passes (mean
  difference 0.3)."""
  hr = modcrop(skimage.data.astronaut(), 4).astype(np.float64)
  ours = bicubic_downsample(hr, 4)
  size = (hr.shape[1] // 4, hr.shape[0] // 4)
  pil = np.stack([np.asarray(Image.fromarray(hr[..., ch].astype(np.float32), mode='F')
                             .resize(size, Image.Resampling.BICUBIC)) for ch in range(3)], -1)
  diff = np.abs(ours - pil)
  assert diff.mean() < 0.1
  assert diff[3:-3, 3:-3].max() < 1e-3
  assert diff.max() > 1.0  # the border handling differs: PIL is not a MATLAB substitute
