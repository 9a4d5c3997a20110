"""SR generators by name: the paper's SRResNet, and SRResNet on top of a bicubic skip.

`srresnet_bicubic_skip` adds the (fixed, Keys a = -0.5) bicubic upsampling of the LR input to
SRResNet's output, and zero-initialises SRResNet's last convolution, so training starts from
exactly bicubic interpolation and only has to learn the missing detail (the global residual of
VDSR, Kim et al. 2016). It reaches bicubic + 1 dB in a few hundred CPU steps, where the plain
SRResNet first spends thousands of steps learning to reproduce the image; it is what the
embedded CPU configs use. The paper configs (`*_div2k`) use plain `srresnet`.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import ml_collections
from flax import nnx

from jaxgan.models.srresnet import SRResNet


class BicubicSkipSRResNet(nnx.Module):
  """LR (N, h, w, C) in [0, 1] -> bicubic(LR) in [-1, 1] + SRResNet(LR)."""

  def __init__(self, scale: int, num_blocks: int, features: int, channels: int,
               norm: str = 'batch', *, rngs: nnx.Rngs):
    self.scale = scale
    self.body = SRResNet(scale=scale, num_blocks=num_blocks, features=features,
                         channels=channels, norm=norm, rngs=rngs)
    self.body.tail.kernel.set_value(jnp.zeros_like(self.body.tail.kernel[...]))

  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    n, h, w, c = x.shape
    upsampled = jax.image.resize(x, (n, h * self.scale, w * self.scale, c), 'bicubic')
    return upsampled * 2.0 - 1.0 + self.body(x, train)


def srresnet(m: ml_collections.ConfigDict, rngs: nnx.Rngs) -> nnx.Module:
  return SRResNet(scale=m.scale, num_blocks=m.num_blocks, features=m.g_features,
                  channels=m.channels, norm=m.g_norm, rngs=rngs)


def srresnet_bicubic_skip(m: ml_collections.ConfigDict, rngs: nnx.Rngs) -> nnx.Module:
  return BicubicSkipSRResNet(m.scale, m.num_blocks, m.g_features, m.channels, m.g_norm,
                             rngs=rngs)


GENERATORS: dict[str, Callable[[ml_collections.ConfigDict, nnx.Rngs], nnx.Module]] = {
    'srresnet': srresnet,
    'srresnet_bicubic_skip': srresnet_bicubic_skip,
}


def build_generator(m: ml_collections.ConfigDict, rngs: nnx.Rngs) -> nnx.Module:
  if m.name not in GENERATORS:
    raise ValueError(f'Unknown model.name={m.name!r} for task sr; valid names: '
                     f'{sorted(GENERATORS)}.')
  return GENERATORS[m.name](m, rngs)
