"""R3GAN (Huang et al. 2024): its loss and penalties against closed forms, its ConvNets' shapes,
parameters, missing normalisation and fix-up init, its schedules against their formula, and
r3gan_cifar's recipe training 2 steps (r3gan_fashion's: tests/gan/test_fashion_configs.py; one
step against the PyTorch twin: tests/test_torch_twin.py)."""

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest
import tensorflow_datasets as tfds
from flax import nnx

from testlib import get_config
from jaxgan import losses, models
from jaxgan.gan import augment, schedules, state as state_lib, steps, train
from jaxgan.models import r3gan


def softplus(x):
  return np.log1p(np.exp(x))


# Loss and penalties ----------------------------------------------------------------------------

def test_rpgan_pairs_the_ith_real_with_the_ith_fake():
  real, fake = np.array([2.0, -1.0, 0.5]), np.array([-0.5, 1.5, 0.5])
  rpgan = losses.get_loss('rpgan')
  assert rpgan.relativistic
  # D: softplus(f_i - r_i) = softplus(-2.5), softplus(2.5), softplus(0) = log 2.
  d = (softplus(-2.5) + softplus(2.5) + math.log(2)) / 3
  np.testing.assert_allclose(rpgan.d(jnp.array(real), jnp.array(fake)), d, rtol=1e-6)
  # G: the same pairs, the other way round.
  g = (softplus(2.5) + softplus(-2.5) + math.log(2)) / 3
  np.testing.assert_allclose(rpgan.g(jnp.array(fake), jnp.array(real)), g, rtol=1e-6)
  # Shifting every logit by a constant changes nothing (only differences count).
  np.testing.assert_allclose(rpgan.d(jnp.array(real) + 7, jnp.array(fake) + 7), d, rtol=1e-5)


def test_r1_r2_of_a_linear_critic_is_the_squared_slope():
  # D(x) = <w, x>: grad D = w at every x, so R1 = R2 = |w|^2 and 0.5 (R1 + R2) = |w|^2.
  w = jnp.arange(1.0, 13.0).reshape(2, 2, 3) / 10
  critic = lambda x: jnp.sum(x * w, axis=(1, 2, 3))
  real, fake = jnp.ones((4, 2, 2, 3)), -jnp.ones((5, 2, 2, 3))
  got = losses.get_penalty('r1_r2')(critic, real, fake, jax.random.key(0))
  np.testing.assert_allclose(got, float(jnp.sum(w ** 2)), rtol=1e-6)


def test_r1_r2_of_a_quadratic_critic_is_per_sample_then_averaged():
  # D(x) = 0.5 sum(a x^2): grad = a x, ||grad||^2 = sum(a^2 x^2) per sample; R1 on the real,
  # R2 on the fake points, averaged over each batch, the sum halved.
  a = np.array([1.0, -2.0, 3.0], np.float32)
  critic = lambda x: 0.5 * jnp.sum(a * x ** 2, axis=-1)
  real = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], np.float32)  # 1 + 9, 4.
  fake = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, -1.0], [1.0, 1.0, 1.0]], np.float32)  # 4, 9, 14.
  r1, r2 = (10 + 4) / 2, (4 + 9 + 14) / 3
  got = losses.get_penalty('r1_r2')(critic, jnp.array(real), jnp.array(fake), None)
  np.testing.assert_allclose(got, 0.5 * (r1 + r2), rtol=1e-6)
  # R3GAN's D loss with gamma: softplus(D(f) - D(r)) + gamma / 2 (R1 + R2), per pair.
  gamma = 0.05
  rl, fl = critic(real), critic(fake[:2])
  pairs = np.mean(softplus(np.asarray(fl) - np.asarray(rl)))
  d = losses.get_loss('rpgan').d(rl, fl) + gamma * losses.r1_r2_penalty(critic, real, fake, None)
  np.testing.assert_allclose(d, pairs + gamma / 2 * (r1 + r2), rtol=1e-6)


# Networks --------------------------------------------------------------------------------------

def fashion_models(**overrides):
  m = get_config('r3gan_fashion').model
  m.update(overrides)
  return m, models.build_models(m, nnx.Rngs(0))


def block_params(width, expansion=2, group_width=16):
  # 1x1 up, grouped 3x3 (each of the width * e outputs sees group_width inputs), 1x1 down, and
  # two per-channel biases.
  e = width * expansion
  return width * e + 9 * group_width * e + e * width + 2 * e


def test_fashion_networks_shapes_and_parameter_count():
  m, (g, d) = fashion_models()
  z = jax.random.normal(jax.random.key(0), (3, m.z_dim))
  image = g(z)
  assert image.shape == (3, 32, 32, 1)
  assert d(image).shape == (3,)
  widths = [8 * k for k in (16, 8, 2, 1)]  # G from 4x4 up: 128, 64, 16, 8; D mirrors them.
  blocks = sum(block_params(w) for w in widths)
  transitions = sum(a * b for a, b in zip(widths, widths[1:]))  # 1x1 between stages.
  g_count = 16 * 128 + 64 * 128 + blocks + transitions + 8 * 1  # basis, linear, ..., to image.
  d_count = 1 * 8 + blocks + transitions + 16 * 128 + 128 * 1  # from image, ..., 4x4 head.
  assert (r3gan.parameter_count(g), r3gan.parameter_count(d)) == (g_count, d_count)


def test_networks_have_no_normalisation_and_no_batch_coupling():
  _, (g, d) = fashion_models()
  norms = (nnx.BatchNorm, nnx.LayerNorm, nnx.GroupNorm, nnx.RMSNorm)
  for net in (g, d):
    assert not any(isinstance(module, norms) for _, module in net.iter_modules())
    assert not jax.tree.leaves(nnx.state(net, nnx.BatchStat))
  # Each sample's output is its own: D of one image equals its row in a batch's.
  x = jax.random.normal(jax.random.key(1), (4, 32, 32, 1))
  np.testing.assert_allclose(d(x[1:2]), d(x)[1:2], rtol=1e-5, atol=1e-6)


def test_fixup_init_every_block_starts_as_the_identity():
  _, (g, d) = fashion_models()
  x = jax.random.normal(jax.random.key(2), (2, 8, 8, 16))
  for net in (g, d):
    blocks = [mod for _, mod in net.iter_modules() if isinstance(mod, r3gan.ResidualBlock)]
    assert len(blocks) == 4
    for block in blocks:
      assert not np.any(block.conv3.kernel[...]) and not np.any(block.act1.bias[...])
    block = next(b for b in blocks if b.conv1.kernel.shape[2] == 16)
    np.testing.assert_array_equal(block(x), x)


def test_fixup_init_scales_the_branch_by_the_number_of_blocks():
  # MSR init N(0, gain^2 / fan_in), gain = sqrt(2 / (1 + 0.2^2)) * L^(-1/4) for L blocks.
  block = r3gan.ResidualBlock(64, 16, 2, 16, 'xla', rngs=nnx.Rngs(3))
  gain = math.sqrt(2 / 1.04) * 16 ** -0.25
  for conv, fan_in in ((block.conv1, 64), (block.conv2, 9 * 16)):
    kernel = np.asarray(conv.kernel[...])
    np.testing.assert_allclose(kernel.std(), gain / math.sqrt(fan_in), rtol=0.03)
    assert abs(kernel.mean()) < 0.05 * kernel.std()


def test_grouped_convolution_impls_agree_and_keep_groups_apart():
  x = jax.random.normal(jax.random.key(4), (2, 6, 6, 64))
  conv = {impl: r3gan.Conv(64, 64, 3, groups=4, impl=impl, rngs=nnx.Rngs(5))
          for impl in r3gan.GROUP_CONV_IMPLS}
  out = {impl: np.asarray(c(x)) for impl, c in conv.items()}
  for impl in ('split', 'dense'):
    np.testing.assert_allclose(out[impl], out['xla'], rtol=1e-5, atol=1e-5)
  # Changing group 0's inputs (channels 0-15) changes group 0's outputs only.
  moved = np.asarray(conv['xla'](x.at[..., :16].add(1.0)))
  assert np.any(moved[..., :16] != out['xla'][..., :16])
  np.testing.assert_array_equal(moved[..., 16:], out['xla'][..., 16:])


def stuffed_upsample(x):
  """upfirdn2d.upsample2d per axis: zeros between samples, then [1, 3, 3, 1] / 4, pads 2, 1."""
  u = np.zeros(2 * len(x))
  u[::2] = x
  return np.convolve(np.pad(u, (2, 1)), np.array([1, 3, 3, 1]) / 4, 'valid')


def test_resampling_is_the_1331_filter_and_bilinear_inside():
  x = np.random.default_rng(0).normal(size=(1, 8, 8, 2)).astype(np.float32)
  up, down = np.asarray(r3gan.upsample(x)), np.asarray(r3gan.downsample(x))
  expected_up = np.apply_along_axis(stuffed_upsample, 1, x)
  expected_up = np.apply_along_axis(stuffed_upsample, 2, expected_up)
  np.testing.assert_allclose(up, expected_up, atol=1e-6)
  # downsample2d: pad 1, 1, [1, 3, 3, 1] / 8, every other sample.
  taps = lambda v: np.convolve(np.pad(v, 1), np.array([1, 3, 3, 1]) / 8, 'valid')[::2]
  expected_down = np.apply_along_axis(taps, 2, np.apply_along_axis(taps, 1, x))
  np.testing.assert_allclose(down, expected_down, atol=1e-6)
  # Away from the zero-padded border both are bilinear (half-pixel centres; down antialiased).
  bilinear_up = np.asarray(jax.image.resize(x, (1, 16, 16, 2), 'bilinear'))
  np.testing.assert_allclose(up[:, 1:-1, 1:-1], bilinear_up[:, 1:-1, 1:-1], atol=1e-5)
  bilinear_down = np.asarray(jax.image.resize(x, (1, 4, 4, 2), 'bilinear', antialias=True))
  np.testing.assert_allclose(down[:, 1:-1, 1:-1], bilinear_down[:, 1:-1, 1:-1], atol=1e-5)


def test_conditional_networks_take_labels():
  config = get_config('r3gan_cifar')
  config.model.g_features = config.model.d_features = 16
  g, d = models.build_models(config.model, nnx.Rngs(0))
  z, labels = jnp.zeros((2, 64)).at[:, 0].set(1.0), jnp.array([1, 7])
  image = g(z, labels)
  assert image.shape == (2, 32, 32, 3) and d(image, labels).shape == (2,)
  assert not np.allclose(image[0], image[1])  # Same z, different classes.


def test_bad_stage_lists_are_refused():
  with pytest.raises(ValueError, match='needs 4 R3GAN stages'):
    fashion_models(r3gan_blocks=(1, 1, 1), r3gan_width_mults=(4, 2, 1))
  with pytest.raises(ValueError, match='r3gan_group_width=12'):
    fashion_models(r3gan_group_width=12)


# Schedules -------------------------------------------------------------------------------------

def schedule_config(**fields):
  config = get_config('r3gan_fashion')
  config.num_steps, config.batch_size, config.schedule_images = 100, 10, 800  # Horizon: 80.
  for name, value in fields.items():
    section, field = name.split('__')
    config[section][field] = value
  return config


def ramp(start, end, step, horizon_steps=80):
  t = min(step / horizon_steps, 1.0)
  return start + (end - start) * (1 - math.cos(math.pi * t)) / 2


STEPS = (0, 20, 40, 79, 80, 95)


def test_cosine_and_linear_ramps_hold_their_end():
  config = schedule_config()
  cosine = schedules.of_step(config, 'cosine', 'f', 2.0, 0.2)
  linear = schedules.of_step(config, 'linear', 'f', 2.0, 0.2)
  np.testing.assert_allclose([cosine(s) for s in STEPS], [ramp(2.0, 0.2, s) for s in STEPS],
                             rtol=1e-6)
  np.testing.assert_allclose([linear(s) for s in STEPS],
                             [2.0 - 1.8 * min(s / 80, 1) for s in STEPS], rtol=1e-6)
  assert schedules.of_step(config, 'constant', 'f', 2.0, 0.2)(50) == 2.0
  config.schedule_images = 0  # The whole run: 100 steps.
  np.testing.assert_allclose(schedules.of_step(config, 'cosine', 'f', 0.0, 1.0)(50), 0.5)
  with pytest.raises(ValueError, match="Unknown f='cos'"):
    schedules.of_step(config, 'cos', 'f', 0.0, 1.0)


def test_learning_rate_and_beta2_follow_the_ramp_in_optimizer_updates():
  config = schedule_config(optim__lr_end_factor=0.25, optim__n_critic=2)
  g_lr = state_lib.learning_rate(config, 4e-4)
  d_lr = state_lib.learning_rate(config, 4e-4, updates_per_step=2)  # 2 updates a step.
  for s in STEPS:
    np.testing.assert_allclose(g_lr(s), ramp(4e-4, 1e-4, s), rtol=1e-6)
    np.testing.assert_allclose(d_lr(2 * s + 1), ramp(4e-4, 1e-4, s + 0.5), rtol=1e-6)
  # Adam's b2 0.9 -> 0.99, held in the optimizer's state (optax.inject_hyperparams).
  tx = state_lib.make_optimizer(config.optim, g_lr, state_lib.beta2(config))
  params = {'w': jnp.ones(3)}
  opt, seen = tx.init(params), []
  for _ in range(81):
    _, opt = tx.update({'w': jnp.array([1.0, -2.0, 3.0])}, opt, params)
    seen.append(float(opt.hyperparams['b2']))  # The b2 of the update just made.
  np.testing.assert_allclose([seen[s] for s in (0, 40, 80)],
                             [ramp(0.9, 0.99, s) for s in (0, 40, 80)], rtol=1e-6)


def test_penalty_weight_augment_probability_and_ema_half_life_ramps():
  config = schedule_config(loss__penalty_weight=2.0, loss__penalty_weight_end=0.2,
                           data__diffaugment='translation,cutout', data__diffaugment_p=0.0,
                           data__diffaugment_p_end=0.3, data__diffaugment_p_schedule='cosine',
                           model__ema_half_life_images=200.0)
  gamma, p = steps.penalty_weight(config), steps.augment_probability(config)
  decay = steps.ema_decay(config)
  for s in STEPS:
    np.testing.assert_allclose(gamma(s), ramp(2.0, 0.2, s), rtol=1e-6)
    np.testing.assert_allclose(p(s), ramp(0.0, 0.3, s), rtol=1e-6, atol=1e-9)
  # EMA: 0.5 ** (batch / half-life), the half-life 0 -> 200 images: at first the EMA is G.
  assert float(decay(0)) == 0.0
  np.testing.assert_allclose(decay(80), 0.5 ** (10 / 200), rtol=1e-6)
  np.testing.assert_allclose(decay(40), 0.5 ** (10 / 100), rtol=1e-6)


def test_augmentation_probability_applies_each_policy_per_image():
  x = jnp.ones((512, 8, 8, 1))
  key = jax.random.key(6)
  always = augment.make_diffaugment('cutout', lambda step: 1.0)
  np.testing.assert_array_equal(always(key, x, 0), augment.make_diffaugment('cutout')(key, x))
  never = augment.make_diffaugment('cutout', lambda step: 0.0)
  np.testing.assert_array_equal(never(key, x, 0), x)
  half = augment.make_diffaugment('cutout', lambda step: 0.5)(key, x, 0)
  cut = np.mean(np.any(np.asarray(half) != 1.0, axis=(1, 2, 3)))
  assert 0.42 < cut < 0.58


def test_new_options_default_off():
  config = get_config('dcgan_digits')
  assert config.schedule_images == 0
  obj = steps.Objective.from_config(config)
  assert isinstance(obj.penalty_weight(jnp.int32(3)), float)
  assert isinstance(obj.ema_decay(jnp.int32(3)), float)
  assert steps.augment_probability(config) is None
  assert state_lib.beta2(config) == config.optim.b2
  # Plain Adam, as before: no injected hyperparameters in the optimizer state.
  tx = state_lib.make_optimizer(config.optim, 1e-3, state_lib.beta2(config))
  assert not optax.tree_utils.tree_get_all_with_path(tx.init({'w': jnp.ones(2)}),
                                                     'hyperparams')


# Training --------------------------------------------------------------------------------------

def test_r3gan_cifar_recipe_trains_two_steps(tmp_path):
  config = get_config('r3gan_cifar')
  config.num_steps, config.steps_per_call, config.batch_size = 2, 1, 4
  config.log_every = config.sample_every = config.checkpoint_every = 2
  config.num_grid_samples = 4
  config.model.g_features = config.model.d_features = 16
  config.evals, config.best_metric = ml_collections.ConfigDict(), ''
  with tfds.testing.mock_data(num_examples=8):
    state = train.train_and_evaluate(config, str(tmp_path / 'r3gan_cifar'))
  assert int(state.step) == 2
  for tree in (state.g_params, state.d_params, state.ema_params):
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(tree))
  # The beta2 schedule lives in the optimizer state.
  b2 = optax.tree_utils.tree_get(state.g_opt, 'hyperparams')['b2']
  np.testing.assert_allclose(b2, 0.9, rtol=1e-6)  # 2 steps of 39,063: still 0.9.
