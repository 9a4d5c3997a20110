"""Spectral normalisation against numpy's SVD, its gradient, and its u vectors in a train step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from configs import default
from jaxgan.gan import state as gan_state, steps
from jaxgan.models.spectral_norm import SpectralNorm
from jaxgan.run import sharding, state as state_lib


def make_layer(kind: str, rngs: nnx.Rngs):
  """(layer, an input for it) of each kind spectral norm wraps."""
  key = jax.random.PRNGKey(1)
  if kind == 'conv':  # kernel (3, 3, 3, 5)
    return nnx.Conv(3, 5, (3, 3), rngs=rngs), jax.random.normal(key, (2, 6, 6, 3))
  if kind == 'conv_transpose':  # kernel (4, 4, 4, 6)
    return (nnx.ConvTranspose(4, 6, (4, 4), strides=(2, 2), rngs=rngs),
            jax.random.normal(key, (2, 5, 5, 4)))
  if kind == 'dense':  # kernel (7, 5)
    return nnx.Linear(7, 5, rngs=rngs), jax.random.normal(key, (3, 7))
  if kind == 'embed':  # embedding (10, 6)
    return nnx.Embed(10, 6, rngs=rngs), jnp.array([0, 3, 9, 3])
  raise ValueError(kind)


def weight_of(layer) -> np.ndarray:
  return np.asarray((layer.embedding if isinstance(layer, nnx.Embed) else layer.kernel)[...])


def numpy_sigma(weight) -> float:
  return float(np.linalg.svd(np.asarray(weight, np.float64).reshape(-1, weight.shape[-1]),
                             compute_uv=False)[0])


def numpy_power_iteration(weight, u):
  """torch.nn.utils.spectral_norm's step on the (fan_in, out) matrix: (u, v, sigma)."""
  w = np.asarray(weight, np.float64).reshape(-1, weight.shape[-1])
  normalize = lambda x: x / max(np.linalg.norm(x), 1e-12)
  v = normalize(w @ np.asarray(u, np.float64))
  u = normalize(w.T @ v)
  return u, v, float(v @ w @ u)


def with_weight(layer, weight):
  """The unwrapped `layer` with its weight replaced by `weight` (traceable: a new module)."""
  graph, params = nnx.split(layer, nnx.Param)
  name = 'embedding' if isinstance(layer, nnx.Embed) else 'kernel'
  return nnx.merge(graph, nnx.to_pure_dict(params) | {name: jnp.asarray(weight, jnp.float32)})


def train_calls(sn, x, n: int):
  """`sn` after n training-mode calls, each one power iteration, run as a pure function."""
  graph, params, stats = state_lib.split(sn)
  body = lambda _, s: state_lib.apply(graph, params, s, x, update_stats=True)[1]
  stats = jax.jit(lambda s: jax.lax.fori_loop(0, n, body, s))(stats)
  return nnx.merge(graph, params, stats)


KINDS = ['conv', 'conv_transpose', 'dense', 'embed']


@pytest.mark.parametrize('kind', KINDS)
def test_sigma_converges_to_svd_and_output_is_layer_over_sigma(kind):
  layer, x = make_layer(kind, nnx.Rngs(0))
  sn = train_calls(SpectralNorm(layer, rngs=nnx.Rngs(2)), x, 500)
  weight = weight_of(sn.layer)
  sigma = numpy_sigma(weight)
  np.testing.assert_allclose(float(sn.sigma()), sigma, rtol=1e-3)
  # The same output through the unwrapped layer with its weight divided by numpy's sigma.
  expected = with_weight(sn.layer, weight / sigma)(x)
  np.testing.assert_allclose(sn(x, update_stats=False), expected, rtol=1e-3, atol=1e-5)
  np.testing.assert_array_equal(weight_of(sn.layer), weight)  # The raw weight is kept.


@pytest.mark.parametrize('kind', KINDS)
def test_one_call_is_one_power_iteration_and_eval_keeps_u(kind):
  layer, x = make_layer(kind, nnx.Rngs(0))
  sn = SpectralNorm(layer, rngs=nnx.Rngs(2))
  graph, params, stats = state_lib.split(sn)
  u0 = np.asarray(stats['u'])
  _, kept = state_lib.apply(graph, params, stats, x, update_stats=False)
  np.testing.assert_array_equal(kept['u'], u0)
  _, moved = state_lib.apply(graph, params, stats, x, update_stats=True)
  np.testing.assert_allclose(moved['u'], numpy_power_iteration(weight_of(layer), u0)[0],
                             atol=1e-6)


def test_repeated_stateful_calls_give_the_same_output():
  # nnx.SpectralNorm overwrites the kernel with W / sigma each call, so its outputs drift.
  layer, x = make_layer('conv', nnx.Rngs(0))
  sn = SpectralNorm(layer, rngs=nnx.Rngs(2))
  kernel = weight_of(layer)
  first, second = sn(x, update_stats=False), sn(x, update_stats=False)
  np.testing.assert_array_equal(first, second)
  np.testing.assert_array_equal(weight_of(sn.layer), kernel)


@pytest.mark.parametrize('kind', KINDS)
def test_gradient_reaches_the_raw_weight_as_pytorch(kind):
  """dL/dW = G / sigma - <G, W> / sigma^2 v u^T, G = dL/d(W / sigma), with u and v constant
  (sigma = v^T W u), from a u that has not converged, where treating u, v as functions of W
  would give a different gradient."""
  layer, x = make_layer(kind, nnx.Rngs(0))
  sn = SpectralNorm(layer, rngs=nnx.Rngs(2))
  name = 'embedding' if kind == 'embed' else 'kernel'
  graph, params, stats = state_lib.split(sn)
  out_shape = jax.eval_shape(lambda: sn(x, update_stats=False)).shape
  r = jax.random.normal(jax.random.PRNGKey(3), out_shape)

  loss = lambda p: jnp.sum(r * state_lib.apply(graph, p, stats, x, update_stats=True)[0])
  grad = np.asarray(jax.grad(loss)(params)['layer'][name], np.float64)

  weight = weight_of(layer)
  u, v, sigma = numpy_power_iteration(weight, stats['u'])
  plain = lambda w: jnp.sum(r * with_weight(layer, w)(x))
  g = np.asarray(jax.grad(plain)(jnp.asarray(weight / sigma, jnp.float32)), np.float64)
  w = weight.astype(np.float64)
  expected = g / sigma - np.sum(g * w) / sigma ** 2 * np.outer(v, u).reshape(w.shape)
  np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())


def tiny_sngan_config(name: str, penalty: str):
  config = default.get_config()
  m = config.model
  m.name, m.image_size, m.channels, m.z_dim, m.g_features, m.d_features = name, 32, 3, 8, 8, 8
  m.num_classes = 3 if name == 'sngan_projection' else 0
  m.attention_resolution = 16  # Puts SN 1x1 convs in D too.
  m.d_norm = 'none'  # steps.check_penalty_norm reads it; the SNGAN D has no norm layer at all.
  config.loss.name, config.loss.penalty = 'hinge', penalty
  config.optim.n_critic = 1
  config.batch_size = 4
  config.mesh.num_devices = 1
  return config


def u_paths(stats):
  """Paths (tuples of keys) of every spectral norm's u in a nested stats dict."""
  leaves = jax.tree_util.tree_flatten_with_path(stats)[0]
  return [tuple(k.key for k in path) for path, _ in leaves if path[-1].key == 'u']


def at(tree, path):
  for key in path:
    tree = tree[key]
  return tree


@pytest.mark.parametrize('name,penalty', [('sngan', 'none'),
                                          ('sngan_projection', 'gradient_penalty')])
def test_train_step_moves_d_u_by_its_real_and_fake_passes_only(name, penalty):
  """After one step (one D update, one G update), each of D's u is two power iterations (the
  real then the fake pass) of the pre-step u with the pre-step weights: the G step's D pass and
  the gradient penalty's inner pass do not move it."""
  config = tiny_sngan_config(name, penalty)
  gan, _, init = state_lib.build_state(gan_state.create, config, sharding.make_mesh(config))
  state = init()
  key = jax.random.PRNGKey(0)
  batch = {'image': jax.random.uniform(key, (1, 4, 32, 32, 3), minval=-1.0, maxval=1.0)}
  if config.model.num_classes:
    batch['label'] = jnp.array([[0, 1, 2, 1]], jnp.int32)
  d_params = jax.tree.map(np.asarray, state.d_params)
  d_stats = jax.tree.map(np.asarray, state.d_stats)
  new_state, _ = jax.jit(steps.make_train_step(config, gan))(state, batch)

  paths = u_paths(d_stats)
  assert len(paths) >= 10  # Every conv, the head, attention (and the projection embedding).
  gaps = []
  for path in paths:
    layer = at(d_params, path[:-1])['layer']
    weight = layer['embedding'] if 'embedding' in layer else layer['kernel']
    u1 = numpy_power_iteration(weight, at(d_stats, path))[0]
    u2 = numpy_power_iteration(weight, u1)[0]
    u3 = numpy_power_iteration(weight, u2)[0]
    np.testing.assert_allclose(at(new_state.d_stats, path), u2, atol=2e-5, err_msg=str(path))
    gaps.append(np.abs(u3 - u2).max())
  assert max(gaps) > 1e-2  # A third (G step or penalty) iteration would have shown.
  assert any(not np.array_equal(a, b) for a, b in  # D did update its weights.
             zip(jax.tree.leaves(new_state.d_params), jax.tree.leaves(d_params)))
