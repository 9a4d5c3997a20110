"""The phase (stride-1) forms of the kernel-4 stride-2 convolutions equal the reference layers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxgan.run import state as state_lib
from jaxgan.models import dcgan, phase_conv


def numpy_conv_transpose(x, kernel):
  """Oracle by definition: PyTorch ConvTranspose2d(4, 2, padding=1) scatter, Flax kernel order.

  Flax (transpose_kernel=False) correlates the stride-dilated input with an unflipped kernel,
  so input pixel i reaches output 2i + 2 - t through tap t (t = 0..3).
  """
  n, h, w, _ = x.shape
  out = np.zeros((n, 2 * h, 2 * w, kernel.shape[3]))
  for i in range(h):
    for j in range(w):
      for t in range(4):
        for u in range(4):
          y, v = 2 * i + 2 - t, 2 * j + 2 - u
          if 0 <= y < 2 * h and 0 <= v < 2 * w:
            out[:, y, v] += x[:, i, j] @ kernel[t, u]
  return out


def random(shape, seed):
  return jax.random.normal(jax.random.PRNGKey(seed), shape, jnp.float32)


@pytest.mark.parametrize('shape', [(2, 3, 5, 4), (1, 4, 4, 3)])
def test_conv_transpose_matches_definition_and_flax(shape):
  x, kernel, bias = random(shape, 0), random((4, 4, shape[-1], 6), 1), random((6,), 2)
  layer = nnx.ConvTranspose(shape[-1], 6, (4, 4), strides=(2, 2), padding=[(2, 2), (2, 2)],
                            rngs=nnx.Rngs(0))
  layer.kernel.value, layer.bias.value = kernel, bias
  fast = phase_conv.conv_transpose_k4s2(x, kernel, bias)
  np.testing.assert_allclose(fast, layer(x), atol=1e-5)
  np.testing.assert_allclose(fast, numpy_conv_transpose(np.asarray(x), np.asarray(kernel)) + bias,
                             atol=1e-5)


@pytest.mark.parametrize('shape', [(2, 6, 4, 3), (1, 8, 8, 5)])
def test_strided_conv_matches_flax(shape):
  x, kernel, bias = random(shape, 3), random((4, 4, shape[-1], 7), 4), random((7,), 5)
  layer = nnx.Conv(shape[-1], 7, (4, 4), strides=(2, 2), padding=[(1, 1), (1, 1)],
                   rngs=nnx.Rngs(0))
  layer.kernel.value, layer.bias.value = kernel, bias
  np.testing.assert_allclose(phase_conv.conv_k4s2(x, kernel, bias), layer(x), atol=1e-5)


def xla_conv_transpose(x, k):
  return jax.lax.conv_transpose(x, k, (2, 2), [(2, 2), (2, 2)],
                                dimension_numbers=phase_conv.DIMENSIONS)


def xla_conv(x, k):
  return jax.lax.conv_general_dilated(x, k, (2, 2), [(1, 1), (1, 1)],
                                      dimension_numbers=phase_conv.DIMENSIONS)


@pytest.mark.parametrize('fn, reference', [
    (phase_conv.conv_transpose_k4s2, xla_conv_transpose),
    (phase_conv.conv_k4s2, xla_conv),
    (phase_conv.fast_conv_transpose_k4s2, xla_conv_transpose),
    (phase_conv.fast_conv_k4s2, xla_conv),
])
def test_gradients_match(fn, reference):
  x, kernel = random((2, 4, 6, 3), 6), random((4, 4, 3, 5), 7)
  weights = random(fn(x, kernel).shape, 8)
  grads = [jax.grad(lambda x, k: jnp.sum(weights * f(x, k)), (0, 1))(x, kernel)
           for f in (fn, reference)]
  for fast, ref in zip(*grads):
    np.testing.assert_allclose(fast, ref, atol=1e-4)


@pytest.mark.parametrize('fn, reference', [
    (phase_conv.fast_conv_transpose_k4s2, xla_conv_transpose),
    (phase_conv.fast_conv_k4s2, xla_conv),
])
def test_hand_written_derivatives_match_autodiff_at_second_and_third_order(fn, reference):
  """The WGAN-GP penalty differentiates the input gradient again; every order must agree."""
  x, kernel = random((2, 4, 6, 3), 10), random((4, 4, 3, 5), 11)
  weights = random(reference(x, kernel).shape, 12)

  def penalty(f, x, k):  # ||d/dx sum(weights * f(x, k)^2)||^2, as a gradient penalty.
    return jnp.sum(jax.grad(lambda x: jnp.sum(weights * f(x, k) ** 2))(x) ** 2)
  second = [jax.grad(lambda x, k: penalty(f, x, k), (0, 1))(x, kernel) for f in (fn, reference)]
  third = [jax.grad(lambda k: jnp.sum(jax.grad(lambda x: penalty(f, x, k))(x) ** 2))(kernel)
           for f in (fn, reference)]
  for fast, ref in zip(jax.tree.leaves(second[0] + (third[0],)),
                       jax.tree.leaves(second[1] + (third[1],))):
    np.testing.assert_allclose(fast, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


@pytest.mark.parametrize('cin, height', [(2, 6), (3, 7), (phase_conv.SMALL_INPUT_CHANNELS + 2, 6)],
                         ids=['patches', 'odd_size_xla', 'xla'])
def test_weight_grad_is_the_kernel_gradient_of_the_strided_conv(cin, height):
  x, g = random((3, height, 4, cin), 13), random((3, 3, 2, 5), 14)
  expected = jax.grad(lambda k: jnp.sum(g * xla_conv(x, k)))(jnp.zeros((4, 4, cin, 5)))
  np.testing.assert_allclose(phase_conv.weight_grad(x, g), expected, rtol=1e-5, atol=1e-5)


def test_odd_sizes_and_kernels_are_refused():
  with pytest.raises(ValueError, match='even height and width'):
    phase_conv.conv_k4s2(jnp.zeros((1, 5, 4, 1)), jnp.zeros((4, 4, 1, 1)))
  with pytest.raises(ValueError, match='4x4 kernel'):
    phase_conv.conv_transpose_k4s2(jnp.zeros((1, 4, 4, 1)), jnp.zeros((5, 5, 1, 1)))
  with pytest.raises(ValueError, match='model.conv_impl'):
    dcgan.Discriminator(16, 1, 4, conv_impl='fastest', rngs=nnx.Rngs(0))


@pytest.mark.parametrize('impl', ['phase_all', 'fast'])
@pytest.mark.parametrize('norm', ['batch', 'layer'])
def test_dcgan_fast_impls_equal_xla_with_the_same_parameters(norm, impl):
  """Same parameter tree, same outputs and gradients: a checkpoint works with either impl."""
  def build(impl):
    g = dcgan.Generator(16, 3, 8, 4, rngs=nnx.Rngs(0), conv_impl=impl)
    d = dcgan.Discriminator(16, 3, 4, norm, rngs=nnx.Rngs(1), conv_impl=impl)
    return state_lib.split(g), state_lib.split(d)
  (g_graph, g_params, g_stats), (d_graph, d_params, d_stats) = build(impl)
  (g_ref, g_params_ref, _), (d_ref, d_params_ref, _) = build('xla')
  assert jax.tree.structure(g_params) == jax.tree.structure(g_params_ref)
  assert jax.tree.structure(d_params) == jax.tree.structure(d_params_ref)
  z = random((4, 8), 9)

  def loss(g_graph, d_graph, g_params, d_params):
    image, _ = state_lib.apply(g_graph, g_params, g_stats, z, train=True)
    logits, _ = state_lib.apply(d_graph, d_params, d_stats, image, train=True)
    return jnp.sum(logits), image

  grad = jax.grad(loss, (2, 3), has_aux=True)
  (g_fast, d_fast), image = grad(g_graph, d_graph, g_params, d_params)
  (g_xla, d_xla), image_ref = grad(g_ref, d_ref, g_params, d_params)
  np.testing.assert_allclose(image, image_ref, atol=1e-5)
  for fast, ref in zip(jax.tree.leaves((g_fast, d_fast)), jax.tree.leaves((g_xla, d_xla))):
    np.testing.assert_allclose(fast, ref, atol=1e-4, rtol=1e-3)
