"""VEEGAN/PacGAN: modes with a sample within 3 std, and the fraction of such samples."""

from jaxgan.data import gaussians
from jaxgan.gan.evaluators import common
from jaxgan.metrics import coverage

METRICS = {'modes_covered': 'max', 'high_quality': 'max'}
NUM_SAMPLES = 2_500
OPTIONS = frozenset()


def build(config, options):
  del options
  common.require(config.data.name in gaussians.MIXTURES, 'mode_coverage',
                 f'a 2-D mixture (data.name in {sorted(gaussians.MIXTURES)})')
  centers, std = gaussians.MIXTURES[config.data.name]

  def evaluate(samples):
    covered, quality = coverage.mode_coverage(samples.outputs, centers, std)
    return {'modes_covered': covered, 'high_quality': quality}
  return evaluate


def protocol(config, options):
  del options
  return dict(mixture=config.data.name, high_quality='within 3 std of the nearest centre')
