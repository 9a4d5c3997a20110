"""Data sources and the grain pipeline."""

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from testlib import get_config, tiny
from jaxgan.data import gaussians, pipeline, sources, transforms
from jaxgan.data.errors import DataError


def take(config, n, process_index=0, process_count=1):
  source = sources.build_source(config)
  ds = pipeline.build_dataset(config, source, process_index, process_count)
  return [ds[i] for i in range(n)]


def test_digits_batches_shape_and_range():
  config = tiny(get_config('dcgan_digits'))
  config.model.image_size = 32
  config.optim.n_critic = 3
  batch = take(config, 1)[0]
  assert batch['image'].shape == (3, 8, 32, 32, 1) and batch['image'].dtype == np.float32
  assert batch['image'].min() >= -1 and batch['image'].max() <= 1
  assert batch['label'].shape == (3, 8)


def test_epochs_are_reshuffled_and_cover_the_data():
  config = tiny(get_config('dcgan_digits'))
  config.data.max_examples = 16
  config.batch_size = 16
  first, second = [b['label'].ravel() for b in take(config, 2)]
  ds = pipeline.build_dataset(config, sources.build_source(config))
  # Each epoch is a permutation of the 16 examples, in a new order.
  source = sources.build_source(config)
  labels = [source[i]['label'] for i in range(16)]
  assert sorted(first) == sorted(labels) == sorted(second)
  assert len(ds[0]['image']) == 1
  assert not np.array_equal(take(config, 1)[0]['image'], ds[1]['image'])


def test_host_slices_partition_the_global_batch():
  config = tiny(get_config('dcgan_digits'))
  config.batch_size = 8
  config.optim.n_critic = 2
  whole = take(config, 2)
  parts = [take(config, 2, p, 2) for p in range(2)]
  for step in range(2):
    for k in range(2):  # Every micro-batch holds the same examples on 1 or 2 hosts.
      glob = sorted(map(bytes, whole[step]['image'][k].reshape(8, -1)))
      split = sorted(map(bytes, np.concatenate([p[step]['image'][k] for p in parts]).reshape(8, -1)))
      assert glob == split


def test_mixtures():
  points, comp = gaussians.sample_mixture('grid25', 5000, seed=0)
  centers, std = gaussians.MIXTURES['grid25']
  assert points.shape == (5000, 2) and len(np.unique(comp)) == 25
  np.testing.assert_allclose(np.std(points - centers[comp]), std, rtol=0.05)
  ring, _ = gaussians.MIXTURES['ring8']
  np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2.0)
  config = get_config('gan_grid25')
  assert take(config, 1)[0]['image'].shape == (1, 100, 2)


def test_cifar_mock_data():
  config = tiny(get_config('dcgan_cifar'))
  config.model.image_size = 32
  with tfds.testing.mock_data(num_examples=10):
    batch = take(config, 1)[0]
  assert batch['image'].shape == (1, 8, 32, 32, 3)


def test_missing_tfds_dataset_says_how_to_prepare_it(tmp_path):
  config = get_config('dcgan_cifar')
  config.data.tfds_dir = str(tmp_path)
  with pytest.raises(DataError, match='tfds build cifar10'):
    sources.build_source(config)


def test_missing_and_empty_folders(tmp_path):
  config = get_config('dcgan_digits')
  config.data.name = 'folder'
  config.data.path = str(tmp_path / 'nope')
  with pytest.raises(DataError, match='does not exist'):
    sources.build_source(config)
  (tmp_path / 'empty').mkdir()
  config.data.path = str(tmp_path / 'empty')
  with pytest.raises(DataError, match='no images'):
    sources.build_source(config)


def test_unknown_dataset_lists_valid_names():
  config = get_config('dcgan_digits')
  config.data.name = 'cifar100'
  with pytest.raises(DataError, match='cifar10'):
    sources.build_source(config)


def test_folder_images_of_any_mode_become_rgb(tmp_path):
  for i, mode in enumerate(['RGB', 'L', 'RGBA', 'P']):
    Image.new(mode, (40, 30), color=100 if mode in 'LP' else (10, 20, 30)[:len(mode)]).save(
        tmp_path / f'{i}.png')
  config = get_config('dcgan_digits')
  config.data.name, config.data.path = 'folder', str(tmp_path)
  config.model.image_size, config.model.channels = 16, 3
  source = sources.build_source(config)
  assert len(source) == 4
  for i in range(4):
    image = source[i]['image']
    assert image.shape == (16, 16, 3) and image.dtype == np.float32


def test_center_crop_resize_and_flip():
  image = np.zeros((40, 60, 3), np.uint8)
  image[:, 10:50] = 255  # The centred 40x40 square is white, the borders black.
  out = transforms.center_crop_resize(image, 20)
  assert out.shape == (20, 20, 3) and out.min() == 255
  example = {'image': np.arange(6).reshape(1, 6, 1)}
  flips = [transforms.random_flip(example, np.random.default_rng(s))['image'][0, 0, 0]
           for s in range(20)]
  assert set(flips) == {0, 5}
  np.testing.assert_array_equal(transforms.to_uint8(transforms.to_unit_range(image)), image)
