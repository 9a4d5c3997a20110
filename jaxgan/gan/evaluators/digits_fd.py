"""Frechet distance in the digits classifier's penultimate features to the real digits'."""

from jaxgan.gan.evaluators import common
from jaxgan.metrics import fid

METRICS = {'digits_fd': 'min'}
NUM_SAMPLES = 1_000
OPTIONS = frozenset()


def build(config, options):
  del options
  space = common.digits_space(config, 'digits_fd')
  real = common.reference(config, space)

  def evaluate(samples):
    mu, sigma = fid.feature_statistics(space(samples.outputs)[0])
    return {'digits_fd': fid.frechet_distance(mu, sigma, real()['mu'], real()['sigma'])}
  return evaluate


def protocol(config, options):
  del options
  return common.digits_protocol() | dict(features='penultimate layer (128)',
                                         reference=common.reference_data(config))
