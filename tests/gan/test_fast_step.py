"""Speed options that must not change what training computes: steps_per_call and bf16."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from testlib import get_config, tiny
from jaxgan import benchmark
from jaxgan.data.digits import digits_images
from jaxgan.gan import state as state_lib, steps
from jaxgan.run import loop, sharding


def tiny_config(name, **model):
  config = tiny(get_config(name))
  config.model.update(model)
  return config


def real_batches(config, num, seed=0):
  """`num` batches (n_critic, B, S, S, C) of embedded digits, as the pipeline shapes them."""
  images, _ = digits_images(config.model.image_size)
  rng = np.random.default_rng(seed)
  shape = (num, config.optim.n_critic, config.batch_size)
  return images[rng.integers(0, len(images), shape)]


def leaves_close(a, b, **tolerance):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_allclose(np.asarray(x, np.float64), np.asarray(y, np.float64), **tolerance)


@pytest.mark.parametrize('name, unroll', [('dcgan_digits', False), ('dcgan_digits', True),
                                          ('wgan_gp_cifar', False)])
def test_steps_per_call_equals_single_steps(name, unroll):
  """k steps in one call (lax.scan, rolled or unrolled) == k calls of the single step."""
  config = tiny_config(name, channels=1)
  config.optim.n_critic = min(config.optim.n_critic, 2)
  gan, init_fn = state_lib.create(config)
  single = jax.jit(steps.make_train_step(config, gan))
  multi = jax.jit(loop.make_multi_step(steps.make_train_step(config, gan), 2, unroll))
  batches = jnp.asarray(real_batches(config, 2))
  state = init_fn()
  metrics = []
  for batch in batches:
    state, m = single(state, {'image': batch})
    metrics.append(m)
  multi_state, multi_metrics = multi(init_fn(), {'image': batches})
  assert int(multi_state.step) == int(state.step) == 2
  # Float tolerance, not bitwise: XLA may fuse and order the k inlined steps differently.
  leaves_close(multi_state, state, rtol=1e-4, atol=1e-5)
  leaves_close(multi_metrics, jax.tree.map(lambda *m: jnp.mean(jnp.stack(m)), *metrics),
               rtol=1e-4, atol=1e-5)


def test_bfloat16_computes_in_bf16_with_f32_parameters():
  config = tiny_config('dcgan_digits', dtype='bfloat16')
  gan, init_fn = state_lib.create(config)
  state = jax.eval_shape(init_fn)
  assert {x.dtype for x in jax.tree.leaves(state.g_params)} == {jnp.dtype(jnp.float32)}
  z = jnp.zeros((2, config.model.z_dim))
  jaxpr = str(jax.make_jaxpr(lambda p, s: steps.generate(gan, p, s, z, train=True))(
      state.g_params, state.g_stats))
  assert 'conv_general_dilated' in jaxpr and 'bf16' in jaxpr
  image, _ = jax.eval_shape(lambda p, s: steps.generate(gan, p, s, z, train=True),
                            state.g_params, state.g_stats)
  assert image.dtype == jnp.float32


def train_digits(config, num_steps):
  mesh = sharding.make_mesh(config)
  step, state = benchmark.build_step(config, mesh)
  gan, _ = state_lib.create(config)
  for batch in real_batches(config, num_steps, seed=1):
    state, _ = step(state, {'image': jnp.asarray(batch)})
  z = steps.sample_noise(jax.random.PRNGKey(7), 256, config.model.z_dim)
  samples, _ = steps.generate(gan, state.g_params, state.g_stats, z, train=False)
  return np.asarray(samples)


@pytest.mark.slow
def test_bfloat16_trains_digits_as_well_as_float32():
  """Same seed and data: bf16 moves the samples toward the digits about as far as f32 does."""
  real, _ = digits_images(16)

  def moment_gap(x):  # Distance of the mean image and pixel std to the data's.
    return np.abs(x.mean(0) - real.mean(0)).mean() + np.abs(x.std(0) - real.std(0)).mean()

  gaps = {}
  for dtype in ('float32', 'bfloat16'):
    config = tiny_config('dcgan_digits', dtype=dtype, g_features=16, d_features=16)
    config.batch_size = 32
    config.optim.lr_schedule = 'constant'  # 150 steps here; tiny's num_steps is 4.
    gaps[dtype] = moment_gap(train_digits(config, 150))
  gaps['start'] = moment_gap(train_digits(config, 0))
  # 150 small steps move f32 about 20% of the way (0.87 -> 0.69); bf16 must follow it closely.
  assert gaps['float32'] < 0.9 * gaps['start'], gaps
  assert gaps['bfloat16'] < 0.9 * gaps['start'], gaps
  assert gaps['bfloat16'] < 1.15 * gaps['float32'] + 0.02, gaps
