"""Every model at every resolution: output shapes, ranges and the DCGAN initialisation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from configs import default
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
  m = default.get_config().model
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
  m = default.get_config().model
  m.name, m.z_dim = 'toy', 2
  g, d = models.build_models(m, nnx.Rngs(0))
  assert g(jnp.zeros((5, 2))).shape == (5, 2)
  assert d(jnp.zeros((5, 2))).shape == (5,)


def test_unknown_model_lists_valid_names():
  m = default.get_config().model
  m.name = 'dcgann'
  with pytest.raises(ValueError, match="'dcgan'"):
    models.build_models(m, nnx.Rngs(0))


def test_pixel_shuffle_layout():
  x = jnp.arange(2 * 4).reshape(1, 1, 2, 4).astype(jnp.float32)  # C=1, r=2
  y = layers.pixel_shuffle(x, 2)
  np.testing.assert_array_equal(np.asarray(y)[0, :, :, 0], [[0, 1, 4, 5], [2, 3, 6, 7]])
