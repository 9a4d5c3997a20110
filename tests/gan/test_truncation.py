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


real_make_sampler = generate.make_sampler  # Kept before a test patches it.


def recording_sampler(gan, seen):
  """generate.make_sampler(gan) that also keeps every noise batch it is given."""
  sampler = real_make_sampler(gan)

  def record(params, stats, z, labels=None):
    seen.append(np.asarray(z))
    return sampler(params, stats, z, labels)
  return record


def assert_truncated_normal(z, psi):
  """Oracle: scipy's normal truncated to [-psi, psi] (Kolmogorov-Smirnov), not the code's."""
  assert np.abs(z).max() <= psi
  assert scipy.stats.kstest(z.ravel(), scipy.stats.truncnorm(-psi, psi).cdf).pvalue > 1e-3


def test_sample_and_evaluators_draw_truncated_noise(monkeypatch):
  """The noise that reaches the generator, caught on its way in: truncated where asked, plain
  normal otherwise, in jaxgan.sample's path and in the evaluators' (fixed eval noise)."""
  config, gan, state, mesh = toy_run()
  seen = []
  monkeypatch.setattr(generate, 'make_sampler', lambda gan, mesh=None: recording_sampler(gan, seen))
  plain = generate.generate_samples(config, gan, state, 2000, seed=0)
  z_plain = np.concatenate(seen)
  seen.clear()
  truncated = generate.generate_samples(config, gan, state, 2000, seed=0, truncation=0.3)
  z_truncated = np.concatenate(seen)
  assert z_plain.shape == z_truncated.shape == (2000, 4)
  assert scipy.stats.kstest(z_plain.ravel(), scipy.stats.norm().cdf).pvalue > 1e-3
  assert np.abs(z_plain).max() > 2
  assert_truncated_normal(z_truncated, 0.3)
  assert not np.allclose(plain, truncated)
  seen.clear()
  again = generate.generate_samples(config, gan, state, 2000, seed=0, truncation=0.3)
  np.testing.assert_array_equal(truncated, again)
  np.testing.assert_array_equal(np.concatenate(seen), z_truncated)

  seen.clear()
  draw = evaluators.make_generator(config, gan, mesh, truncation=0.3,
                                   sampler=recording_sampler(gan, seen))
  samples = draw(state.ema_params, state.g_stats, 1000)
  assert len(samples.outputs) == 1000
  assert_truncated_normal(np.concatenate(seen), 0.3)
