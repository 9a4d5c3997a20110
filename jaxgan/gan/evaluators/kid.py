"""KID: the unbiased polynomial-kernel MMD^2 of Inception features (Binkowski et al. 2018)."""

from jaxgan.gan.evaluators import common
from jaxgan.metrics import fid

METRICS = {'kid': 'min', 'kid_std': 'min'}
NUM_SAMPLES = 10_000
OPTIONS = common.INCEPTION_OPTIONS | {'num_subsets', 'subset_size'}


def build(config, options):
  space = common.image_space(config, 'kid', options)
  real = common.reference(config, space)

  def evaluate(samples):
    mean, std = fid.kernel_inception_distance(
        space(samples.outputs)[0], real()['features'], options.get('num_subsets', 100),
        options.get('subset_size', 1000))
    return {'kid': mean, 'kid_std': std}
  return evaluate


def protocol(config, options):
  return common.inception_protocol(options) | dict(
      reference=common.reference_data(config), num_subsets=options.get('num_subsets', 100),
      subset_size=options.get('subset_size', 1000))
