"""The SNGAN/SAGAN configs train 2 steps under tfds.testing.mock_data, at narrow widths."""

import importlib

import jax
import ml_collections
import numpy as np
import pytest
import tensorflow_datasets as tfds

from jaxgan.gan import train

BASELINES = ['sngan_cifar', 'sngan_projection_cifar', 'sagan_celeba', 'sngan_digits']


@pytest.mark.parametrize('name', BASELINES)
def test_baseline_config_trains_two_steps(name, tmp_path):
  config = importlib.import_module(f'configs.{name}').get_config()
  assert config.model.name in ('sngan', 'sngan_projection')
  config.num_steps, config.steps_per_call, config.batch_size = 2, 1, 4
  config.log_every = config.sample_every = config.checkpoint_every = 2
  config.num_grid_samples = 4
  config.model.g_features = config.model.d_features = 8  # Sizes and attention kept.
  config.evals, config.best_metric = ml_collections.ConfigDict(), ''
  config.optim.n_critic = min(config.optim.n_critic, 2)
  with tfds.testing.mock_data(num_examples=8):
    state = train.train_and_evaluate(config, str(tmp_path / name))
  assert int(state.step) == 2
  assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state.d_params))
  # Spectral norm's u vectors live in D's statistics (checkpointed with the state).
  assert any('u' in jax.tree_util.keystr(p) for p, _ in
             jax.tree_util.tree_flatten_with_path(state.d_stats)[0])
