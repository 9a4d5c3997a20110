"""The truncation trick: noise drawn from the normal truncated to [-psi, psi]."""

import jax
import numpy as np
import pytest
import scipy.stats

from configs import default
from jaxgan.gan import evaluators, generate, state as state_lib, steps
from jaxgan.run import sharding
from jaxgan.run.state import build_state


def test_truncated_noise_is_the_truncated_normal():
  z = np.asarray(generate.noise(jax.random.PRNGKey(0), 20_000, 3, truncation=0.5))
  assert np.abs(z).max() <= 0.5
  # The distribution of resampling |z| > psi: scipy's truncated normal (Kolmogorov-Smirnov).
  assert scipy.stats.kstest(z.ravel(), scipy.stats.truncnorm(-0.5, 0.5).cdf).pvalue > 1e-3
  assert scipy.stats.kstest(z.ravel(), scipy.stats.norm().cdf).pvalue < 1e-6


def test_no_truncation_is_the_plain_normal_and_negative_is_refused():
  key = jax.random.PRNGKey(1)
  np.testing.assert_array_equal(generate.noise(key, 5, 4), steps.sample_noise(key, 5, 4))
  with pytest.raises(ValueError, match='truncation=-1'):
    generate.noise(key, 5, 4, truncation=-1.0)


def toy_run():
  config = default.get_config()
  config.model.name, config.data.name = 'toy', 'ring8'
  config.model.z_dim = 4
  mesh = sharding.make_mesh(config)
  gan, _, init = build_state(state_lib.create, config, mesh)
  return config, gan, init(), mesh


def test_sample_and_evaluators_draw_truncated_noise():
  config, gan, state, mesh = toy_run()
  plain = generate.generate_samples(config, gan, state, 64, seed=0)
  truncated = generate.generate_samples(config, gan, state, 64, seed=0, truncation=0.3)
  again = generate.generate_samples(config, gan, state, 64, seed=0, truncation=0.3)
  np.testing.assert_array_equal(truncated, again)
  assert not np.allclose(plain, truncated)
  # Second path: the generator on truncated noise, by hand.
  z = generate.noise(jax.random.PRNGKey(0), 64, 4, truncation=0.3)
  by_hand = generate.make_sampler(gan)(state.ema_params, state.g_stats, z)
  np.testing.assert_allclose(truncated, by_hand, rtol=1e-6, atol=1e-6)
  # The evaluators' generator: the run's fixed eval noise, truncated.
  samples = evaluators.make_generator(config, gan, mesh, truncation=0.3)(
      state.ema_params, state.g_stats, 10)
  z = generate.fixed_noise(config, generate.EVAL_NOISE_SALT, 250, truncation=0.3)[:10]
  np.testing.assert_allclose(samples.outputs, generate.make_sampler(gan)(
      state.ema_params, state.g_stats, z), rtol=1e-6, atol=1e-6)
