"""Digits present among the confident samples, and total variation to the real class mix."""

import numpy as np

from jaxgan.data import digits
from jaxgan.gan.evaluators import common
from jaxgan.metrics import classifier

METRICS = {'classes_covered': 'max', 'class_tv': 'min'}
NUM_SAMPLES = 1_000
OPTIONS = frozenset()


def build(config, options):
  del options
  space = common.digits_space(config, 'class_coverage')
  labels = digits.digits_split(8, config.data.split)[1]
  real = np.bincount(labels, minlength=digits.NUM_CLASSES) / len(labels)

  def evaluate(samples):
    shares, present = classifier.class_coverage(space.classifier, samples.outputs)
    return {'classes_covered': present, 'class_tv': 0.5 * float(np.abs(shares - real).sum())}
  return evaluate


def protocol(config, options):
  del options
  return common.digits_protocol(confident=True) | dict(
      min_class_share=classifier.MIN_CLASS_SHARE, real_class_mix=f'digits/{config.data.split}')
