"""Small layers shared by the models."""

import jax
import jax.numpy as jnp


def pixel_shuffle(x: jax.Array, factor: int) -> jax.Array:
  """Sub-pixel upsampling (depth_to_space), NHWC, with PyTorch's `PixelShuffle` ordering.

  (N, H, W, C * r * r) -> (N, H * r, W * r, C) with
  out[n, h * r + i, w * r + j, c] = x[n, h, w, c * r * r + i * r + j],
  i.e. the channel axis is read as (C, r, r), like torch's (N, C * r * r, H, W) input.
  This differs from TF's `depth_to_space` ((r, r, C) order), and matching torch is what
  lets SRResNet/SRGAN weights converted from PyTorch work unchanged.
  """
  n, h, w, c = x.shape
  if c % (factor * factor):
    raise ValueError(f'{c} channels are not divisible by factor**2 = {factor * factor}')
  out_c = c // (factor * factor)
  x = x.reshape(n, h, w, out_c, factor, factor)
  x = jnp.transpose(x, (0, 1, 4, 2, 5, 3))  # n, h, i, w, j, c
  return x.reshape(n, h * factor, w * factor, out_c)
