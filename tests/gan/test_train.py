"""End-to-end training: every config runs, training improves, runs resume from checkpoints."""

import glob
import os

import jax
import ml_collections
import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from testlib import build_gan, get_config, read_scalars, tiny
from jaxgan.gan import train
from jaxgan.run import checkpoint, sharding

ALL_CONFIGS = ['dcgan_celeba', 'dcgan_cifar', 'wgan_cifar', 'wgan_gp_cifar', 'dcgan_anime',
               'wgan_gp_anime', 'dcgan_digits', 'gan_grid25', 'wgan_gp_grid25', 'wgan_gp_ring8']


def make_image_folder(path, n=12):
  rng = np.random.default_rng(0)
  os.makedirs(os.path.join(path, 'sub'), exist_ok=True)
  for i in range(n):  # Mixed sizes, modes and formats, in nested folders.
    size = (96, 96) if i % 2 else (120, 100)
    mode = ('RGB', 'L', 'RGBA', 'P')[i % 4]
    image = Image.fromarray(rng.integers(0, 255, size + (3,), dtype=np.uint8)).convert(mode)
    image.save(os.path.join(path, 'sub' if i % 3 else '', f'{i}.png'))
  return path


@pytest.mark.parametrize('name', ALL_CONFIGS)
def test_every_config_trains_a_few_steps(name, workdir, tmp_path):
  config = tiny(get_config(name), steps=2)
  config.data.max_examples = 0
  if config.data.name == 'folder':
    config.data.path = make_image_folder(str(tmp_path / 'images'))
  with tfds.testing.mock_data(num_examples=16):
    state = train.train_and_evaluate(config, workdir)
  assert int(state.step) == 2
  assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state.g_params))
  assert glob.glob(os.path.join(workdir, 'samples', 'step_*.png'))
  assert glob.glob(os.path.join(workdir, 'events.out.tfevents.*'))
  assert checkpoint.Checkpointer(workdir, 1).latest_step() == 2


def test_resume_continues_the_step_count(workdir):
  config = tiny(get_config('dcgan_digits'), steps=3)
  config.checkpoint_every = 3
  train.train_and_evaluate(config, workdir)
  config.num_steps = 5
  state = train.train_and_evaluate(config, workdir)
  assert int(state.step) == 5
  assert checkpoint.Checkpointer(workdir, 3).manager.all_steps() == [3, 5]


@pytest.mark.slow
def test_digits_training_improves(workdir):
  """1,000 steps of the quick start's recipe: samples become digits a classifier reads.

  At initialisation no sample is read as a digit; the run's own logged digits_confident and
  precision of the raw generator are recomputed from its checkpoint, and they have risen.
  """
  config = get_config('dcgan_digits')
  config.num_steps = 1_000
  config.sample_every = config.checkpoint_every = 1_000
  config.evals = ml_collections.ConfigDict({
      name: dict(every=1_000, num_samples=500) for name in ('digits_confident', 'prdc')})
  config.best_metric = ''
  state = train.train_and_evaluate(config, workdir)
  from jaxgan.gan import evaluators
  from jaxgan.metrics import classifier
  mesh = sharding.make_mesh()
  gan, _, init = build_gan(config, mesh)
  generate = evaluators.make_generator(config, gan, mesh)
  judge = classifier.load_digits_classifier()
  start = generate(init().g_params, init().g_stats, 500).outputs
  end = generate(state.g_params, state.g_stats, 500).outputs
  assert classifier.digits_confident(judge, start) < 0.05
  confident = read_scalars(workdir, 'eval_digits_confident_raw')
  assert confident[-1] == (1_000, pytest.approx(classifier.digits_confident(judge, end)))
  assert confident[-1][1] >= 0.3, confident
  assert read_scalars(workdir, 'eval_precision_raw')[-1][1] >= 0.5
  # A second judge, made differently (no training, no network): nearest real digit in 8x8
  # pixel space. Real held-out digits lie within its 95th-percentile distance; so do far more
  # samples at the end than at the start, and where both judges accept a sample they mostly
  # name the same digit.
  near_start, _ = nearest_real_digit(start)
  near, knn_label = nearest_real_digit(end)
  predicted, sure = judge.read(end)
  assert near.mean() >= 0.3 and near.mean() >= near_start.mean() + 0.25, (near.mean(),
                                                                          near_start.mean())
  both = near & sure
  assert both.sum() >= 50 and (knn_label[both] == predicted[both]).mean() >= 0.8


def nearest_real_digit(images):
  """(bool near, int label) per image: block-averaged to sklearn's 8x8 grid, is its nearest
  real training digit within the 95th percentile of real held-out digits' nearest distance, and
  that digit's label. Independent of the project's classifier."""
  from scipy.spatial import cKDTree
  from jaxgan.data.digits import digits_split
  def to_8px(x):
    x = np.asarray(x, np.float64)[..., 0]
    f = x.shape[1] // 8
    return x.reshape(len(x), 8, f, 8, f).mean(axis=(2, 4)).reshape(len(x), 64)
  train_images, train_labels = digits_split(8, 'train')
  tree = cKDTree(to_8px(train_images))
  threshold = np.percentile(tree.query(to_8px(digits_split(8, 'test')[0]))[0], 95)
  distance, index = tree.query(to_8px(images))
  return distance <= threshold, train_labels[index]


@pytest.mark.slow
def test_grid25_training_improves(workdir):
  """Generated points move toward the mixture: per-axis Wasserstein-1 distance (scipy) drops."""
  from scipy.stats import wasserstein_distance
  from jaxgan.data import gaussians
  from jaxgan.gan import generate
  config = get_config('wgan_gp_grid25')
  config.num_steps = 400
  config.sample_every = 400
  config.checkpoint_every = 400
  state = train.train_and_evaluate(config, workdir)
  gan, _, init = build_gan(config)
  real, _ = gaussians.sample_mixture('grid25', 2000, seed=1)

  def distance(points):
    return sum(wasserstein_distance(points[:, a], real[:, a]) for a in range(2))
  # The raw generator: 400 steps are too few for the 0.999 EMA to follow it.
  start = generate.generate_samples(config, gan, init(), 2000, seed=0, use_ema=False)
  end = generate.generate_samples(config, gan, state, 2000, seed=0, use_ema=False)
  assert distance(end) < 0.5 * distance(start)
