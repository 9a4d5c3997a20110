"""Share of samples confidently read as their asked digit: overall, the worst digit's, each's."""

import numpy as np

from jaxgan.gan.evaluators import common
from jaxgan.metrics import classifier

METRICS = {'class_agreement': 'max', 'class_agreement_min': 'max'}  # And class_agreement/<k>.
NUM_SAMPLES = 1_000
OPTIONS = frozenset()


def build(config, options):
  del options
  space = common.digits_space(config, 'class_agreement')
  common.require(config.model.get('num_classes', 0) > 0, 'class_agreement',
                 'a class-conditional model (model.num_classes > 0)')

  def evaluate(samples):
    if samples.labels is None:  # Training always has them; samples from elsewhere may not.
      raise ValueError("class_agreement needs the samples' conditioning labels (the `labels` "
                       'array of a --samples .npz).')
    overall, per_class = classifier.class_agreement(space.classifier, samples.outputs,
                                                    samples.labels)
    return {'class_agreement': overall, 'class_agreement_min': float(np.nanmin(per_class))} | {
        f'class_agreement/{k}': float(v) for k, v in enumerate(per_class)}
  return evaluate


def protocol(config, options):
  del config, options
  return common.digits_protocol(confident=True)
