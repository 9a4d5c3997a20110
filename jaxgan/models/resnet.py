"""SNGAN's ResNet generator and discriminator (Miyato et al. 2018), their class-conditional
variants (projection D, conditional-BatchNorm G; Miyato & Koyama 2018) and SAGAN's self-attention.

16 px (not in the papers, for small data such as the 8x8 digits): G 4 -> 8 -> 16, D 16 -> 8 -> 4,
one more block at 4x4; optionally drawn through a native size as dcgan.through_native_size.
32 px: the CIFAR-10 networks of the SNGAN paper (appendix, as the authors' chainer code
sngan_projection and Mimicry's SNGAN32), g = g_features (256), d = d_features (128):
  G: z -> linear -> 4x4xg -> 3 up-blocks (g) -> BN, ReLU, conv3x3 -> tanh.
  D: optimized block (d, 16x16) -> down-block (d, 8x8) -> 2 blocks (d) -> ReLU, sum over H and W
     -> linear. Every D layer is spectrally normalised; D has no BatchNorm.
64 px: Mimicry's SNGAN64 (CelebA 64), a published setting with published scores. Its widths
double per block towards 4x4, as this package's DCGANs do, so g_features / d_features keep their
meaning (width of G's last block / D's first); Mimicry's ngf = ndf = 1024 are g = d = 64 here:
  G: 4x4x16g -> up-blocks 8g, 4g, 2g, g -> BN, ReLU, conv3x3 -> tanh.
  D: optimized block (d, 32x32) -> down-blocks 2d, 4d, 8d, 16d (2x2) -> ReLU, sum -> linear.

G blocks: BN, ReLU, 2x nearest upsampling (chainer's; Mimicry's is bilinear), conv3x3, BN, ReLU,
conv3x3; shortcut: upsampling, conv1x1. D blocks: ReLU, conv3x3 (to the input width, as chainer
and Mimicry), ReLU, conv3x3, 2x2 average pool; shortcut: conv1x1 then pool where the shape
changes, else the identity. Init as chainer and Mimicry: Glorot (xavier) uniform, gain sqrt(2) on
the residual 3x3 convs, 1 on everything else; biases 0 (chainer's; Mimicry keeps PyTorch's).

Conditional: G's block BatchNorms take per-class scale and shift (its last BN stays plain, as in
chainer); D adds <SN-embed(y), h> to its logit, h its summed features. Optional SAGAN
self-attention at `attention_resolution` (0: none), after the first G and D block of that size.
"""

import math

import jax
import jax.numpy as jnp
from flax import nnx

from jaxgan.models import conditional, dcgan
from jaxgan.models.spectral_norm import SpectralNorm

# image_size -> (G widths from 4x4 up, D blocks as (width, downsample)), in units of g and d
# features. D's first block is the optimized one, which always downsamples.
LAYOUTS = {
    16: ((1, 1, 1), ((1, True), (1, True), (1, False))),  # For small data (sngan_digits).
    32: ((1, 1, 1, 1), ((1, True), (1, True), (1, False), (1, False))),
    64: ((16, 8, 4, 2, 1), ((1, True), (2, True), (4, True), (8, True), (16, True))),
}


def xavier(gain: float = 1.0):
  """Glorot uniform with PyTorch's gain: bound gain * sqrt(6 / (fan_in + fan_out))."""
  return nnx.initializers.variance_scaling(gain ** 2, 'fan_avg', 'uniform')


def layout(image_size: int, attention_resolution: int):
  """(G width multipliers, D blocks, index of G's and of D's block followed by attention)."""
  if image_size not in LAYOUTS:
    raise ValueError(f'model.image_size={image_size} is not supported by the SNGAN ResNets; '
                     f'valid: {sorted(LAYOUTS)}.')
  g_mults, d_blocks = LAYOUTS[image_size]
  g_sizes = [8 * 2 ** i for i in range(len(g_mults) - 1)]  # Output size of each up-block.
  d_sizes, size = [], image_size
  for _, down in d_blocks:
    size //= 2 if down else 1
    d_sizes.append(size)
  valid = sorted(set(g_sizes) & set(d_sizes))
  if attention_resolution == 0:
    return g_mults, d_blocks, None, None
  if attention_resolution not in valid:
    raise ValueError(f'model.attention_resolution={attention_resolution} at image_size '
                     f'{image_size}; valid: {[0] + valid} (0: no self-attention).')
  return (g_mults, d_blocks, g_sizes.index(attention_resolution),
          d_sizes.index(attention_resolution))


def upsample(x):
  return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def pool(x, reduce):
  """2x2 pooling with stride 2 by `reduce` (jnp.mean or jnp.max)."""
  b, h, w, c = x.shape
  return reduce(x.reshape(b, h // 2, 2, w // 2, 2, c), axis=(2, 4))


def conv(cin: int, cout: int, k: int, gain: float, rngs: nnx.Rngs, sn: bool, use_bias=True):
  layer = nnx.Conv(cin, cout, (k, k), padding='SAME', use_bias=use_bias,
                   kernel_init=xavier(gain), rngs=rngs)
  return SpectralNorm(layer, rngs=rngs) if sn else layer


def run(layer, x, train: bool):
  """A layer that may be spectrally normalised: u moves in training mode only."""
  return layer(x, update_stats=train) if isinstance(layer, SpectralNorm) else layer(x)


class SelfAttention(nnx.Module):
  """SAGAN's block (Zhang et al. 2019), with BigGAN's 2x2 max-pooled keys and values:
  x + gamma * out(softmax(query(x) key(pool x)^T) value(pool x)); gamma starts at 0.

  1x1 convolutions without bias: query and key (SAGAN's f, g) to C/8, value (h) to C/2, out (v)
  back to C. The spectrally normalised version goes in D; SNGAN's G has no spectral norm, and
  its batch statistics are averaged as BatchNorm's (standing statistics), which u must not be.
  """

  def __init__(self, channels: int, spectral_norm: bool, *, rngs: nnx.Rngs):
    if channels % 8:
      raise ValueError(f'Self-attention needs a multiple of 8 channels, got {channels}.')
    make = lambda cin, cout: conv(cin, cout, 1, 1.0, rngs, spectral_norm, use_bias=False)
    self.query = make(channels, channels // 8)
    self.key = make(channels, channels // 8)
    self.value = make(channels, channels // 2)
    self.out = make(channels // 2, channels)
    self.gamma = nnx.Param(jnp.zeros((), jnp.float32))

  def __call__(self, x, train: bool):
    b, h, w, _ = x.shape
    query = run(self.query, x, train).reshape(b, h * w, -1)
    key = pool(run(self.key, x, train), jnp.max).reshape(b, h * w // 4, -1)
    value = pool(run(self.value, x, train), jnp.max).reshape(b, h * w // 4, -1)
    attention = jax.nn.softmax(query @ key.transpose(0, 2, 1), axis=-1)  # (B, HW, HW / 4)
    out = run(self.out, (attention @ value).reshape(b, h, w, -1), train)
    return x + self.gamma[...] * out


def batch_norm(features: int, num_classes: int, rngs: nnx.Rngs):
  if num_classes:
    return conditional.ConditionalBatchNorm(features, num_classes, rngs=rngs)
  return nnx.BatchNorm(features, momentum=0.9, epsilon=1e-5, rngs=rngs)  # PyTorch's defaults.


def normalize(norm, x, labels, train: bool):
  if isinstance(norm, conditional.ConditionalBatchNorm):
    return norm(x, labels, train)
  return norm(x, use_running_average=not train)


class GBlock(nnx.Module):
  """BN, ReLU, upsample, conv3x3, BN, ReLU, conv3x3; shortcut: upsample, conv1x1."""

  def __init__(self, cin: int, cout: int, num_classes: int, *, rngs: nnx.Rngs):
    self.norm1 = batch_norm(cin, num_classes, rngs)
    self.conv1 = conv(cin, cout, 3, math.sqrt(2), rngs, sn=False)
    self.norm2 = batch_norm(cout, num_classes, rngs)
    self.conv2 = conv(cout, cout, 3, math.sqrt(2), rngs, sn=False)
    self.shortcut = conv(cin, cout, 1, 1.0, rngs, sn=False)

  def __call__(self, x, labels, train: bool):
    h = self.conv1(upsample(nnx.relu(normalize(self.norm1, x, labels, train))))
    h = self.conv2(nnx.relu(normalize(self.norm2, h, labels, train)))
    return h + self.shortcut(upsample(x))


class Generator(nnx.Module):
  """z (B, z_dim) -> image (B, S, S, C) in [-1, 1]: `G(z, train=True)`.

  num_classes > 0 makes the blocks' BatchNorms class-conditional; use ConditionalGenerator.
  """

  def __init__(self, image_size: int, channels: int, z_dim: int, features: int,
               attention_resolution: int = 0, *, rngs: nnx.Rngs, num_classes: int = 0,
               native_size: int = 0):
    mults, _, self.attention_after, _ = layout(image_size, attention_resolution)
    self.native_size = dcgan.check_native_size(native_size, image_size)
    widths = [features * m for m in mults]
    self.project = nnx.Linear(z_dim, 4 * 4 * widths[0], kernel_init=xavier(), rngs=rngs)
    self.blocks = nnx.List([GBlock(cin, cout, num_classes, rngs=rngs)
                            for cin, cout in zip(widths, widths[1:])])
    self.attention = (None if self.attention_after is None else
                      SelfAttention(widths[self.attention_after + 1], False, rngs=rngs))
    self.norm = batch_norm(widths[-1], 0, rngs)
    self.to_image = conv(widths[-1], channels, 3, 1.0, rngs, sn=False)

  def forward(self, z, labels, train: bool):
    x = self.project(z).reshape(z.shape[0], 4, 4, -1)
    for i, block in enumerate(self.blocks):
      x = block(x, labels, train)
      if i == self.attention_after:
        x = self.attention(x, train)
    x = nnx.relu(normalize(self.norm, x, None, train))
    return dcgan.through_native_size(jnp.tanh(self.to_image(x)), self.native_size)

  def __call__(self, z, train: bool = True):
    return self.forward(z, None, train)


class ConditionalGenerator(Generator):
  """Generator with class-conditional BatchNorm in its blocks: `G(z, labels, train=True)`."""

  def __init__(self, image_size: int, channels: int, z_dim: int, features: int,
               num_classes: int, attention_resolution: int = 0, *, rngs: nnx.Rngs,
               native_size: int = 0):
    super().__init__(image_size, channels, z_dim, features, attention_resolution, rngs=rngs,
                     num_classes=num_classes, native_size=native_size)

  def __call__(self, z, labels, train: bool = True):
    return self.forward(z, labels, train)


class OptimizedDBlock(nnx.Module):
  """D's first block: conv3x3, ReLU, conv3x3, pool (no ReLU on the image); shortcut: pool,
  conv1x1."""

  def __init__(self, cin: int, cout: int, *, rngs: nnx.Rngs):
    self.conv1 = conv(cin, cout, 3, math.sqrt(2), rngs, sn=True)
    self.conv2 = conv(cout, cout, 3, math.sqrt(2), rngs, sn=True)
    self.shortcut = conv(cin, cout, 1, 1.0, rngs, sn=True)

  def __call__(self, x, train: bool):
    h = self.conv2(nnx.relu(self.conv1(x, train)), train)
    return pool(h, jnp.mean) + self.shortcut(pool(x, jnp.mean), train)


class DBlock(nnx.Module):
  """ReLU, conv3x3, ReLU, conv3x3 (, pool); shortcut: conv1x1 (, pool) if the shape changes."""

  def __init__(self, cin: int, cout: int, downsample: bool, *, rngs: nnx.Rngs):
    self.downsample = downsample
    self.conv1 = conv(cin, cin, 3, math.sqrt(2), rngs, sn=True)
    self.conv2 = conv(cin, cout, 3, math.sqrt(2), rngs, sn=True)
    self.shortcut = (conv(cin, cout, 1, 1.0, rngs, sn=True) if cin != cout or downsample else
                     None)

  def __call__(self, x, train: bool):
    h = self.conv2(nnx.relu(self.conv1(nnx.relu(x), train)), train)
    skip = x if self.shortcut is None else self.shortcut(x, train)
    if self.downsample:
      h, skip = pool(h, jnp.mean), pool(skip, jnp.mean)
    return h + skip


class Discriminator(nnx.Module):
  """image (B, S, S, C) -> logits (B,), every layer spectrally normalised: `D(x, train=True)`.

  train=True moves the power iterations' u vectors (the module's batch statistics).
  """

  def __init__(self, image_size: int, channels: int, features: int,
               attention_resolution: int = 0, *, rngs: nnx.Rngs):
    _, blocks, _, self.attention_after = layout(image_size, attention_resolution)
    widths = [features * m for m, _ in blocks]
    self.blocks = nnx.List(
        [OptimizedDBlock(channels, widths[0], rngs=rngs)] +
        [DBlock(cin, cout, down, rngs=rngs)
         for cin, cout, (_, down) in zip(widths, widths[1:], blocks[1:])])
    self.attention = (None if self.attention_after is None else
                      SelfAttention(widths[self.attention_after], True, rngs=rngs))
    self.width = widths[-1]
    self.head = SpectralNorm(nnx.Linear(self.width, 1, kernel_init=xavier(), rngs=rngs),
                             rngs=rngs)

  def features(self, x, train: bool):
    """h (B, width): the last features after ReLU, summed over H and W."""
    for i, block in enumerate(self.blocks):
      x = block(x, train)
      if i == self.attention_after:
        x = self.attention(x, train)
    return jnp.sum(nnx.relu(x), axis=(1, 2))

  def __call__(self, x, train: bool = True):
    return self.head(self.features(x, train), train)[:, 0]


class ProjectionDiscriminator(Discriminator):
  """logit = psi(h) + <SN-embed(y), h> (Miyato & Koyama 2018): `D(x, labels, train=True)`."""

  def __init__(self, image_size: int, channels: int, features: int, num_classes: int,
               attention_resolution: int = 0, *, rngs: nnx.Rngs):
    super().__init__(image_size, channels, features, attention_resolution, rngs=rngs)
    self.embed = SpectralNorm(nnx.Embed(num_classes, self.width, embedding_init=xavier(),
                                        rngs=rngs), rngs=rngs)

  def __call__(self, x, labels, train: bool = True):
    h = self.features(x, train)
    return self.head(h, train)[:, 0] + jnp.sum(self.embed(labels, train) * h, axis=-1)
