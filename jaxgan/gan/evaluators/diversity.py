"""Mean pairwise distance of samples over that of as many real examples (1: data-like).

Distances are between raw samples (pixels or points), or between features with
`features='digits'` or `'inception'`.
"""

import functools

import numpy as np

from jaxgan.gan.evaluators import common
from jaxgan.metrics import coverage

METRICS = {'diversity': 'max'}
NUM_SAMPLES = 1_000
OPTIONS = common.INCEPTION_OPTIONS | {'features'}


def build(config, options):
  name = options.get('features', '')
  if name == 'digits':
    space = common.digits_space(config, 'diversity')
  elif name == 'inception':
    space = common.image_space(config, 'diversity', options)
  elif name:
    raise ValueError(f"config.evals.diversity.features={name!r}: use '', 'digits' or "
                     "'inception'.")
  embed = (lambda x: space(x)[0]) if name else np.asarray

  @functools.cache
  def real(n):
    from jaxgan.data import sources  # pylint: disable=g-import-not-at-top
    source = sources.build_source(config)
    rng = np.random.default_rng(0)
    picks = rng.choice(len(source), min(n, len(source)), replace=False)
    examples = np.stack([source[i]['image'] for i in picks])
    return examples.shape[1:], coverage.mean_pairwise_distance(embed(examples))

  def evaluate(samples):
    shape, level = real(len(samples.outputs))
    if not name and samples.outputs.shape[1:] != shape:  # Pixel distances grow with the size.
      raise ValueError(f'config.evals.diversity compares pixels with real examples of shape '
                       f'{shape}, but the samples are {samples.outputs.shape[1:]}: score them '
                       f"with features='digits' or 'inception'.")
    return {'diversity': coverage.mean_pairwise_distance(embed(samples.outputs)) / level}
  return evaluate


def protocol(config, options):
  name = options.get('features', '')
  if name == 'digits':
    features = common.digits_protocol() | {'features': 'penultimate layer (128)'}
  elif name == 'inception':
    features = common.inception_protocol(options)
  else:
    features = {'features': 'raw samples (pixels or points)'}
  return features | {'reference': common.reference_data(config) | {
      'num_real': 'as many as the samples'}}
