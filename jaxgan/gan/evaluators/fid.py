"""FID: the Frechet distance of Inception pool3 features to the real data's (Heusel et al. 2017)."""

from jaxgan.gan.evaluators import common
from jaxgan.metrics import fid

METRICS = {'fid': 'min'}
NUM_SAMPLES = 10_000
OPTIONS = common.INCEPTION_OPTIONS


def build(config, options):
  space = common.image_space(config, 'fid', options)
  real = common.reference(config, space)

  def evaluate(samples):
    mu, sigma = fid.feature_statistics(space(samples.outputs)[0])
    return {'fid': fid.frechet_distance(mu, sigma, real()['mu'], real()['sigma'])}
  return evaluate


def protocol(config, options):
  return common.inception_protocol(options) | {'reference': common.reference_data(config)}
