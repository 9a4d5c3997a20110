"""DCGAN generator and discriminator (Radford et al. 2016) and the seed reports' variants.

Report 000: a ConvTranspose stack 512-256-128-64 with kernel 4, BN + ReLU, tanh output; D with
LeakyReLU 0.2 and BN on every block but the first. Report 004: a generator that starts with a
linear layer to 4x4x512 and uses 5x5 kernels. Critics for WGAN-GP drop BatchNorm (none or layer
norm), since the gradient penalty is defined per sample. All images are NHWC in [-1, 1].
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from PIL import Image

from jaxgan.models import layers, phase_conv

# DCGAN init: weights N(0, 0.02), norm scales N(1, 0.02), biases 0.
conv_init = nnx.initializers.normal(0.02)


def scale_init(key, shape, dtype=jnp.float32):
  return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


def num_doublings(image_size: int) -> tuple[int, int]:
  """Splits image_size into base * 2**n with base in {4, 3} (96 px starts at 3x3)."""
  for base in (4, 3):
    n = math.log2(image_size / base) if image_size % base == 0 else -1
    if n >= 1 and n == int(n):
      return base, int(n)
  raise ValueError(
      f'model.image_size={image_size} is not 4 * 2**n or 3 * 2**n (e.g. 16, 32, 64, 96).')


def through_native_size(images, native_size: int):
  """Images put back where data upsampled from `native_size` px live (0: unchanged).

  For data that were upsampled from a smaller native size, this keeps the generator from
  drawing detail the data never hold, so D judges shapes, not interpolation artefacts (digits:
  +6 points of confidently read samples at 6,000 steps, README). Where `native_size` divides the
  size (the 8x8 digits at 16 px) the images are averaged down and upsampled bilinearly with
  `jax.image.resize`, as the digits pipeline does; otherwise (Fashion-MNIST's 28 px at 32 px)
  they are projected onto the upsamplings of PIL's bilinear filter, which that pipeline uses.
  """
  if not native_size:
    return images
  b, h, w, c = images.shape
  if h % native_size == 0 and w % native_size == 0:
    f = h // native_size
    small = images.reshape(b, h // f, f, w // f, f, c).mean(axis=(2, 4))
    return jax.image.resize(small, images.shape, method='bilinear')
  rows, cols = (jnp.asarray(native_projection(native_size, n), images.dtype) for n in (h, w))
  return jnp.einsum('ij,bjkc,lk->bilc', rows, images, cols)


@functools.cache
def native_projection(native_size: int, size: int) -> np.ndarray:
  """(size, size) orthogonal projection onto the 1-D PIL bilinear upsamplings of native_size
  samples: PIL's 2-D bilinear resize is this separable filter along each axis."""
  up = np.zeros((size, native_size), np.float64)
  for i in range(native_size):
    unit = np.zeros((1, native_size), np.float32)
    unit[0, i] = 1.0
    up[:, i] = np.asarray(Image.fromarray(unit, mode='F').resize((size, 1), Image.BILINEAR))[0]
  return (up @ np.linalg.pinv(up)).astype(np.float32)


def check_native_size(native_size: int, image_size: int) -> int:
  """model.g_native_size, refused at construction unless it is below the image size."""
  if native_size and not 0 < native_size < image_size:
    raise ValueError(f'model.g_native_size={native_size} must be below model.image_size='
                     f'{image_size} (or 0: off).')
  return native_size


def make_norm(kind: str, features: int, rngs: nnx.Rngs, dtype=None):
  if kind == 'batch':
    # momentum 0.9 in Flax is PyTorch's momentum 0.1.
    return nnx.BatchNorm(features, momentum=0.9, epsilon=1e-5, scale_init=scale_init,
                         dtype=dtype, rngs=rngs)
  if kind == 'layer':  # Per-sample statistics over H, W and C, as in the WGAN-GP critic.
    return nnx.LayerNorm(features, epsilon=1e-5, reduction_axes=(-3, -2, -1), scale_init=scale_init,
                         dtype=dtype, rngs=rngs)
  if kind == 'none':
    return None
  raise ValueError(f"Unknown norm {kind!r}; expected 'batch', 'layer' or 'none'.")


# How kernel-4 stride-2 (transposed) convolutions are computed; all give the same function of
# the same parameters (jaxgan.models.phase_conv). 'fast': G's transposed convolutions in phase
# form and D's strided ones as XLA's, both with hand-written derivatives that stay on fast
# kernels at every order (the measured win on XLA:CPU, 2.2x on G's backward and 5x on the
# WGAN-GP double backward); 'phase': the phase forms differentiated by JAX; 'phase_all': D's
# strided convolutions in phase form too; 'xla': lax.conv_transpose / strided lax.conv.
CONV_IMPLS = ('fast', 'phase', 'phase_all', 'xla')


def check_conv_impl(conv_impl: str) -> None:
  if conv_impl not in CONV_IMPLS:
    raise ValueError(f'Unknown model.conv_impl={conv_impl!r}; expected one of {CONV_IMPLS}.')


def phase_call(conv, x, phase_fn):
  """Runs nnx Conv/ConvTranspose `conv` through `phase_fn`, with the layer's own dtype rules."""
  bias = conv.bias[...] if conv.bias is not None else None
  x, kernel, bias = conv.promote_dtype((x, conv.kernel[...], bias), dtype=conv.dtype)
  return phase_fn(x, kernel, bias)


def apply_norm(norm, x, train: bool):
  if norm is None:
    return x
  if isinstance(norm, nnx.BatchNorm):
    return norm(x, use_running_average=not train)
  return norm(x)


class Upsample(nnx.Module):
  """2x upsampling: a stride-2 transposed convolution, or a conv followed by depth-to-space."""

  def __init__(self, cin: int, cout: int, kernel_size: int, mode: str, use_bias: bool,
               rngs: nnx.Rngs, conv_impl: str = 'fast', dtype=None):
    check_conv_impl(conv_impl)
    self.mode = mode
    self.phase = None  # The k4 s2 transposed convolution's implementation, if not nnx's.
    if mode == 'conv_transpose' and kernel_size == 4 and conv_impl != 'xla':
      self.phase = (phase_conv.fast_conv_transpose_k4s2 if conv_impl == 'fast' else
                    phase_conv.conv_transpose_k4s2)
    k = (kernel_size, kernel_size)
    if mode == 'conv_transpose':
      # Explicit padding k - 1 - p with p = (k - 2) // 2 matches PyTorch's
      # ConvTranspose2d(k, stride=2, padding=p): H -> 2H for k = 4 (p=1) and k = 5 (with SAME).
      pad = 'SAME' if kernel_size % 2 else [(kernel_size - 1 - (kernel_size - 2) // 2,) * 2] * 2
      self.conv = nnx.ConvTranspose(cin, cout, k, strides=(2, 2), padding=pad, use_bias=use_bias,
                                    kernel_init=conv_init, dtype=dtype, rngs=rngs)
    elif mode == 'subpixel':
      self.conv = nnx.Conv(cin, 4 * cout, (3, 3), padding='SAME', use_bias=use_bias,
                           kernel_init=conv_init, dtype=dtype, rngs=rngs)
    else:
      raise ValueError(f"Unknown g_upsample {mode!r}; expected 'conv_transpose' or 'subpixel'.")

  def __call__(self, x):
    if self.phase:
      return phase_call(self.conv, x, self.phase)
    x = self.conv(x)
    return layers.pixel_shuffle(x, 2) if self.mode == 'subpixel' else x


class Generator(nnx.Module):
  """z (B, z_dim) -> image (B, S, S, C) in [-1, 1]."""

  def __init__(self, image_size: int, channels: int, z_dim: int, features: int = 64,
               input_layer: str = 'conv_transpose', upsample: str = 'conv_transpose',
               kernel_size: int = 4, *, rngs: nnx.Rngs, conv_impl: str = 'fast',
               dtype=None, native_size: int = 0):
    base, n = num_doublings(image_size)
    self.native_size = check_native_size(native_size, image_size)
    widths = [features * 2 ** (n - 1 - i) for i in range(n)]  # e.g. 512, 256, 128, 64
    self.base, self.input_layer = base, input_layer
    if input_layer == 'conv_transpose':  # 1x1 -> base x base, as PyTorch's kernel-4 "VALID".
      self.project = nnx.ConvTranspose(z_dim, widths[0], (base, base), padding='VALID',
                                       use_bias=False, kernel_init=conv_init, dtype=dtype,
                                       rngs=rngs)
    elif input_layer == 'linear':
      self.project = nnx.Linear(z_dim, base * base * widths[0], use_bias=False,
                                kernel_init=conv_init, dtype=dtype, rngs=rngs)
    else:
      raise ValueError(f"Unknown g_input {input_layer!r}; expected 'conv_transpose' or 'linear'.")
    self.norms = nnx.List([make_norm('batch', w, rngs, dtype) for w in widths])
    self.ups = nnx.List([Upsample(widths[i], widths[i + 1], kernel_size, upsample, False, rngs,
                                  conv_impl, dtype) for i in range(n - 1)])
    self.to_image = Upsample(widths[-1], channels, kernel_size, upsample, False, rngs, conv_impl,
                             dtype)

  def __call__(self, z, train: bool = True):
    if self.input_layer == 'linear':
      x = self.project(z).reshape(z.shape[0], self.base, self.base, -1)
    else:
      x = self.project(z[:, None, None, :])
    x = nnx.relu(apply_norm(self.norms[0], x, train))
    for up, norm in zip(self.ups, self.norms[1:]):
      x = nnx.relu(apply_norm(norm, up(x), train))
    # f32 even when computing in bf16.
    return through_native_size(jnp.tanh(self.to_image(x)).astype(jnp.float32), self.native_size)


class Discriminator(nnx.Module):
  """image (B, S, S, C) -> logits (B,). No sigmoid: losses take logits."""

  def __init__(self, image_size: int, channels: int, features: int = 64, norm: str = 'batch',
               kernel_size: int = 4, *, rngs: nnx.Rngs, conv_impl: str = 'fast',
               dtype=None):
    check_conv_impl(conv_impl)
    base, n = num_doublings(image_size)
    widths = [features * 2 ** i for i in range(n)]  # e.g. 64, 128, 256, 512
    self.phase = None  # The k4 s2 convolution's implementation, if not nnx's.
    if kernel_size == 4 and conv_impl in ('fast', 'phase_all'):
      self.phase = (phase_conv.fast_conv_k4s2 if conv_impl == 'fast' else
                    phase_conv.conv_k4s2)
    cins = [channels] + widths[:-1]
    # PyTorch Conv2d(k=4, s=2, p=1) halves H; k=5 uses SAME.
    pad = 'SAME' if kernel_size % 2 else [((kernel_size - 1) // 2,) * 2] * 2
    use_bias = norm != 'batch'
    self.convs = nnx.List([
        nnx.Conv(cin, w, (kernel_size, kernel_size), strides=(2, 2), padding=pad,
                 use_bias=use_bias, kernel_init=conv_init, dtype=dtype, rngs=rngs)
        for cin, w in zip(cins, widths)])
    # No normalisation on the first block (DCGAN).
    self.norms = nnx.List([None] + [make_norm(norm, w, rngs, dtype) for w in widths[1:]])
    self.to_logit = nnx.Conv(widths[-1], 1, (base, base), padding='VALID', use_bias=use_bias,
                             kernel_init=conv_init, dtype=dtype, rngs=rngs)

  def features(self, x, train: bool = True):
    """The last feature map (B, base, base, C), for heads added by conditional variants."""
    for conv, norm in zip(self.convs, self.norms):
      x = phase_call(conv, x, self.phase) if self.phase else conv(x)
      x = nnx.leaky_relu(apply_norm(norm, x, train), 0.2)
    return x

  def __call__(self, x, train: bool = True):
    logits = self.to_logit(self.features(x, train)).reshape(x.shape[0])
    return logits.astype(jnp.float32)  # Losses in f32 even when computing in bf16.
