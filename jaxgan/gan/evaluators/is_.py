"""IS, the Inception score (Salimans et al. 2016): `config.evals['is']` (`is` is a keyword)."""

from jaxgan.gan.evaluators import common
from jaxgan.metrics import fid

METRICS = {'is': 'max', 'is_std': 'min'}
NUM_SAMPLES = 10_000
OPTIONS = common.INCEPTION_OPTIONS | {'splits'}


def build(config, options):
  space = common.image_space(config, 'is', options)

  def evaluate(samples):
    mean, std = fid.inception_score(space(samples.outputs)[1], options.get('splits', 10))
    return {'is': mean, 'is_std': std}
  return evaluate


def protocol(config, options):
  del config
  return common.inception_protocol(options) | {'splits': options.get('splits', 10)}
