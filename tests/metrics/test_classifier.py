"""The digits classifier: accuracy, determinism, cache, and the metrics built on it."""

import io

import jax
import numpy as np
import pytest
from sklearn.datasets import load_digits

from jaxgan.data.digits import digits_images
from jaxgan.metrics import classifier as clf_lib

FEW_STEPS = 3  # enough to exercise training; accuracy is tested on the full recipe


@pytest.fixture(scope='module')
def cache(tmp_path_factory):
  with pytest.MonkeyPatch.context() as mp:
    path = tmp_path_factory.mktemp('jaxgan_cache')
    mp.setenv('JAXGAN_CACHE', str(path))
    yield path


@pytest.fixture(scope='module')
def classifier(cache):
  return clf_lib.load_digits_classifier(32)  # the one full training of this module


@pytest.fixture(scope='module')
def held_out():
  return clf_lib.digits_split(32)[1]


def _no_training(*args, **kwargs):
  raise AssertionError('trained although a valid cache file exists')


@pytest.mark.parametrize('size', [16, 32])
def test_digits_images_shapes_range_dtype(size):
  images, labels = digits_images(size)
  assert images.shape == (1797, size, size, 1) and images.dtype == np.float32
  assert labels.shape == (1797,) and labels.dtype == np.int32
  assert images.min() >= -1.0 and images.max() <= 1.0 and images.max() > 0.9
  assert set(np.unique(labels)) == set(range(10))


def test_digits_images_native_size_is_the_scaled_source():
  images, labels = digits_images(8)
  source = load_digits()
  np.testing.assert_array_equal(images[..., 0], source.images / 8.0 - 1.0)
  np.testing.assert_array_equal(labels, source.target)
  with pytest.raises(ValueError):
    digits_images(4)


def test_held_out_accuracy(classifier, held_out):
  images, labels = held_out
  assert len(labels) == 179  # every 10th of 1,797
  assert (classifier.predict(images) == labels).mean() >= 0.95


def test_other_input_sizes_are_resized(classifier):
  images16, labels = clf_lib.digits_split(16)[1]
  assert (classifier.predict(images16) == labels).mean() >= 0.9


def test_output_shapes_and_chunking(classifier):
  images = digits_images(32)[0][:300]  # more than one inference chunk
  logits, features = classifier.logits(images), classifier.features(images)
  assert logits.shape == (300, 10) and logits.dtype == np.float32
  assert features.shape == (300, 128) and features.dtype == np.float32
  assert np.isfinite(features).all()
  assert classifier.predict(images).dtype == np.int32
  np.testing.assert_allclose(
      np.concatenate([classifier.logits(images[:7]), classifier.logits(images[7:])]), logits,
      atol=1e-5)
  assert classifier.features(images[:0]).shape == (0, 128)
  with pytest.raises(ValueError):
    classifier.predict(np.zeros((2, 32, 32, 3)))


def test_training_is_bitwise_deterministic():
  _, first = clf_lib.train_digits_classifier(16, steps=FEW_STEPS)
  _, second = clf_lib.train_digits_classifier(16, steps=FEW_STEPS)
  _, other_seed = clf_lib.train_digits_classifier(16, steps=FEW_STEPS, seed=1)
  for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(second)):
    np.testing.assert_array_equal(a, b)
  assert not all(map(np.array_equal, jax.tree.leaves(first), jax.tree.leaves(other_seed)))


def test_cache_is_reused(classifier, cache, held_out, monkeypatch):
  assert clf_lib.cache_path(32).parent == cache and clf_lib.cache_path(32).exists()
  assert not list(cache.glob('*.tmp'))  # the atomic write left nothing behind
  monkeypatch.setattr(clf_lib, 'train_digits_classifier', _no_training)
  again = clf_lib.load_digits_classifier(32)
  images, _ = held_out
  np.testing.assert_array_equal(again.logits(images), classifier.logits(images))


def _truncated_npz():
  buffer = io.BytesIO()
  np.savez(buffer, w=np.ones((64, 64), np.float32))
  return buffer.getvalue()[:200]


@pytest.mark.parametrize('corrupt', [b'not an npz file', _truncated_npz()])
def test_corrupt_cache_is_retrained_and_overwritten(corrupt, tmp_path, monkeypatch):
  monkeypatch.setenv('JAXGAN_CACHE', str(tmp_path))
  path = clf_lib.cache_path(16)
  path.write_bytes(corrupt)
  trained = []
  real_train = clf_lib.train_digits_classifier

  def quick_train(image_size):
    trained.append(image_size)
    return real_train(image_size, steps=FEW_STEPS)

  monkeypatch.setattr(clf_lib, 'train_digits_classifier', quick_train)
  first = clf_lib.load_digits_classifier(16)
  assert trained == [16] and path.read_bytes() != corrupt
  monkeypatch.setattr(clf_lib, 'train_digits_classifier', _no_training)
  second = clf_lib.load_digits_classifier(16)
  images = digits_images(16)[0][:20]
  np.testing.assert_array_equal(first.logits(images), second.logits(images))


def test_class_agreement(classifier, held_out):
  images, labels = held_out
  overall, per_class = clf_lib.class_agreement(classifier, images, labels)
  assert overall >= 0.95 and per_class.shape == (10,) and (per_class >= 0.8).all()

  wrong, _ = clf_lib.class_agreement(classifier, images, (labels + 1) % 10)
  assert wrong <= 0.05
  shuffled = np.random.default_rng(0).permutation(labels)
  assert clf_lib.class_agreement(classifier, images, shuffled)[0] <= 0.3

  low = labels < 5  # classes without samples are NaN, not 0 or 1
  _, partial = clf_lib.class_agreement(classifier, images[low], labels[low])
  assert np.isnan(partial[5:]).all() and (partial[:5] >= 0.8).all()


def test_class_coverage(classifier, held_out):
  images, labels = held_out
  histogram, seen = clf_lib.class_coverage(classifier, images)
  assert seen == 10 and histogram.shape == (10,)
  np.testing.assert_allclose(histogram.sum(), 1.0)
  np.testing.assert_allclose(histogram, np.bincount(labels) / len(labels), atol=0.03)

  threes, seen = clf_lib.class_coverage(classifier, images[labels == 3])  # a collapsed mode
  assert seen <= 2 and threes[3] >= 0.9
