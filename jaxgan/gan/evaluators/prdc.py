"""Precision, recall (Kynkaanniemi et al. 2019), density, coverage (Naeem et al. 2020).

The real side: a fresh draw of a 2-D mixture (raw points), the held-out digits in the digits
classifier's stroke-layout space, or (at most `num_real`) real images in Inception's space.
"""

import functools

import numpy as np

from jaxgan.data import digits, gaussians
from jaxgan.gan.evaluators import common
from jaxgan.metrics import classifier, prdc, stats

METRICS = {'precision': 'max', 'recall': 'max', 'density': 'max', 'coverage': 'max'}
NUM_SAMPLES = 10_000
OPTIONS = common.INCEPTION_OPTIONS | {'k', 'num_real'}


def _reference(config, options, num: int):
  """(embed, real features) of the data's kind."""
  if config.data.name in gaussians.MIXTURES:
    points, _ = gaussians.sample_mixture(config.data.name, num, config.seed + 1)
    return np.asarray, lambda: points  # Fresh points: not the training draw.
  if config.data.name == 'digits':
    judge = common.space('digits').classifier
    # Digits neither the GAN nor the classifier trained on, in the classifier's stroke-layout
    # space (see DigitsClassifier.layout_features).
    return judge.layout_features, functools.cache(
        lambda: judge.layout_features(digits.digits_split(judge.image_size, 'test')[0]))
  space = common.image_space(config, 'prdc', options)

  @functools.cache
  def real():
    features = stats.reference(config, space)['features']
    picks = np.random.default_rng(0).permutation(len(features))[:num]
    return features[np.sort(picks)]
  return (lambda x: space(x)[0]), real


def build(config, options):
  embed, real = _reference(config, options, options.get('num_real', NUM_SAMPLES))
  k = options.get('k', 5)

  def evaluate(samples):
    return prdc.prdc(real(), embed(samples.outputs), k)
  return evaluate


def protocol(config, options):
  k = dict(k=options.get('k', 5))
  if config.data.name in gaussians.MIXTURES:
    return k | dict(features='raw 2-D points', reference=dict(
        data=config.data.name, num_real=options.get('num_real', NUM_SAMPLES),
        seed=config.seed + 1))
  if config.data.name == 'digits':
    return k | common.digits_protocol() | dict(
        features='layout (second convolution, 1024)',
        reference=dict(data='digits', split='test', image_size=classifier.IMAGE_SIZE))
  return k | common.inception_protocol(options) | dict(reference=common.reference_data(
      config) | {'num_real': options.get('num_real', NUM_SAMPLES)})
