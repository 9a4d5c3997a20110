"""Class-conditional GANs: models, ACGAN's auxiliary loss, soft targets, per-class sampling."""

import glob
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds
from flax import nnx
from PIL import Image

from testlib import build_gan, get_config, read_scalars, run_tool, tiny
from jaxgan import losses, models, sample
from jaxgan.data import pipeline, sources
from jaxgan.data.transforms import to_uint8
from jaxgan.gan import evaluators, generate, state as state_lib, steps, train
from jaxgan.run import sharding


def tiny_conditional(name='acgan_digits', steps=2, model=None):
  config = tiny(get_config(name), steps=steps)
  if model:
    config.model.name = model
  if 'class_agreement' in config.evals:  # Scored at the last step: a few samples suffice.
    config.evals.class_agreement.num_samples = 20
  return config


@pytest.mark.parametrize('model', ['cgan', 'acgan', 'projection'])
def test_conditional_models_take_labels(model):
  config = tiny_conditional(model=model)
  g, d = models.build_models(config.model, nnx.Rngs(0))
  if model == 'projection':  # Conditional BatchNorm starts class-blind (scale 1, shift 0).
    for i, norm in enumerate(g.net.norms):
      key = jax.random.PRNGKey(i)
      norm.shift.embedding.value = jax.random.normal(key, (10, norm.shift.features))
  z = jax.random.normal(jax.random.PRNGKey(1), (6, config.model.z_dim))
  labels = jnp.array([0, 1, 2, 3, 4, 9], jnp.int32)
  others = (labels + 5) % 10
  images = g(z, labels, train=False)
  assert images.shape == (6, 16, 16, 1) and images.dtype == jnp.float32
  # The same noise drawn for other classes gives other images.
  assert float(jnp.max(jnp.abs(images - g(z, others, train=False)))) > 1e-4
  out, again = d(images, labels, train=False), d(images, others, train=False)
  if model == 'acgan':  # Two heads; the class head infers the class, it is not told it.
    (adv, classes), (adv2, classes2) = out, again
    assert adv.shape == (6,) and classes.shape == (6, 10) and classes.dtype == jnp.float32
    np.testing.assert_array_equal(classes, classes2)
    np.testing.assert_array_equal(adv, adv2)
  else:
    assert out.shape == (6,) and out.dtype == jnp.float32
    assert float(jnp.max(jnp.abs(out - again))) > 1e-6


def test_conditional_model_needs_num_classes():
  config = tiny_conditional(model='cgan')
  config.model.num_classes = 0
  with pytest.raises(ValueError, match='model.num_classes'):
    models.build_models(config.model, nnx.Rngs(0))
  config.model.name, config.model.num_classes = 'dcgan', 10
  with pytest.raises(ValueError, match='unconditional'):
    models.build_models(config.model, nnx.Rngs(0))


def test_num_classes_must_match_the_data(workdir):
  config = tiny_conditional()
  config.model.num_classes = 5
  with pytest.raises(ValueError, match='num_classes=10'):
    train.train_and_evaluate(config, workdir)


def test_classification_loss_on_hand_computed_logits():
  logits = jnp.array([[2.0, 0.0, 0.0], [0.0, 1.0, 3.0]])
  labels = jnp.array([0, 2])
  want = ((math.log(math.exp(2) + 2) - 2) + (math.log(1 + math.e + math.exp(3)) - 3)) / 2
  np.testing.assert_allclose(losses.classification(logits, labels), want, rtol=1e-6)


def one_step(config, batch=None):
  """(initial state, batch, metrics of one train step) on the first digits batch."""
  gan, init = state_lib.create(config)
  state = init()
  if batch is None:
    source = sources.build_source(config)
    batch = pipeline.first_batch(pipeline.build_dataset(config, source))
  _, metrics = jax.jit(steps.make_train_step(config, gan))(state, batch)
  return gan, state, batch, jax.device_get(metrics)


def numpy_cross_entropy(logits, labels):
  logits = np.asarray(logits, np.float64)
  log_z = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
  return float(np.mean(log_z - logits[np.arange(len(labels)), labels]))


def test_acgan_step_adds_weighted_auxiliary_terms():
  config = tiny_conditional()
  config.loss.aux_weight_real, config.loss.aux_weight_fake, config.loss.aux_weight_g = 0.5, 2., 0.
  gan, state, batch, m = one_step(config)
  # D's auxiliary loss on real images, against an independent cross-entropy of D's class head.
  real, labels = jnp.asarray(batch['image'][0]), jnp.asarray(batch['label'][0])
  (_, class_logits), _ = steps.discriminate(gan, state.d_params, state.d_stats, real, labels)
  np.testing.assert_allclose(m['d_class_loss_real'], numpy_cross_entropy(class_logits, labels),
                             rtol=1e-5)
  penalty = config.loss.penalty_weight * m['d_penalty']  # R1 in the digits recipe.
  assert config.loss.penalty == 'r1' and m['d_penalty'] > 0
  np.testing.assert_allclose(
      m['d_loss'], m['d_adv_loss'] + penalty + 0.5 * m['d_class_loss_real']
      + 2. * m['d_class_loss_fake'], rtol=1e-5)
  # G's loss grows by exactly aux_weight_g times its class loss (D's update is the same).
  config.loss.aux_weight_g = 3.0
  _, _, _, m3 = one_step(config, batch)
  np.testing.assert_allclose(m3['g_loss'] - m['g_loss'], 3.0 * m['g_class_loss'], rtol=1e-4)
  assert 'd_accuracy/class_9' in m and 'g_grad_norm/net/project' in m


def test_unconditional_step_reports_no_class_metrics():
  config = tiny(get_config('dcgan_digits'))
  *_, m = one_step(config)
  assert not any('class' in k or '/' in k for k in m)


def test_per_class_accuracy_on_hand_computed_logits():
  out = steps.per_class_accuracy(jnp.array([1.0, -1.0, 2.0]), jnp.array([-1.0, 1.0, -2.0]),
                                 jnp.array([0, 0, 1]), 3)
  assert float(out['d_accuracy/class_0']) == 0.5  # 2 of 4 (real 1, -1; fake -1, 1).
  assert float(out['d_accuracy/class_1']) == 1.0
  np.testing.assert_allclose(out['d_accuracy/class_2'], 4 / 6)  # Absent: the overall value.


def test_soft_targets_ranges_flips_and_determinism():
  key = jax.random.PRNGKey(0)
  real, fake = map(np.asarray, losses.soft_targets(key, 20_000, (0.7, 1.2), (0.0, 0.3)))
  assert 0.7 <= real.min() < 0.71 and 1.19 < real.max() <= 1.2
  assert 0.0 <= fake.min() < 0.01 and 0.29 < fake.max() <= 0.3
  np.testing.assert_allclose([real.mean(), fake.mean()], [0.95, 0.15], atol=0.01)
  np.testing.assert_array_equal(real, losses.soft_targets(key, 20_000, (0.7, 1.2), (0., 0.3))[0])
  _, one_sided = losses.soft_targets(key, 100, (0.7, 1.2), (0.0, 0.3), one_sided=True)
  assert np.all(np.asarray(one_sided) == 0.0)
  real, fake = map(np.asarray, losses.soft_targets(key, 20_000, (0.7, 1.2), (0.0, 0.3),
                                                   flip_prob=0.25))
  flipped = real <= 0.3  # The ranges are disjoint, so a swap shows.
  np.testing.assert_allclose(flipped.mean(), 0.25, atol=0.015)
  assert np.all(fake[flipped] >= 0.7) and np.all(fake[~flipped] <= 0.3)


def test_soft_target_d_loss_is_bce_against_the_drawn_targets():
  config = get_config('cgan_cifar')
  d_loss = steps.make_d_adversarial(config.loss)
  key = jax.random.PRNGKey(3)
  real, fake = jnp.array([2.0, -0.5, 0.3]), jnp.array([-1.0, 0.7, 0.0])
  real_t, fake_t = map(np.asarray, losses.soft_targets(key, 3, (0.7, 1.2), (0.0, 0.3)))

  def bce(x, t):  # -t log s(x) - (1 - t) log(1 - s(x)), in float64.
    s = 1 / (1 + np.exp(-np.asarray(x, np.float64)))
    return np.mean(-t * np.log(s) - (1 - t) * np.log(1 - s))
  np.testing.assert_allclose(d_loss(real, fake, key), bce(real, real_t) + bce(fake, fake_t),
                             rtol=1e-5)


def test_soft_targets_refused_for_non_bce_losses():
  config = get_config('cgan_cifar')
  config.loss.name = 'wasserstein'
  with pytest.raises(ValueError, match='real_targets'):
    steps.make_d_adversarial(config.loss)


# The digits configs are acgan/cgan on other data: acgan_digits trains in the sampling test.
@pytest.mark.parametrize('name', ['cgan_cifar', 'acgan_cifar', 'projection'])
def test_conditional_configs_train(name, workdir):
  config = (tiny_conditional('cgan_digits', model='projection') if name == 'projection' else
            tiny_conditional(name))
  with tfds.testing.mock_data(num_examples=16):
    state = train.train_and_evaluate(config, workdir)
  assert int(state.step) == 2
  assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state.g_params))
  # The grid has one row per class: 10 rows of 16 px + padding.
  grid = np.asarray(Image.open(os.path.join(workdir, 'samples', 'step_0000002.png')))
  assert grid.shape[0] == 10 * 18 + 2
  if config.data.name == 'digits':  # Per-digit agreement, from config.evals.class_agreement.
    for k in range(10):
      assert read_scalars(workdir, f'eval_class_agreement/{k}')[-1][0] == 2


def test_sample_cli_draws_the_asked_labels(workdir, tmp_path):
  config = tiny_conditional()
  train.train_and_evaluate(config, workdir)
  npz = str(tmp_path / 's.npz')
  result = run_tool('sample', f'--workdir={workdir}', '--labels=3,3,7', f'--out={npz}', '--seed=2')
  assert result.returncode == 0, result.stderr[-2000:]
  out = np.load(npz)
  assert out['labels'].dtype == np.int32 and out['labels'].tolist() == [3, 3, 7]
  assert out['samples'].shape == (3, 16, 16, 1)
  # The CLI's samples are the generator's for those labels, not for others.
  _, gan, state, _ = generate.load_run(workdir)
  same = generate.generate_samples(config, gan, state, 3, seed=2, labels=[3, 3, 7])
  other = generate.generate_samples(config, gan, state, 3, seed=2, labels=[0, 0, 0])
  np.testing.assert_array_equal(to_uint8(same), out['samples'])
  assert np.any(to_uint8(other) != out['samples'])
  png = str(tmp_path / 'grid.png')
  result = run_tool('sample', f'--workdir={workdir}', '--per_class=2', f'--out={png}')
  assert result.returncode == 0, result.stderr[-2000:]
  grid = np.asarray(Image.open(png))
  assert grid.shape[0] == 10 * 18 + 2  # One row per class.
  assert grid.shape[1] > 2 * 18 + 2  # Names in a left margin.
  assert glob.glob(os.path.join(workdir, 'events.out.tfevents.*'))


def test_choose_labels():
  config = tiny_conditional()
  np.testing.assert_array_equal(sample.choose_labels(config, 5, None, 2),
                                np.repeat(np.arange(10), 2))
  balanced = sample.choose_labels(config, 25, None, None)
  assert balanced.dtype == np.int32 and np.bincount(balanced).tolist() == [3] * 5 + [2] * 5
  with pytest.raises(Exception, match=r'\[0, 9\]'):
    sample.choose_labels(config, 5, '3,12', None)
  config = tiny(get_config('dcgan_digits'))
  assert sample.choose_labels(config, 5, None, None) is None
  with pytest.raises(Exception, match='unconditional'):
    sample.choose_labels(config, 5, '3', None)


@pytest.mark.slow
def test_short_acgan_digits_run_raises_class_agreement(workdir):
  """A short run at 16 px: samples of each asked digit are confidently recognised far above
  chance (10%), by the class_agreement evaluator on the run's balanced fixed-noise samples."""
  config = get_config('acgan_digits')
  config.model.image_size = 16
  config.num_steps = 300
  config.log_every = 100
  config.sample_every = 300
  config.checkpoint_every = 300
  config.evals.class_agreement.num_samples = 200
  state = train.train_and_evaluate(config, workdir)
  mesh = sharding.make_mesh()
  gan, _, init = build_gan(config, mesh)
  draw = evaluators.make_generator(config, gan, mesh)
  score = evaluators.get('class_agreement').build(config, {})

  def agreement(params, stats):
    samples = draw(params, stats, 200)
    assert np.bincount(samples.labels).tolist() == [20] * 10  # Balanced over the digits.
    return score(samples)
  # The raw generator: 300 steps are too few for the 0.999 EMA to follow it.
  start = agreement(init().g_params, init().g_stats)
  end = agreement(state.g_params, state.g_stats)
  assert start['class_agreement'] < 0.25 and end['class_agreement'] > 0.4, (start, end)
  # The per-digit scores: each digit's share, so the balanced overall score is their mean.
  for scores in (start, end):
    per_class = [scores[f'class_agreement/{k}'] for k in range(10)]
    assert scores['class_agreement'] == pytest.approx(np.mean(per_class))
    assert scores['class_agreement_min'] == min(per_class)
