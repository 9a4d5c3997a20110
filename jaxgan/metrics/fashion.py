"""Fashion-MNIST figures of a set of samples, judged by a shipped Fashion-MNIST classifier.

One pass of the judge (jaxgan.metrics.fashion_classifier) gives every figure:
  fd               Frechet distance of its features to those of the test split (10,000 images)
  confident        share of samples read as a garment with calibrated probability >= 0.7
  classes          classes that at least 3% of all samples are confidently read as
  class_tv         total variation of the confident samples' class mix to the test split's
  precision, recall, density, coverage   (k = 5) in the same features, against the test split
  agreement, agreement_min, agreement/k  conditional samples confidently read as their label

The same figures of real images are the ceiling: `real_figures` scores the 10,000 training
images the judges never trained on (train[50000:]) exactly as samples are scored, so a perfect
generator reaches them, not zero or one.

Samples are quantised to uint8 first (as saved samples are), and samples of another size are
resized to 32 px as the data pipeline resizes Fashion-MNIST (PIL bilinear on uint8): a 28 px
sample is prepared exactly as the test images were. The test split is never compared at 28 px.
"""

from __future__ import annotations

import functools

import numpy as np

from jaxgan.data import fashion_mnist
from jaxgan.data.transforms import to_uint8
from jaxgan.metrics import fashion_classifier, fid, prdc

MIN_CLASS_SHARE = 0.03  # A class is present when 3% of all samples are confidently read as it.
PRDC_K = 5
SIZES_TRAIN = fashion_mnist.SIZES['train']  # The release's training split.
REAL_SEED = 0  # Which held-out training images stand for "real" when fewer than 10,000 are asked.


def to_judge_input(samples) -> tuple[np.ndarray, str]:
  """(float32 (N, 32, 32, 1) in [-1, 1] as the judge reads it, how the size was handled).

  `samples`: float images in [-1, 1] or uint8 [0, 255], NHWC with 1 channel (or NHW)."""
  samples = np.asarray(samples)
  if samples.ndim == 3:
    samples = samples[..., None]
  if samples.ndim != 4 or samples.shape[-1] != 1:
    raise ValueError(f'Fashion-MNIST samples are grayscale (N, H, W, 1); got shape '
                     f'{samples.shape}.')
  pixels = samples if samples.dtype == np.uint8 else to_uint8(samples)
  size = fashion_classifier.IMAGE_SIZE
  handled = 'as they are (32 px)'
  if pixels.shape[1:3] != (size, size):
    handled = (f'resized from {pixels.shape[1]}x{pixels.shape[2]} to {size} px with PIL '
               f'bilinear on uint8 (as the data pipeline prepares the test split)')
    if pixels.shape[1] != pixels.shape[2]:
      raise ValueError(f'Fashion-MNIST samples must be square; got {pixels.shape[1:3]}.')
    pixels = fashion_mnist.resize(pixels[..., 0], size)
  return pixels.astype(np.float32) / 127.5 - 1.0, handled


class Scorer:
  """All figures of one judge against the test split; reference features computed on first use.

  `path`/`tfds_dir`: where the data live (config.data.path / tfds_dir), for the test split.
  """

  def __init__(self, judge: str = 'main', path: str = '', tfds_dir: str = ''):
    self.judge_name, self.path, self.tfds_dir = judge, path, tfds_dir

  @functools.cached_property
  def judge(self):
    return fashion_classifier.load(self.judge_name)

  @functools.cached_property
  def reference(self) -> dict:
    images, labels, origin = fashion_mnist.prepared('test', fashion_classifier.IMAGE_SIZE,
                                                    self.path, self.tfds_dir)
    features = self.judge.features(images.astype(np.float32) / 127.5 - 1.0)
    mu, sigma = fid.feature_statistics(features)
    mix = np.bincount(labels, minlength=fashion_classifier.NUM_CLASSES) / len(labels)
    return dict(features=features, mu=mu, sigma=sigma, mix=mix, origin=origin)

  def score(self, samples, labels=None) -> dict[str, float]:
    """Every figure of `samples` (and per-class agreement if `labels` are given)."""
    x, _ = to_judge_input(samples)
    if len(x) <= PRDC_K:
      raise ValueError(f'Fashion-MNIST figures need more than {PRDC_K} samples; got {len(x)}.')
    features = self.judge.features(x)
    predicted, confident = fashion_classifier.garment_reading(self.judge.probabilities(x))
    ref = self.reference
    mu, sigma = fid.feature_statistics(features)
    counts = np.bincount(predicted[confident], minlength=fashion_classifier.NUM_CLASSES)
    figures = {
        'fd': fid.frechet_distance(mu, sigma, ref['mu'], ref['sigma']),
        'confident': float(confident.mean()),
        'classes': int((counts >= max(MIN_CLASS_SHARE * len(x), 1)).sum()),
        'class_tv': 0.5 * float(np.abs(counts / max(counts.sum(), 1) - ref['mix']).sum()),
    }
    figures |= prdc.prdc(ref['features'], features, PRDC_K)
    if labels is not None:
      figures |= agreement(predicted, confident, labels)
    return figures

  @functools.lru_cache(maxsize=4)
  def real_figures(self, num: int, conditional: bool = False) -> dict[str, float]:
    """The figures of `num` (<= 10,000) real training images the judges never saw (train[50000:]
    of the release): the ceiling. {} when the data hold no such images (a subset such as the
    tests' fixture, whose training images are not numbered as the release's)."""
    _, (images, labels) = fashion_classifier.training_split(fashion_classifier.IMAGE_SIZE,
                                                            self.path)
    if len(images) < num or len(images) + fashion_classifier.TRAIN_IMAGES != SIZES_TRAIN:
      return {}
    picks = np.sort(np.random.default_rng(REAL_SEED).permutation(len(images))[:num])
    return self.score(images[picks], labels[picks] if conditional else None)

  def protocol(self, num_samples: int, seed: int | None = None) -> dict:
    """How the figures were measured: written beside every figure."""
    ref = self.reference
    return {
        'judge': fashion_classifier.version(self.judge_name),
        'num_samples': int(num_samples),
        'reference': {'data': 'fashion_mnist', 'split': 'test', 'count': len(ref['features']),
                      'origin': ref['origin'],
                      'prepared': 'PIL bilinear 28 -> 32 px on uint8, then [-1, 1]'},
        'samples': 'quantised to uint8; other sizes resized to 32 px with PIL bilinear',
        'real': f'{min(num_samples, 10_000)} held-out training images (train[50000:], never '
                f'seen by the judges), scored as the samples',
        'confident_threshold': fashion_classifier.CONFIDENT, 'prdc_k': PRDC_K, 'min_class_share': MIN_CLASS_SHARE,
        'seed': seed,
    }


def agreement(predicted, confident, labels) -> dict[str, float]:
  """Share of samples confidently read as their conditioning label: overall, worst, per class.

  A class without samples gets NaN, so it cannot pass for a perfect or a failed class."""
  labels = np.asarray(labels, np.int64)
  hits = (predicted == labels) & confident
  n = fashion_classifier.NUM_CLASSES
  counts = np.bincount(labels, minlength=n)
  with np.errstate(invalid='ignore', divide='ignore'):
    per_class = np.bincount(labels, weights=hits, minlength=n) / counts
  return {'agreement': float(hits.mean()), 'agreement_min': float(np.nanmin(per_class))} | {
      f'agreement/{k}': float(v) for k, v in enumerate(per_class)}


@functools.cache
def shared_scorer(judge: str = 'main', path: str = '', tfds_dir: str = '') -> Scorer:
  """One Scorer per judge and data location per process: the reference is featurised once."""
  return Scorer(judge, path, tfds_dir)
