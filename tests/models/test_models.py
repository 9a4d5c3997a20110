"""Every model at every resolution: output shapes, ranges and the DCGAN initialisation."""

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image
import pytest
from flax import nnx

from testlib import get_config
from jaxgan import models
from jaxgan.models import dcgan, layers

VARIANTS = {  # (g_input, g_upsample, kernel, d_norm)
    'report000': ('conv_transpose', 'conv_transpose', 4, 'batch'),
    'report004_linear5x5': ('linear', 'conv_transpose', 5, 'batch'),
    'subpixel_layernorm': ('conv_transpose', 'subpixel', 4, 'layer'),
    'critic_no_norm': ('linear', 'subpixel', 4, 'none'),
}


@pytest.mark.parametrize('size', [16, 32, 64, 96])
@pytest.mark.parametrize('channels', [1, 3])
@pytest.mark.parametrize('variant', sorted(VARIANTS))
def test_dcgan_shapes(size, channels, variant):
  g_input, upsample, kernel, norm = VARIANTS[variant]
  m = get_config('default').model
  m.image_size, m.channels, m.z_dim, m.g_features, m.d_features = size, channels, 16, 4, 4
  m.g_input, m.g_upsample, m.g_kernel_size, m.d_kernel_size, m.d_norm = (
      g_input, upsample, kernel, kernel, norm)
  g, d = nnx.eval_shape(lambda: models.build_models(m, nnx.Rngs(0)))
  out = nnx.eval_shape(lambda g: g(jnp.zeros((2, 16)), train=True), g)
  assert out.shape == (2, size, size, channels)
  logits = nnx.eval_shape(lambda d: d(jnp.zeros((2, size, size, channels)), train=True), d)
  assert logits.shape == (2,)


def test_report000_architecture_widths():
  g = dcgan.Generator(64, 3, 100, 64, rngs=nnx.Rngs(0))
  d = dcgan.Discriminator(64, 3, 64, rngs=nnx.Rngs(0))
  assert g.project.kernel.shape == (4, 4, 100, 512)
  assert [u.conv.kernel.shape[-1] for u in g.ups] == [256, 128, 64]
  assert g.to_image.conv.kernel.shape == (4, 4, 64, 3)
  assert [c.kernel.shape[-1] for c in d.convs] == [64, 128, 256, 512]
  assert d.norms[0] is None and all(isinstance(n, nnx.BatchNorm) for n in d.norms[1:])
  z = jax.random.normal(jax.random.PRNGKey(0), (4, 100))
  images = g(z, train=True)
  assert images.shape == (4, 64, 64, 3)
  assert float(jnp.max(jnp.abs(images))) <= 1.0  # tanh


def test_dcgan_initialisation_statistics():
  g = dcgan.Generator(32, 3, 100, 64, rngs=nnx.Rngs(0))
  kernel = np.asarray(g.ups[0].conv.kernel[...])
  assert abs(kernel.std() - 0.02) < 0.002 and abs(kernel.mean()) < 0.002
  scale = np.asarray(g.norms[0].scale[...])
  assert abs(scale.mean() - 1.0) < 0.01 and 0.01 < scale.std() < 0.03


def test_pytorch_conv_transpose_geometry():
  # ConvTranspose2d(k=4, s=2, p=1) maps H -> 2H; our explicit padding must do the same.
  up = dcgan.Upsample(2, 3, 4, 'conv_transpose', False, nnx.Rngs(0))
  assert up(jnp.zeros((1, 5, 5, 2))).shape == (1, 10, 10, 3)


def test_bad_image_size():
  with pytest.raises(ValueError, match='image_size'):
    dcgan.num_doublings(40)


def test_toy_models():
  m = get_config('default').model
  m.name, m.z_dim = 'toy', 2
  g, d = models.build_models(m, nnx.Rngs(0))
  assert g(jnp.zeros((5, 2))).shape == (5, 2)
  assert d(jnp.zeros((5, 2))).shape == (5,)


def test_unknown_model_lists_valid_names():
  m = get_config('default').model
  m.name = 'dcgann'
  with pytest.raises(ValueError, match="'dcgan'"):
    models.build_models(m, nnx.Rngs(0))


def test_pixel_shuffle_layout():
  x = jnp.arange(2 * 4).reshape(1, 1, 2, 4).astype(jnp.float32)  # C=1, r=2
  y = layers.pixel_shuffle(x, 2)
  np.testing.assert_array_equal(np.asarray(y)[0, :, :, 0], [[0, 1, 4, 5], [2, 3, 6, 7]])


def bilinear_up2(small: np.ndarray) -> np.ndarray:
  """numpy oracle: 2x bilinear upsampling with half-pixel centres and clamped edges, as
  jax.image.resize: output pixel i reads source (i + 0.5) / 2 - 0.5, i.e. 3/4 and 1/4 weights."""
  def along(a, axis):
    n = a.shape[axis]
    src = (np.arange(2 * n) + 0.5) / 2 - 0.5
    lo = np.clip(np.floor(src).astype(int), 0, n - 1)
    hi = np.clip(lo + 1, 0, n - 1)
    w = np.clip(src - np.floor(src), 0, 1)
    w = np.where(src < 0, 0.0, w)  # Clamped at the first pixel.
    shape = [1] * a.ndim
    shape[axis] = -1
    return (np.take(a, lo, axis) * (1 - w).reshape(shape) +
            np.take(a, hi, axis) * w.reshape(shape))
  return along(along(small, 1), 2)


def test_through_native_size_is_block_mean_then_bilinear():
  rng = np.random.default_rng(0)
  x = rng.uniform(-1, 1, (3, 16, 16, 1)).astype(np.float32)
  small = x.reshape(3, 8, 2, 8, 2, 1).mean(axis=(2, 4))
  np.testing.assert_allclose(dcgan.through_native_size(jnp.asarray(x), 8), bilinear_up2(small),
                             atol=1e-6)
  # Only the 8x8 block means matter: a pattern summing to 0 in every 2x2 block changes nothing.
  checker = np.where((np.arange(16)[:, None] + np.arange(16)) % 2, 0.3, -0.3)[None, :, :, None]
  np.testing.assert_allclose(dcgan.through_native_size(jnp.asarray(x + checker), 8),
                             dcgan.through_native_size(jnp.asarray(x), 8), atol=1e-6)
  np.testing.assert_array_equal(dcgan.through_native_size(jnp.asarray(x), 0), x)


def test_through_a_native_size_that_does_not_divide_is_pil_bilinear_upsampling():
  """28 px at 32 px (Fashion-MNIST): PIL's bilinear upsamplings of 28 px images pass unchanged,
  and every output is one of them (the orthogonal projection onto them)."""
  rng = np.random.default_rng(0)
  small = rng.uniform(-1, 1, (2, 28, 28)).astype(np.float32)
  up = np.stack([np.asarray(Image.fromarray(im, mode='F').resize((32, 32), Image.BILINEAR))
                 for im in small])[..., None]
  np.testing.assert_allclose(dcgan.through_native_size(jnp.asarray(up), 28), up, atol=2e-5)
  x = rng.uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32)
  out = np.asarray(dcgan.through_native_size(jnp.asarray(x), 28))
  assert np.abs(out - x).max() > 0.1  # Free 32 px detail is removed ...
  # ... and what is left is PIL's upsampling of some 28 px image (least squares, then exact).
  one_d = np.stack([np.asarray(Image.fromarray(np.eye(28, dtype=np.float32)[i:i + 1], mode='F')
                               .resize((32, 1), Image.BILINEAR))[0] for i in range(28)], 1)
  source = np.linalg.pinv(one_d) @ out[..., 0] @ np.linalg.pinv(one_d).T
  np.testing.assert_allclose(one_d @ source @ one_d.T, out[..., 0], atol=2e-5)
  # Idempotent: a projection.
  np.testing.assert_allclose(dcgan.through_native_size(jnp.asarray(out), 28), out, atol=2e-5)


def test_generator_with_native_size_draws_on_the_native_grid():
  m = get_config('default').model
  m.image_size, m.channels, m.z_dim, m.g_features, m.g_native_size = 16, 1, 8, 4, 8
  g, _ = models.build_models(m, nnx.Rngs(0))
  z = jax.random.normal(jax.random.key(0), (4, 8))
  out = np.asarray(g(z, train=True), np.float64)[..., 0]  # batch statistics: O(0.1) outputs
  up = bilinear_up2(np.eye(8)[None, :, :, None])[0, :, :, 0].T  # (16, 8): the upsampling map
  small = np.linalg.pinv(up) @ out @ np.linalg.pinv(up).T  # the best 8x8 source
  np.testing.assert_allclose(up @ small @ up.T, out, atol=1e-6)  # exactly a bilinear 8 px image
  assert np.abs(out).max() > 1e-2  # not trivially zero
  m.g_native_size = 0  # Without it, the same G draws off that grid.
  free = np.asarray(models.build_models(m, nnx.Rngs(0))[0](z, train=True), np.float64)[..., 0]
  residual = free - up @ (np.linalg.pinv(up) @ free @ np.linalg.pinv(up).T) @ up.T
  assert np.abs(residual).max() > 1e-3
  m.g_native_size = 16
  with pytest.raises(ValueError, match='g_native_size=16 must be below model.image_size=16'):
    models.build_models(m, nnx.Rngs(0))
