"""Share of samples the digits classifier reads as a digit with probability >= 0.7."""

from jaxgan.gan.evaluators import common
from jaxgan.metrics import classifier

METRICS = {'digits_confident': 'max'}
NUM_SAMPLES = 1_000
OPTIONS = frozenset()


def build(config, options):
  del options
  space = common.digits_space(config, 'digits_confident')

  def evaluate(samples):
    return {'digits_confident': classifier.digits_confident(space.classifier, samples.outputs)}
  return evaluate


def protocol(config, options):
  del config, options
  return common.digits_protocol(confident=True)
