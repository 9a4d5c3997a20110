"""MATLAB-compatible bicubic `imresize`, the resize that defines super-resolution benchmarks.

SR papers (SRGAN, EDSR, the NTIRE challenges) make LR images with MATLAB's
`imresize(hr, 1/scale)`: a Keys cubic kernel (a = -0.5) that is widened by 1/scale when
downsampling (antialiasing), MATLAB's pixel-centre coordinate map and symmetric
(half-sample) boundary extension. PIL's and OpenCV's "bicubic" differ from it (different
boundary handling, OpenCV uses a = -0.75 and no antialiasing), which shifts PSNR by tenths
of a dB, so we follow MATLAB's `imresize.m` exactly, as do the Python ports
fatheral/matlab_imresize and BasicSR's `imresize`.

Computation is separable and in float64. Dtype semantics follow MATLAB:
  * float in -> same float dtype out, neither clipped nor rounded (bicubic overshoots, so a
    [0, 1] image may come back slightly outside [0, 1]);
  * integer in (e.g. uint8) -> same dtype out, rounded half away from zero and saturated to
    the dtype's range after *each* of the two 1-D passes, as MATLAB's `imresizemex` does
    (this reproduces MATLAB's uint8 output bit for bit);
  * bool in -> float64 out.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

_KERNEL_WIDTH = 4.0  # support of the cubic kernel, in input pixels, before widening


def cubic(x: np.ndarray) -> np.ndarray:
  """Keys' cubic convolution kernel with a = -0.5 (MATLAB's 'bicubic')."""
  ax = np.abs(x)
  ax2, ax3 = ax * ax, ax * ax * ax
  return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
          + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


@functools.lru_cache(maxsize=64)
def _contributions(in_length: int, out_length: int, scale: float):
  """Weights (out, taps) and input indices (out, taps) of one 1-D resize, as in imresize.m."""
  if scale < 1:  # antialiasing: stretch the kernel to the output's (coarser) pixel pitch
    kernel = lambda x: scale * cubic(scale * x)
    width = _KERNEL_WIDTH / scale
  else:
    kernel, width = cubic, _KERNEL_WIDTH
  # 1-based output pixel x maps to input coordinate u so that pixel edges line up.
  x = np.arange(1, out_length + 1, dtype=np.float64)
  u = x / scale + 0.5 * (1.0 - 1.0 / scale)
  left = np.floor(u - width / 2.0)
  taps = int(math.ceil(width)) + 2
  indices = left[:, None] + np.arange(taps)[None, :]  # 1-based, may fall outside the image
  weights = kernel(u[:, None] - indices)
  weights = weights / weights.sum(axis=1, keepdims=True)
  # Symmetric extension: ..., 2, 1 | 1, 2, ..., n | n, n-1, ...
  mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
  indices = mirror[np.mod(indices.astype(np.int64) - 1, mirror.size)]
  keep = np.any(weights != 0, axis=0)  # drop all-zero tap columns, like MATLAB
  weights, indices = weights[:, keep], indices[:, keep]
  weights.setflags(write=False)
  indices.setflags(write=False)
  return weights, indices


def _resize_axis(image: np.ndarray, axis: int, out_length: int, scale: float,
                 out_dtype: np.dtype) -> np.ndarray:
  weights, indices = _contributions(image.shape[axis], out_length, scale)
  moved = np.moveaxis(image, axis, 0).astype(np.float64, copy=False)
  out = np.zeros((out_length,) + moved.shape[1:])
  rest = (1,) * (moved.ndim - 1)
  for t in range(weights.shape[1]):  # one tap at a time: memory stays O(output)
    out += weights[:, t].reshape((-1,) + rest) * moved[indices[:, t]]
  out = np.moveaxis(out, 0, axis)
  if np.issubdtype(out_dtype, np.integer):
    info = np.iinfo(out_dtype)
    # MATLAB rounds half away from zero; np.round rounds half to even.
    out = np.clip(np.sign(out) * np.floor(np.abs(out) + 0.5), info.min, info.max)
    return out.astype(out_dtype)
  return out


def _pair(value) -> tuple:
  return (value, value) if np.ndim(value) == 0 else tuple(value)


def imresize(image: np.ndarray, scale: float | Sequence[float] | None = None,
             output_shape: Sequence[int] | None = None) -> np.ndarray:
  """Resizes an HW or HWC image like MATLAB's `imresize(image, scale|[rows cols], 'bicubic')`.

  Args:
    image: HW or HWC array of any real dtype (see the module docstring for dtype semantics).
    scale: a factor, or a (rows, cols) pair; the output size is ceil(scale * input size).
    output_shape: (rows, cols) instead of `scale`; the scale is then output / input per axis.

  Returns:
    The resized image, HW or HWC like the input.
  """
  image = np.asarray(image)
  if image.ndim not in (2, 3):
    raise ValueError(f'expected an HW or HWC image, got shape {image.shape}')
  if (scale is None) == (output_shape is None):
    raise ValueError('give exactly one of scale and output_shape')
  in_shape = image.shape[:2]
  if scale is not None:
    scales = tuple(float(s) for s in _pair(scale))
    out_shape = tuple(int(math.ceil(s * n)) for s, n in zip(scales, in_shape))
  else:
    out_shape = tuple(int(n) for n in output_shape)
    scales = tuple(o / n for o, n in zip(out_shape, in_shape))
  if min(scales) <= 0 or min(out_shape) <= 0:
    raise ValueError(f'invalid scale {scales} or output shape {out_shape}')

  if image.dtype == np.bool_:
    image = image.astype(np.float64)
  out_dtype = image.dtype
  # MATLAB resizes the most-shrunk axis first (fewer operations); ties go rows first.
  for axis in np.argsort(scales, kind='stable'):
    image = _resize_axis(image, int(axis), out_shape[axis], scales[axis], out_dtype)
  return image.astype(out_dtype, copy=False)


def modcrop(image: np.ndarray, factor: int) -> np.ndarray:
  """Crops the bottom/right so that height and width are multiples of `factor`."""
  h, w = image.shape[:2]
  return image[:h - h % factor, :w - w % factor]


def bicubic_downsample(hr: np.ndarray, factor: int) -> np.ndarray:
  """The standard SR degradation: MATLAB `imresize(hr, 1/factor)`, bicubic, antialiased.

  `hr` must have height and width divisible by `factor` (use `modcrop`), so that LR and HR
  pixels align exactly. The output size is given explicitly to avoid ceil(n * (1/factor))
  rounding up for factors like 3. Dtype semantics as in `imresize` (uint8 in -> uint8 out).
  """
  h, w = hr.shape[:2]
  if h % factor or w % factor:
    raise ValueError(f'HR size {h}x{w} is not divisible by {factor}: modcrop it first')
  return imresize(hr, output_shape=(h // factor, w // factor))
