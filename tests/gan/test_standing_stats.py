"""Standing statistics: the EMA generator's BatchNorm statistics recomputed from fresh batches."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from configs import default
from jaxgan import evaluate
from jaxgan.gan import evaluators, generate, state as state_lib, train
from jaxgan.run import sharding
from jaxgan.run import workdir as workdir_lib
from jaxgan.run.state import build_state
from testlib import get_config, tiny


def test_average_batch_stats_is_the_mean_of_the_batch_statistics():
  # A stand-in BatchNorm update with two momenta: the batch statistic is the batch mean.
  momenta = {'a': 0.9, 'b': 0.5}

  def update(stats, batch):
    return {k: momenta[k] * s + (1 - momenta[k]) * batch.mean() for k, s in stats.items()}
  batches = [np.full(3, v, np.float32) for v in (1.0, 2.0, 6.0)]
  got = generate.average_batch_stats(update, {'a': jnp.zeros(()), 'b': jnp.full((), 7.0)},
                                     batches)
  np.testing.assert_allclose([got['a'], got['b']], [3.0, 3.0], rtol=1e-6)


def dcgan_run(standing: int):
  config = default.get_config()
  config.model.image_size, config.model.g_features, config.model.d_features = 16, 8, 8
  config.model.z_dim, config.batch_size = 8, 16
  config.model.ema_standing_batches = standing
  gan, _, init = build_state(state_lib.create, config, sharding.make_mesh(config))
  return config, gan, init()


def test_standing_stats_of_the_first_norm_are_its_inputs_batch_moments():
  config, gan, state = dcgan_run(standing=3)
  params, stats = generate.sampling_generator(config, gan, state)
  assert params is state.ema_params
  # Second path: the first BatchNorm normalises the projection of z; its batch moments by hand.
  z = np.asarray(generate.fixed_noise(config, generate.STANDING_NOISE_SALT, 3 * 16))
  from flax import nnx
  g = nnx.merge(gan.g_graph, state.ema_params, state.g_stats)
  means, variances = [], []
  for i in range(3):
    h = np.asarray(g.project(jnp.asarray(z[i * 16:(i + 1) * 16])[:, None, None, :]),
                   np.float64)
    means.append(h.mean(axis=(0, 1, 2)))
    variances.append(h.var(axis=(0, 1, 2)))
  np.testing.assert_allclose(stats['norms'][0]['mean'], np.mean(means, axis=0), rtol=1e-4,
                             atol=1e-6)
  np.testing.assert_allclose(stats['norms'][0]['var'], np.mean(variances, axis=0), rtol=1e-3,
                             atol=1e-6)
  assert not np.allclose(stats['norms'][0]['var'], state.g_stats['norms'][0]['var'])


def test_off_by_default_and_used_by_sampling_and_evaluation():
  config, gan, state = dcgan_run(standing=0)
  params, stats = generate.sampling_generator(config, gan, state)
  assert stats is state.g_stats
  config, gan, state = dcgan_run(standing=2)
  standing = generate.sampling_generator(config, gan, state)[1]
  named = evaluators.generators(config, gan, state)
  jax.tree.map(np.testing.assert_array_equal, named[''][1], standing)
  assert named['_raw'][1] is state.g_stats  # The raw generator keeps its running statistics.


def test_one_standing_batch_makes_inference_equal_the_train_mode_pass_on_it():
  """Oracle, a second code path: with one standing batch, every BatchNorm's standing
  statistics are the batch moments its input has in a train-mode pass over that batch, so
  inference with them on that batch gives the train-mode pass's images (and the running
  statistics, which a fresh EMA generator has, give other images)."""
  from jaxgan.gan import steps
  config, gan, state = dcgan_run(standing=1)
  params, standing = generate.sampling_generator(config, gan, state)
  z = generate.fixed_noise(config, generate.STANDING_NOISE_SALT, config.batch_size)
  train_mode = np.asarray(steps.generate(gan, params, state.g_stats, z, train=True)[0])
  with_standing = np.asarray(generate.make_sampler(gan)(params, standing, z))
  with_running = np.asarray(generate.make_sampler(gan)(params, state.g_stats, z))
  np.testing.assert_allclose(with_standing, train_mode, atol=1e-4)
  assert np.abs(with_running - train_mode).max() > 1e-2
  sampled = generate.generate_samples(config, gan, state, 4, seed=0)  # sample's path uses them.
  z4 = generate.seeded_noise(config, 4, 0, 0.0)
  np.testing.assert_allclose(sampled, generate.make_sampler(gan)(params, standing, z4),
                             atol=1e-6)
  assert np.abs(sampled - generate.make_sampler(gan)(params, state.g_stats, z4)).max() > 1e-2


def test_checkpoints_store_them_and_readers_use_the_stored_ones(tmp_path, monkeypatch):
  config = tiny(get_config('dcgan_digits'), steps=4)
  config.model.ema_standing_batches = 2
  config.evals = ml_collections.ConfigDict({'diversity': dict(every=4, num_samples=32)})
  config.best_metric = 'diversity'
  workdir = str(tmp_path / 'run')
  state = train.train_and_evaluate(config, workdir)
  config, gan, restored, stored = generate.load_run(workdir)
  recomputed = generate.standing_stats(config, gan, state.ema_params, state.g_stats)
  jax.tree.map(np.testing.assert_array_equal, stored, recomputed)
  best = generate.load_run(workdir, subdir='best')[3]  # The best checkpoint stores them too.
  jax.tree.map(np.testing.assert_array_equal, best, recomputed)

  # Readers take the stored numbers: recomputing them now would fail.
  monkeypatch.setattr(generate, 'standing_stats', lambda *a: pytest.fail('recomputed'))
  samples = generate.generate_samples(config, gan, restored, 4, seed=0, standing=stored)
  expected = generate.make_sampler(gan)(state.ema_params, recomputed, generate.noise(
      jax.random.PRNGKey(0), 4, config.model.z_dim))
  np.testing.assert_allclose(samples, expected, rtol=1e-6, atol=1e-6)
  step, scores = evaluate.evaluate_checkpoint(workdir, ['diversity'], num_samples=32)
  assert step == 4 and np.isfinite(scores['diversity'])


def test_a_checkpoint_without_them_is_read_and_they_are_recomputed(tmp_path):
  config = tiny(get_config('dcgan_digits'), steps=2)
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(config, workdir)  # ema_standing_batches=0: nothing stored.
  assert generate.load_run(workdir)[3] is None
  config.model.ema_standing_batches = 2  # As if they were switched on after this checkpoint.
  workdir_lib.write_config(workdir, config)
  config, gan, state, stored = generate.load_run(workdir)
  assert stored is None and generate.has_standing_stats(config, state)
  recomputed = generate.sampling_generator(config, gan, state)[1]
  assert not np.allclose(recomputed['norms'][0]['var'], state.g_stats['norms'][0]['var'])
