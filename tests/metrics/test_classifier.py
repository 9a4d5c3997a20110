"""The digits classifier: accuracy, calibration, what it refuses, determinism, cache, metrics."""

import io

import jax
import numpy as np
import pytest
import scipy.ndimage
import scipy.special
from sklearn.datasets import load_digits

from jaxgan.data.digits import digits_images, digits_split
from jaxgan.metrics import classifier as clf_lib
from jaxgan.metrics import prdc

FEW_STEPS = 3  # enough to exercise training; accuracy is tested on the full recipe
NOT_DIGITS = 0.3  # The most of each kind of non-digit the classifier may read confidently.


@pytest.fixture(scope='module')
def cache(tmp_path_factory):
  with pytest.MonkeyPatch.context() as mp:
    path = tmp_path_factory.mktemp('jaxgan_cache')
    mp.setenv('JAXGAN_CACHE', str(path))
    yield path


@pytest.fixture(scope='module')
def trained():
  return clf_lib.build_digits_classifier()  # the recipe, run here: the module's one training


@pytest.fixture(scope='module', params=['trained', 'shipped'])
def classifier(request, trained):
  """Each property holds for the recipe run on this machine and for the shipped weights."""
  if request.param == 'trained':
    return trained
  with pytest.MonkeyPatch.context() as mp:
    mp.setattr(clf_lib, 'build_digits_classifier', _no_training)
    return clf_lib.load_digits_classifier()


@pytest.fixture(scope='module')
def held_out():
  return digits_split(32, 'test')


def _no_training(*args, **kwargs):
  raise AssertionError('trained although a valid cache file exists')


# Bad inputs, built here independently of the classifier's own training negatives
# (jaxgan.metrics.digit_views): other shapes, other noise, held-out digits.


def blobs(n: int, seed: int = 0) -> np.ndarray:
  """Smooth random blobs and filled ellipses, white on black, 32 px."""
  rng = np.random.default_rng(seed)
  masks = scipy.ndimage.gaussian_filter(rng.random((n, 32, 32)), (0, 3, 3))
  masks = masks > np.median(masks, axis=(1, 2), keepdims=True) + 0.02
  yy, xx = np.mgrid[:32, :32]
  for i in range(0, n, 2):  # Every other image an ellipse instead.
    cy, cx = rng.uniform(10, 22, 2)
    a, b = rng.uniform(4, 11, 2)
    t = rng.uniform(0, np.pi)
    u = (yy - cy) * np.cos(t) + (xx - cx) * np.sin(t)
    v = (xx - cx) * np.cos(t) - (yy - cy) * np.sin(t)
    masks[i] = (u / a) ** 2 + (v / b) ** 2 <= 1
  images = scipy.ndimage.gaussian_filter(np.where(masks, 1.0, -1.0), (0, 1, 1))
  return images[..., None].astype(np.float32)


def uniform_noise(n: int, seed: int = 1) -> np.ndarray:
  return np.random.default_rng(seed).uniform(-1, 1, (n, 32, 32, 1)).astype(np.float32)


def blanks(n: int) -> np.ndarray:
  return np.repeat(np.linspace(-1, 1, n, dtype=np.float32), 32 * 32).reshape(n, 32, 32, 1)


def averaged_pairs(images, labels, n: int, seed: int = 2) -> np.ndarray:
  """Pixel means of two real digits of different classes."""
  rng = np.random.default_rng(seed)
  i, j = rng.integers(0, len(labels), (2, 4 * n))
  keep = labels[i] != labels[j]
  return ((images[i[keep]] + images[j[keep]]) / 2)[:n]


def bad_inputs(held_out, n: int = 300) -> dict[str, np.ndarray]:
  return dict(blobs=blobs(n), noise=uniform_noise(n), blanks=blanks(n),
              averaged_pairs=averaged_pairs(*held_out, n))


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


def test_splits_partition_the_digits():
  images, labels = digits_images(8)
  (train_x, train_y), (test_x, test_y) = (digits_split(8, s) for s in ('train', 'test'))
  assert len(test_y) == 176 and len(train_y) == 1621  # every 10th of each digit held out
  np.testing.assert_array_equal(test_x[test_y == 4], images[labels == 4][9::10])
  np.testing.assert_array_equal(np.sort(np.concatenate([train_y, test_y])), np.sort(labels))
  assert set(np.bincount(test_y, minlength=10)) == {17, 18}  # balanced over classes
  with pytest.raises(ValueError, match="data.split='validation'.*'train', 'test', 'all'"):
    digits_split(8, 'validation')


def test_held_out_accuracy_and_confidence(classifier, held_out):
  images, labels = held_out
  predicted, confident = classifier.read(images)
  assert (predicted == labels).mean() >= 0.97
  assert confident.mean() >= 0.9
  assert ((predicted == labels) | ~confident).mean() >= 0.99  # confident means right


@pytest.mark.parametrize('kind', ['blobs', 'noise', 'blanks', 'averaged_pairs'])
def test_not_digits_are_not_read_confidently(classifier, held_out, kind):
  images = bad_inputs(held_out)[kind]
  assert clf_lib.digits_confident(classifier, images) < NOT_DIGITS


def test_what_a_reader_ignores_stays_confident(classifier, held_out):
  """Shifts, blur, lower contrast and noise leave a digit readable (issue: 77-100%)."""
  images, labels = held_out
  shifted = np.full_like(images, -1.0)
  shifted[:, :, 2:] = images[:, :, :-2]  # 2 px at 32 px
  noisy = np.clip(images + np.random.default_rng(3).normal(0, 40 / 255, images.shape), -1, 1)
  for name, views in dict(shifted=shifted,
                          blurred=scipy.ndimage.gaussian_filter(images, (0, 1, 1, 0)),
                          low_contrast=-1 + 0.7 * (images + 1), noisy=noisy).items():
    predicted, confident = classifier.read(views)
    assert confident.mean() >= 0.75, name
    assert (predicted == labels).mean() >= 0.9, name


def test_fit_temperature_recovers_a_known_temperature():
  """Labels drawn from softmax(z / 2.5) give back T = 2.5 (the MLE, up to sampling)."""
  rng = np.random.default_rng(0)
  logits = rng.normal(0, 4, (20_000, 10))
  probs = scipy.special.softmax(logits / 2.5, axis=1)
  labels = (probs.cumsum(1) > rng.random((len(probs), 1))).argmax(1)
  assert clf_lib.fit_temperature(logits, np.eye(10)[labels]) == pytest.approx(2.5, rel=0.03)
  # Soft targets: the temperature whose softmax equals them exactly.
  assert clf_lib.fit_temperature(logits[:500], probs[:500]) == pytest.approx(2.5, rel=1e-3)


def test_probabilities_are_the_calibrated_softmax(classifier, held_out):
  images = held_out[0][:20]
  raw = clf_lib.DigitsClassifier(classifier.graphdef, classifier.params,
                                 classifier.image_size).logits(images)
  np.testing.assert_allclose(classifier.logits(images), raw / classifier.temperature, rtol=1e-5)
  np.testing.assert_allclose(classifier.probabilities(images),
                             scipy.special.softmax(raw / classifier.temperature, axis=1),
                             rtol=1e-5, atol=1e-7)


def test_output_shapes_and_chunking(classifier):
  images = digits_images(32)[0][:300]  # more than one inference chunk, resized to 16 px
  logits, features = classifier.logits(images), classifier.features(images)
  assert logits.shape == (300, 10) and logits.dtype == np.float32
  assert features.shape == (300, 128) and features.dtype == np.float32
  assert classifier.layout_features(images).shape == (300, 4 * 4 * 64)
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


def test_the_shipped_classifier_is_loaded_without_training(tmp_path, monkeypatch):
  monkeypatch.setenv('JAXGAN_CACHE', str(tmp_path))
  assert clf_lib.shipped_path(clf_lib.IMAGE_SIZE).exists()
  monkeypatch.setattr(clf_lib, 'build_digits_classifier', _no_training)
  shipped = clf_lib.load_digits_classifier()
  assert shipped.image_size == clf_lib.IMAGE_SIZE and 0.3 < shipped.temperature < 3
  assert not list(tmp_path.iterdir())  # nothing trained or cached


def test_cache_is_reused(cache, monkeypatch):
  """Sizes without shipped weights are trained once, cached atomically, then read back."""
  real_build = clf_lib.build_digits_classifier
  monkeypatch.setattr(clf_lib, 'build_digits_classifier',
                      lambda size: real_build(size, steps=FEW_STEPS))
  first = clf_lib.load_digits_classifier(32)
  path = clf_lib.cache_path(32)
  assert path.parent == cache and path.exists()
  assert not list(cache.glob('*.tmp'))  # the atomic write left nothing behind
  monkeypatch.setattr(clf_lib, 'build_digits_classifier', _no_training)
  again = clf_lib.load_digits_classifier(32)
  images = digits_images(32)[0][:20]
  assert again.temperature == first.temperature
  np.testing.assert_array_equal(again.logits(images), first.logits(images))


def _truncated_npz():
  buffer = io.BytesIO()
  np.savez(buffer, w=np.ones((64, 64), np.float32))
  return buffer.getvalue()[:200]


@pytest.mark.parametrize('corrupt', [b'not an npz file', _truncated_npz()])
def test_corrupt_cache_is_retrained_and_overwritten(corrupt, tmp_path, monkeypatch):
  monkeypatch.setenv('JAXGAN_CACHE', str(tmp_path))
  path = clf_lib.cache_path(32)  # no shipped weights at 32 px
  path.write_bytes(corrupt)
  built = []
  real_build = clf_lib.build_digits_classifier

  def quick_build(image_size):
    built.append(image_size)
    return real_build(image_size, steps=FEW_STEPS)

  monkeypatch.setattr(clf_lib, 'build_digits_classifier', quick_build)
  first = clf_lib.load_digits_classifier(32)
  assert built == [32] and path.read_bytes() != corrupt
  monkeypatch.setattr(clf_lib, 'build_digits_classifier', _no_training)
  second = clf_lib.load_digits_classifier(32)
  images = digits_images(32)[0][:20]
  assert second.temperature == first.temperature
  np.testing.assert_array_equal(first.logits(images), second.logits(images))


def test_class_agreement_counts_confident_samples_only(classifier, held_out):
  images, labels = held_out
  overall, per_class = clf_lib.class_agreement(classifier, images, labels)
  assert overall >= 0.9 and per_class.shape == (10,) and (per_class >= 0.75).all()

  wrong, _ = clf_lib.class_agreement(classifier, images, (labels + 1) % 10)
  assert wrong <= 0.05
  shuffled = np.random.default_rng(0).permutation(labels)
  assert clf_lib.class_agreement(classifier, images, shuffled)[0] <= 0.3

  # Blobs asked to be the digit the classifier's argmax names: every argmax hit, no agreement.
  not_digits = blobs(100)
  hits, _ = clf_lib.class_agreement(classifier, not_digits, classifier.predict(not_digits))
  assert hits < NOT_DIGITS

  low = labels < 5  # classes without samples are NaN, not 0 or 1
  _, partial = clf_lib.class_agreement(classifier, images[low], labels[low])
  assert np.isnan(partial[5:]).all() and (partial[:5] >= 0.75).all()


def test_class_coverage_counts_confident_samples_only(classifier, held_out):
  images, labels = held_out
  shares, present = clf_lib.class_coverage(classifier, images)
  assert present == 10 and shares.shape == (10,)
  np.testing.assert_allclose(shares.sum(), 1.0)
  np.testing.assert_allclose(shares, np.bincount(labels) / len(labels), atol=0.03)

  threes, present = clf_lib.class_coverage(classifier, images[labels == 3])  # a collapsed mode
  assert present == 1 and threes[3] >= 0.95
  for kind, bad in bad_inputs(held_out).items():  # an argmax alone would cover every digit
    assert clf_lib.class_coverage(classifier, bad)[1] <= 1, kind
  shares, present = clf_lib.class_coverage(classifier, blanks(50))
  assert present == 0 and not shares.any()


def test_prdc_in_the_layout_space_passes_real_digits_and_fails_bad_ones(classifier, held_out):
  """Held-out real digits against the training digits pass the quick start's bar (precision
  >= 0.7, recall >= 0.5); every bad input fails it. Blobs, noise and blanks fail fidelity
  (precision, density); averaged pairs keep a high precision, since an average shares its
  strokes with real digits, and fail recall."""
  real = classifier.layout_features(held_out[0])
  train_images, _ = digits_split(32, 'train')
  ok = prdc.prdc(real, classifier.layout_features(train_images[:1000]))
  assert ok['precision'] >= 0.85 and ok['recall'] >= 0.85 and ok['coverage'] >= 0.9
  assert 0.7 <= ok['density'] <= 1.3
  scores = {kind: prdc.prdc(real, classifier.layout_features(bad))
            for kind, bad in bad_inputs(held_out, 1000).items()}
  for kind in ('blobs', 'noise', 'blanks'):
    assert scores[kind]['precision'] < 0.1 and scores[kind]['density'] < 0.1, kind
    assert scores[kind]['coverage'] < 0.1, kind
  for kind in ('noise', 'blanks'):
    assert scores[kind]['recall'] < 0.1, kind
  assert scores['averaged_pairs']['recall'] < 0.5
