"""Losses and penalties against hand-computed values and finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import losses

REAL = jnp.array([2.0, -1.0, 0.5])
FAKE = jnp.array([-0.5, 1.5])


def softplus(x):
  return np.log1p(np.exp(x))


def test_bce_discriminator():
  # -log sigmoid(r) = softplus(-r); -log(1 - sigmoid(f)) = softplus(f).
  expected = np.mean(softplus(-np.asarray(REAL))) + np.mean(softplus(np.asarray(FAKE)))
  for name in ('minimax', 'non_saturating'):
    np.testing.assert_allclose(losses.get_loss(name).d(REAL, FAKE), expected, rtol=1e-6)


def test_generator_losses():
  f = np.asarray(FAKE)
  sig = 1 / (1 + np.exp(-f))
  cases = {
      'minimax': np.mean(np.log(1 - sig)),
      'non_saturating': -np.mean(np.log(sig)),
      'wasserstein': -np.mean(f),
      'hinge': -np.mean(f),
      'least_squares': 0.5 * np.mean((f - 1) ** 2),
  }
  for name, expected in cases.items():
    np.testing.assert_allclose(losses.get_loss(name).g(FAKE), expected, rtol=1e-6, err_msg=name)


def test_critic_losses():
  r, f = np.asarray(REAL), np.asarray(FAKE)
  np.testing.assert_allclose(losses.get_loss('wasserstein').d(REAL, FAKE), f.mean() - r.mean(),
                             rtol=1e-6)
  hinge = np.maximum(0, 1 - r).mean() + np.maximum(0, 1 + f).mean()
  np.testing.assert_allclose(losses.get_loss('hinge').d(REAL, FAKE), hinge, rtol=1e-6)
  ls = 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean()
  np.testing.assert_allclose(losses.get_loss('least_squares').d(REAL, FAKE), ls, rtol=1e-6)


def test_unknown_names_list_valid_ones():
  with pytest.raises(ValueError, match='hinge'):
    losses.get_loss('hingee')
  with pytest.raises(ValueError, match='gradient_penalty'):
    losses.get_penalty('gp')


def quadratic_critic(w):
  # A nonlinear per-sample critic: D(x) = sum(tanh(x W)).
  return lambda x: jnp.sum(jnp.tanh(x.reshape(x.shape[0], -1) @ w), axis=-1)


def finite_difference_norms(critic, x, h=1e-5):
  x = np.asarray(x, np.float64)
  flat = x.reshape(x.shape[0], -1)
  norms = []
  for i in range(x.shape[0]):
    grad = np.zeros(flat.shape[1])
    for j in range(flat.shape[1]):
      e = np.zeros_like(flat)
      e[i, j] = h
      plus = np.asarray(critic(jnp.asarray((flat + e).reshape(x.shape))))[i]
      minus = np.asarray(critic(jnp.asarray((flat - e).reshape(x.shape))))[i]
      grad[j] = (plus - minus) / (2 * h)
    norms.append(np.linalg.norm(grad))
  return np.array(norms)


def test_gradient_penalty_matches_finite_differences():
  with jax.enable_x64():
    k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(0), 4)
    w = jax.random.normal(k1, (12, 3), jnp.float64)
    real = jax.random.normal(k2, (4, 2, 2, 3), jnp.float64)
    fake = jax.random.normal(k3, (4, 2, 2, 3), jnp.float64)
    critic = quadratic_critic(w)
    eps = np.asarray(jax.random.uniform(k4, (4, 1, 1, 1), jnp.float64))
    x_hat = eps * np.asarray(real) + (1 - eps) * np.asarray(fake)
    expected = np.mean((finite_difference_norms(critic, x_hat) - 1) ** 2)
    got = losses.gradient_penalty(critic, real, fake, k4)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # R1 on the real points: 0.5 E ||grad||^2.
    r1 = 0.5 * np.mean(finite_difference_norms(critic, real) ** 2)
    np.testing.assert_allclose(losses.r1_penalty(critic, real, fake, k4), r1, rtol=1e-6)


def test_gradient_penalty_zero_for_unit_slope_critic():
  # D(x) = <x, u> with |u| = 1 has gradient norm exactly 1 everywhere.
  u = jnp.ones((8,)) / jnp.sqrt(8.0)
  critic = lambda x: x.reshape(x.shape[0], -1) @ u
  real, fake = jnp.ones((3, 8)), jnp.zeros((3, 8))
  assert float(losses.gradient_penalty(critic, real, fake, jax.random.PRNGKey(1))) < 1e-10


def test_weight_clipping_bounds():
  params = {'a': jnp.array([-1.0, 0.005, 2.0]), 'b': {'c': jnp.array([[0.3, -0.02]])}}
  clipped = losses.clip_weights(params, 0.01)
  for leaf in jax.tree.leaves(clipped):
    assert float(jnp.max(jnp.abs(leaf))) <= np.float32(0.01)
  np.testing.assert_array_equal(clipped['a'], np.float32([-0.01, 0.005, 0.01]))
  assert losses.clip_weights(params, 0.0) is params
