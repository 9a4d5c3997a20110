"""What several evaluators share: start-up checks, feature spaces, reference data, protocols."""

from __future__ import annotations

import functools

from jaxgan.metrics import classifier, stats
from jaxgan.metrics import features as features_lib
from jaxgan.models import inception

INCEPTION_OPTIONS = frozenset({'weights', 'inception_size'})


def require(ok: bool, name: str, what: str) -> None:
  if not ok:
    raise ValueError(f'config.evals.{name} needs {what}; remove it from config.evals.')


@functools.cache
def space(name: str, weights: str = '', size: int = 0):
  """One feature extractor per space per process: FID, KID and IS share Inception's pass."""
  options = dict(weights=weights or None, size=size or None) if name == 'inception' else {}
  return features_lib.get_features(name, **options)


def image_space(config, name: str, options: dict):
  require(config.model.name != 'toy', name, 'image data (not 2-D points)')
  return space('inception', options.get('weights', ''), options.get('inception_size', 0))


def digits_space(config, name: str):
  require(config.data.name == 'digits', name, 'data.name=digits')
  return space('digits')


def reference(config, space_):
  """The real data's statistics in `space_`, read (or computed and cached) on first use."""
  return functools.cache(lambda: stats.reference(config, space_))


def reference_data(config) -> dict:
  """Protocol fields naming the real images (of config.data) a figure is measured against."""
  data = config.data
  named = dict(data=data.name, split=data.split, image_size=config.model.image_size,
               channels=config.model.channels)
  return named | ({'path': data.path} if data.name == 'folder' else {})


def inception_protocol(options: dict) -> dict:
  return dict(features='FID Inception-v3 (pytorch-fid weights)',
              weights=options.get('weights') or inception.WEIGHTS_FILE,
              input_size=options.get('inception_size') or inception.INPUT_SIZE)


def digits_protocol(confident: bool = False) -> dict:
  """The digits classifier that judges (version, input size), and its confidence threshold
  where a sample's reading counts only when confident."""
  named = dict(classifier=f'jaxgan digits classifier v{classifier.VERSION}',
               classifier_input_size=classifier.IMAGE_SIZE)
  return named | ({'confident': classifier.CONFIDENT} if confident else {})
