"""SRResNet generator and SRGAN discriminator (Ledig et al. 2017, arXiv:1609.04802), NHWC.

Value ranges, as in the paper: the generator takes LR images in [0, 1] and predicts HR images
in [-1, 1] with a linear output (no tanh), so the MSE/VGG losses see unsaturated gradients;
the discriminator takes HR images in [-1, 1] and returns one logit per image.

Convolutions use PyTorch-style symmetric padding (k // 2) so that weights ported from the
common PyTorch implementations line up, and BatchNorm uses torch's defaults
(flax momentum 0.9 == torch momentum 0.1, epsilon 1e-5).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from jaxgan.models.layers import pixel_shuffle


def _conv(in_features: int, out_features: int, kernel: int, stride: int = 1, *,
          rngs: nnx.Rngs) -> nnx.Conv:
  return nnx.Conv(in_features, out_features, (kernel, kernel), strides=stride,
                  padding=kernel // 2, rngs=rngs)


def _batch_norm(features: int, rngs: nnx.Rngs) -> nnx.BatchNorm:
  return nnx.BatchNorm(features, momentum=0.9, epsilon=1e-5, rngs=rngs)


def _generator_norm(norm: str, features: int, rngs: nnx.Rngs) -> nnx.BatchNorm | None:
  """The paper's BatchNorm, or none (EDSR, Lim et al. 2017: better PSNR, no train/test gap)."""
  if norm not in ('batch', 'none'):
    raise ValueError(f"The SRResNet norm must be 'batch' or 'none', got {norm!r}")
  return _batch_norm(features, rngs) if norm == 'batch' else None


def _normalize(bn: nnx.BatchNorm | None, x: jax.Array, train: bool) -> jax.Array:
  return x if bn is None else bn(x, use_running_average=not train)


class PReLU(nnx.Module):
  """Parametric ReLU with one learned negative slope per channel (He et al. 2015)."""

  def __init__(self, features: int, init: float = 0.25):
    self.slope = nnx.Param(jnp.full((features,), init, jnp.float32))

  def __call__(self, x: jax.Array) -> jax.Array:
    return jnp.where(x >= 0, x, self.slope[...].astype(x.dtype) * x)


class ResidualBlock(nnx.Module):
  """conv3x3-BN-PReLU-conv3x3-BN plus identity skip."""

  def __init__(self, features: int, norm: str = 'batch', *, rngs: nnx.Rngs):
    self.conv1 = _conv(features, features, 3, rngs=rngs)
    self.bn1 = _generator_norm(norm, features, rngs)
    self.act = PReLU(features)
    self.conv2 = _conv(features, features, 3, rngs=rngs)
    self.bn2 = _generator_norm(norm, features, rngs)

  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    y = self.act(_normalize(self.bn1, self.conv1(x), train))
    return x + _normalize(self.bn2, self.conv2(y), train)


class Upsample2x(nnx.Module):
  """Sub-pixel convolution (Shi et al. 2016): conv to 4x channels, pixel shuffle, PReLU.

  ICNR initialisation (Aitken et al. 2017): the 4 sub-pixel filters of each output channel
  start equal, so the initial upsampling is nearest-neighbour of a convolution, free of the
  checkerboard artefacts a random sub-pixel init leaves (and an adversarial loss amplifies).
  """

  def __init__(self, features: int, *, rngs: nnx.Rngs):
    self.conv = _conv(features, 4 * features, 3, rngs=rngs)
    # pixel_shuffle reads channel c * 4 + s as sub-pixel s of channel c.
    kernel = self.conv.kernel[...]
    self.conv.kernel.set_value(jnp.repeat(kernel[..., :features], 4, axis=-1))
    self.act = PReLU(features)

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.act(pixel_shuffle(self.conv(x), 2))


class SRResNet(nnx.Module):
  """The SRGAN generator: LR (N, h, w, C) in [0, 1] -> SR (N, h*scale, w*scale, C) ~ [-1, 1]."""

  def __init__(self, scale: int = 4, num_blocks: int = 16, features: int = 64,
               channels: int = 3, norm: str = 'batch', *, rngs: nnx.Rngs):
    if scale not in (2, 4, 8):
      raise ValueError(f'scale must be 2, 4 or 8, got {scale}')
    self.scale = scale
    self.head = _conv(channels, features, 9, rngs=rngs)
    self.head_act = PReLU(features)
    self.blocks = nnx.List(
        [ResidualBlock(features, norm, rngs=rngs) for _ in range(num_blocks)])
    self.trunk_conv = _conv(features, features, 3, rngs=rngs)
    self.trunk_bn = _generator_norm(norm, features, rngs)
    self.upsample = nnx.List(
        [Upsample2x(features, rngs=rngs) for _ in range(int(math.log2(scale)))])
    self.tail = _conv(features, channels, 9, rngs=rngs)

  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    x = self.head_act(self.head(x))
    y = x
    for block in self.blocks:
      y = block(y, train)
    x = x + _normalize(self.trunk_bn, self.trunk_conv(y), train)
    for up in self.upsample:
      x = up(x)
    return self.tail(x)


class SRGANDiscriminator(nnx.Module):
  """Eight conv3x3 blocks (64..512, stride 2 every second), dense 1024, dense 1 -> logit.

  `pool='flatten'` follows the paper (which trains on 96x96 crops) and fixes the input size
  to `input_size`; `pool='mean'` averages over space instead and accepts any input size.
  """

  def __init__(self, features: int = 64, channels: int = 3, pool: str = 'flatten',
               input_size: int | None = 96, *, rngs: nnx.Rngs):
    if pool not in ('flatten', 'mean'):
      raise ValueError(f"pool must be 'flatten' or 'mean', got {pool!r}")
    widths = [features * m for m in (1, 1, 2, 2, 4, 4, 8, 8)]
    strides = [1, 2] * 4
    self.pool = pool
    self.convs = nnx.List([
        _conv(c_in, c_out, 3, s, rngs=rngs)
        for c_in, c_out, s in zip([channels] + widths[:-1], widths, strides)])
    # The first block has no BatchNorm (it would normalise away the input's statistics).
    self.bns = nnx.List([_batch_norm(c, rngs) for c in widths[1:]])
    if pool == 'flatten':
      if input_size is None or input_size % 16:
        raise ValueError(f"pool='flatten' needs input_size divisible by 16, got {input_size}")
      dense_in = widths[-1] * (input_size // 16) ** 2
    else:
      dense_in = widths[-1]
    self.dense1 = nnx.Linear(dense_in, 1024, rngs=rngs)
    self.dense2 = nnx.Linear(1024, 1, rngs=rngs)

  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    """(N, H, W, C) in [-1, 1] -> (N,) logits."""
    x = nnx.leaky_relu(self.convs[0](x), 0.2)
    for conv, bn in zip(self.convs[1:], self.bns):
      x = nnx.leaky_relu(bn(conv(x), use_running_average=not train), 0.2)
    x = x.reshape(x.shape[0], -1) if self.pool == 'flatten' else x.mean(axis=(1, 2))
    x = nnx.leaky_relu(self.dense1(x), 0.2)
    return self.dense2(x)[:, 0]
