"""R3GAN's generator and discriminator ConvNets (Huang, Gokaslan, Kuleshov, Tompkin, "The GAN is
dead; long live the GAN! A Modern GAN Baseline", NeurIPS 2024), written from the paper and the
authors' R3GAN/Networks.py, Resamplers.py and FusedOperators.py (github.com/brownvc/R3GAN).

Modernised StyleGAN2 without its tricks: residual stages, no normalisation layers, no output
nonlinearity (G's image is a 1x1 convolution of the residual stream), leaky ReLU 0.2 with a
learned bias before it (their BiasedActivation), bias-free convolutions.

- Residual block (ResNeXt-style inverted bottleneck): x + conv1x1(act(conv3x3_grouped(act(
  conv1x1(x))))), the 1x1 expanding C to C * expansion, the 3x3 grouped into groups of
  `group_width` channels (their cardinality = C * expansion / group_width; 16 in every preset
  but ImageNet's 32), the last 1x1 back to C.
- Fix-up style init (theirs): every weight N(0, gain^2 / fan_in) (MSR init, fan_in of a grouped
  kernel = its group's inputs times k^2); in a residual branch gain = sqrt(2 / (1 + 0.2^2)) *
  L^(-1/4), L the total number of residual blocks of the network (their
  VarianceScalingParameter, with 3 linear layers per branch: L^(-1 / (2 * 3 - 2))), and the
  branch's last 1x1 convolution is zero: every block starts as the identity. Biases start at 0.
- Resampling: their interpolative FIR filter, [1, 2, 1] convolved with [1, 1] = [1, 3, 3, 1]
  per axis, zero padding (upfirdn2d's): upsampling is bilinear (3/4, 1/4 of the two nearest
  inputs), downsampling averages (1, 3, 3, 1) / 8 at stride 2. Written as shifted sums.
- G: z (and a class embedding) -> a linear layer scaling a learned 4x4 basis per channel
  (GenerativeBasis) -> stage 0's blocks at 4x4 -> per stage: 1x1 to the stage's width (if it
  changes), 2x upsampling, blocks -> 1x1 to the image channels.
- D: 1x1 from the image channels -> per stage: blocks, 2x downsampling, 1x1 to the next width
  (if it changes) -> the last stage's blocks at 4x4 -> a depthwise 4x4 "valid" convolution and a
  linear layer (DiscriminativeBasis) to the logit; conditional D: to an embedding width, then the
  inner product with the class embedding (their EmbeddingLayer on one-hot labels: an Embed).

Stage widths run from 4x4 up for G (`g_features * width_mults[i]`, blocks[i]) and are mirrored
for D (`d_features * reversed(width_mults)`, reversed blocks), as their train.py reverses G's
lists for D. Any image size 4 * 2^(stages - 1) (32 px: 4 stages, 64 px: 5).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxgan.models import dcgan

SLOPE = 0.2  # Leaky ReLU's negative slope.
ACTIVATION_GAIN = math.sqrt(2 / (1 + SLOPE ** 2))  # Their BiasedActivation.Gain.
LINEAR_LAYERS_PER_BLOCK = 3

# How the grouped 3x3 convolution is computed; all are the same function of the same kernel.
# 'xla': lax.conv with feature_group_count; 'split': one dense convolution per group, on its
# slice of the channels, concatenated; 'dense': one dense convolution with the block-diagonal
# kernel (groups times the FLOPs). XLA:CPU's grouped convolutions are far slower than its dense
# ones: a 32-wide D's step with R1 took 6.6 s grouped against 0.70 s dense; one 64-channel
# layer's step with R1 at 32x32 (batch 32, 4 groups) 2.66 s grouped, 177 ms dense, 102 ms
# split. model.r3gan_group_conv='auto' picks 'split' on CPU, 'xla' elsewhere.
GROUP_CONV_IMPLS = ('xla', 'split', 'dense')


def msr_init(gain: float):
  """N(0, gain^2 / fan_in) (their MSRInitializer); gain 0 gives zeros."""
  if gain == 0:
    return nnx.initializers.zeros_init()
  return nnx.initializers.variance_scaling(gain ** 2, 'fan_in', 'normal')


def block_diagonal(kernel: jax.Array, groups: int) -> jax.Array:
  """(k, k, cin / G, cout) grouped kernel -> the (k, k, cin, cout) dense one it stands for."""
  k1, k2, group_in, cout = kernel.shape
  group_out = cout // groups
  blocks = kernel.reshape(k1, k2, group_in, groups, group_out)
  dense = jnp.einsum('hwigo,gG->hwgiGo', blocks, jnp.eye(groups, dtype=kernel.dtype))
  return dense.reshape(k1, k2, groups * group_in, cout)


class Conv(nnx.Module):
  """Bias-free k x k convolution, 'same' padding, optionally grouped; MSR-initialised."""

  def __init__(self, cin: int, cout: int, kernel_size: int, gain: float = 1.0, groups: int = 1,
               impl: str = 'xla', *, rngs: nnx.Rngs):
    if cin % groups or cout % groups:
      raise ValueError(f'{cin} -> {cout} channels do not split into {groups} groups.')
    if impl not in GROUP_CONV_IMPLS:
      raise ValueError(f'Unknown model.r3gan_group_conv={impl!r}; valid: '
                       f'{list(GROUP_CONV_IMPLS)}.')
    self.groups, self.impl = groups, impl
    shape = (kernel_size, kernel_size, cin // groups, cout)
    self.kernel = nnx.Param(msr_init(gain)(rngs.params(), shape, jnp.float32))

  def __call__(self, x):
    kernel, groups = self.kernel[...], self.groups
    conv = lambda x, kernel, groups=1: jax.lax.conv_general_dilated(
        x, kernel, (1, 1), 'SAME', dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
        feature_group_count=groups)
    if groups == 1 or self.impl == 'xla':
      return conv(x, kernel, groups)
    if self.impl == 'dense':
      return conv(x, block_diagonal(kernel, groups))
    group_in, group_out = kernel.shape[2], kernel.shape[3] // groups
    return jnp.concatenate([
        conv(x[..., g * group_in:(g + 1) * group_in],
             kernel[..., g * group_out:(g + 1) * group_out]) for g in range(groups)], axis=-1)


class BiasedActivation(nnx.Module):
  """Leaky ReLU 0.2 of x + a learned per-channel bias (their BiasedActivation, gain 1)."""

  def __init__(self, features: int):
    self.bias = nnx.Param(jnp.zeros((features,), jnp.float32))

  def __call__(self, x):
    return jax.nn.leaky_relu(x + self.bias[...], SLOPE)


class ResidualBlock(nnx.Module):
  """x + conv1x1(act(grouped conv3x3(act(conv1x1(x))))), the last 1x1 zero-initialised."""

  def __init__(self, width: int, group_width: int, expansion: int, total_blocks: int,
               impl: str, *, rngs: nnx.Rngs):
    expanded = width * expansion
    if expanded % group_width:
      raise ValueError(f'model.r3gan_group_width={group_width} does not divide the expanded '
                       f'width {width} x {expansion} = {expanded} of a residual block.')
    gain = ACTIVATION_GAIN * total_blocks ** (-1 / (2 * LINEAR_LAYERS_PER_BLOCK - 2))
    self.conv1 = Conv(width, expanded, 1, gain, rngs=rngs)
    self.act1 = BiasedActivation(expanded)
    self.conv2 = Conv(expanded, expanded, 3, gain, expanded // group_width, impl, rngs=rngs)
    self.act2 = BiasedActivation(expanded)
    self.conv3 = Conv(expanded, width, 1, 0.0, rngs=rngs)

  def __call__(self, x):
    y = self.conv2(self.act1(self.conv1(x)))
    return x + self.conv3(self.act2(y))


def _pad_axis(x, axis: int):
  widths = [(0, 0)] * x.ndim
  widths[axis] = (1, 1)
  return jnp.pad(x, widths)


def _take(x, axis: int, start: int, stop: int, step: int = 1):
  index = [slice(None)] * x.ndim
  index[axis] = slice(start, stop, step)
  return x[tuple(index)]


def upsample_axis(x, axis: int):
  """2x along `axis`: out[2i] = x[i-1] / 4 + 3 x[i] / 4, out[2i+1] = 3 x[i] / 4 + x[i+1] / 4,
  zeros beyond the edges (upfirdn2d.upsample2d with the [1, 3, 3, 1] filter)."""
  n = x.shape[axis]
  p = _pad_axis(x, axis)
  before, centre, after = (_take(p, axis, s, s + n) for s in (0, 1, 2))
  even = 0.25 * before + 0.75 * centre
  odd = 0.75 * centre + 0.25 * after
  pair = jnp.stack([even, odd], axis=axis + 1)
  return pair.reshape(x.shape[:axis] + (2 * n,) + x.shape[axis + 1:])


def downsample_axis(x, axis: int):
  """x / 2 along `axis`: out[i] = (x[2i-1] + 3 x[2i] + 3 x[2i+1] + x[2i+2]) / 8, zeros beyond the
  edges (upfirdn2d.downsample2d with the [1, 3, 3, 1] filter)."""
  n = x.shape[axis]
  p = _pad_axis(x, axis)
  taps = [_take(p, axis, s, s + n, 2) for s in range(4)]
  return (taps[0] + 3.0 * (taps[1] + taps[2]) + taps[3]) * 0.125


def upsample(x):
  return upsample_axis(upsample_axis(x, 1), 2)


def downsample(x):
  return downsample_axis(downsample_axis(x, 1), 2)


class GenerativeBasis(nnx.Module):
  """(B, D) -> (B, 4, 4, C): a learned 4x4 basis per channel, scaled by a linear map of the
  input."""

  def __init__(self, in_features: int, width: int, *, rngs: nnx.Rngs):
    self.basis = nnx.Param(jax.random.normal(rngs.params(), (4, 4, width), jnp.float32))
    self.linear = nnx.Linear(in_features, width, use_bias=False, kernel_init=msr_init(1.0),
                             rngs=rngs)

  def __call__(self, z):
    return self.basis[...][None] * self.linear(z)[:, None, None, :]


class DiscriminativeBasis(nnx.Module):
  """(B, 4, 4, C) -> (B, out): a depthwise 4x4 'valid' convolution, then a linear layer."""

  def __init__(self, width: int, out_features: int, *, rngs: nnx.Rngs):
    self.basis = nnx.Param(msr_init(1.0)(rngs.params(), (4, 4, 1, width), jnp.float32))
    self.linear = nnx.Linear(width, out_features, use_bias=False, kernel_init=msr_init(1.0),
                             rngs=rngs)

  def __call__(self, x):
    h = jax.lax.conv_general_dilated(x, self.basis[...], (1, 1), 'VALID',
                                     dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
                                     feature_group_count=x.shape[-1])
    return self.linear(h.reshape(x.shape[0], -1))


def stage_count(image_size: int, stages: int) -> int:
  if image_size != 4 * 2 ** (stages - 1):
    sizes = {4 * 2 ** (n - 1): n for n in range(2, 8)}
    raise ValueError(f'model.image_size={image_size} needs {sizes.get(image_size, "?")} R3GAN '
                     f'stages (4 * 2^(stages - 1) px), but model.r3gan_width_mults/r3gan_blocks '
                     f'have {stages}; valid sizes: {sorted(sizes)}.')
  return stages


class Stage(nnx.Module):
  """A resolution's residual blocks, and the 1x1 convolution (cin, cout) that changes the width
  on the way in (G: before upsampling) or out (D: after downsampling); None where it stays."""

  def __init__(self, width: int, blocks: int, group_width: int, expansion: int,
               total_blocks: int, impl: str, transition: tuple[int, int] | None, *,
               rngs: nnx.Rngs):
    self.blocks = nnx.List([ResidualBlock(width, group_width, expansion, total_blocks, impl,
                                          rngs=rngs) for _ in range(blocks)])
    self.transition = (Conv(*transition, 1, rngs=rngs)
                       if transition and transition[0] != transition[1] else None)

  def run_blocks(self, x):
    for block in self.blocks:
      x = block(x)
    return x

  def change_width(self, x):
    return x if self.transition is None else self.transition(x)


def check_lists(width_mults, blocks) -> tuple[tuple[int, ...], tuple[int, ...]]:
  width_mults, blocks = tuple(width_mults), tuple(blocks)
  if len(width_mults) != len(blocks) or not blocks:
    raise ValueError(f'model.r3gan_width_mults={width_mults} and model.r3gan_blocks={blocks} '
                     f'need one entry per stage each (from 4x4 up).')
  return width_mults, blocks


class Generator(nnx.Module):
  """z (B, z_dim) [, labels (B,)] -> image (B, S, S, C), unbounded (no tanh, as theirs)."""

  def __init__(self, image_size: int, channels: int, z_dim: int, features: int,
               width_mults, blocks, group_width: int = 16, expansion: int = 2,
               group_conv: str = 'xla', num_classes: int = 0, native_size: int = 0, *,
               rngs: nnx.Rngs):
    width_mults, blocks = check_lists(width_mults, blocks)
    stage_count(image_size, len(blocks))
    self.native_size = dcgan.check_native_size(native_size, image_size)
    widths = [features * m for m in width_mults]
    total = sum(blocks)
    # Their G embeds the one-hot label to z_dim features, concatenated to z; MSR gain 1.
    self.embed = (nnx.Embed(num_classes, z_dim, embedding_init=nnx.initializers.normal(
        1 / math.sqrt(num_classes)), rngs=rngs) if num_classes else None)
    self.basis = GenerativeBasis(z_dim * (2 if num_classes else 1), widths[0], rngs=rngs)
    self.stages = nnx.List([
        Stage(w, n, group_width, expansion, total, group_conv, transition, rngs=rngs)
        for w, n, transition in zip(widths, blocks, [None] + list(zip(widths, widths[1:])))])
    self.to_image = Conv(widths[-1], channels, 1, rngs=rngs)

  def forward(self, z, labels):
    if self.embed is not None:
      z = jnp.concatenate([z, self.embed(labels)], axis=-1)
    x = self.stages[0].run_blocks(self.basis(z))
    for stage in self.stages[1:]:
      x = stage.run_blocks(upsample(stage.change_width(x)))
    return dcgan.through_native_size(self.to_image(x), self.native_size)

  def __call__(self, z, train: bool = True):
    del train  # No statistics: the same function in training and evaluation.
    return self.forward(z, None)


class ConditionalGenerator(Generator):
  """`G(z, labels, train=True)`."""

  def __call__(self, z, labels, train: bool = True):
    del train
    return self.forward(z, labels)


class Discriminator(nnx.Module):
  """image (B, S, S, C) [, labels (B,)] -> logits (B,)."""

  def __init__(self, image_size: int, channels: int, features: int, width_mults, blocks,
               group_width: int = 16, expansion: int = 2, group_conv: str = 'xla',
               num_classes: int = 0, *, rngs: nnx.Rngs):
    width_mults, blocks = check_lists(width_mults, blocks)
    stage_count(image_size, len(blocks))
    widths = [features * m for m in reversed(width_mults)]
    blocks = blocks[::-1]
    total = sum(blocks)
    self.from_image = Conv(channels, widths[0], 1, rngs=rngs)
    self.stages = nnx.List([
        Stage(w, n, group_width, expansion, total, group_conv, transition, rngs=rngs)
        for w, n, transition in zip(widths, blocks, list(zip(widths, widths[1:])) + [None])])
    # Conditional: the head projects to an embedding as wide as the last stage (theirs: the
    # width of G's first stage, the same for their mirrored lists), MSR gain 1 / sqrt(width).
    out = widths[-1] if num_classes else 1
    self.head = DiscriminativeBasis(widths[-1], out, rngs=rngs)
    self.embed = (nnx.Embed(num_classes, out, embedding_init=nnx.initializers.normal(
        1 / math.sqrt(out * num_classes)), rngs=rngs) if num_classes else None)

  def forward(self, x, labels):
    x = self.from_image(x)
    for stage in self.stages[:-1]:
      x = stage.change_width(downsample(stage.run_blocks(x)))
    h = self.head(self.stages[-1].run_blocks(x))
    if self.embed is None:
      return h[:, 0]
    return jnp.sum(h * self.embed(labels), axis=-1)

  def __call__(self, x, train: bool = True):
    del train
    return self.forward(x, None)


class ConditionalDiscriminator(Discriminator):
  """`D(x, labels, train=True)`."""

  def __call__(self, x, labels, train: bool = True):
    del train
    return self.forward(x, labels)


def parameter_count(module: nnx.Module) -> int:
  return int(sum(np.prod(p.shape) for p in jax.tree.leaves(nnx.state(module, nnx.Param))))
