"""Fashion-MNIST figures in the main judge's features (jaxgan.metrics.fashion): FD to the test
split, confident share, class mix, precision/recall/density/coverage, and for conditional
models per-class agreement. The protocol carries real held-out images' own figures: the ceiling.

  c.evals.fashion = dict(every=1_000, num_samples=2_000)   # configs/fashion_default.py
"""

from jaxgan.gan.evaluators import common
from jaxgan.metrics import fashion

JUDGE = 'main'
PREFIX = 'fashion'
# And '<prefix>_agreement/<k>' per class for conditional models.
FIGURES = {'fd': 'min', 'confident': 'max', 'classes': 'max', 'class_tv': 'min',
           'precision': 'max', 'recall': 'max', 'density': 'max', 'coverage': 'max',
           'agreement': 'max', 'agreement_min': 'max'}
METRICS = {f'{PREFIX}_{k}': mode for k, mode in FIGURES.items()}
NUM_SAMPLES = 2_000
OPTIONS = frozenset()


def scorer(config, name: str, judge: str) -> fashion.Scorer:
  common.require(config.data.name == 'fashion_mnist', name, 'data.name=fashion_mnist')
  common.require(config.model.channels == 1, name, 'grayscale images (model.channels=1)')
  return fashion.shared_scorer(judge, config.data.path, config.data.tfds_dir)


def make_build(prefix: str, judge: str):
  def build_(config, options):
    del options
    score = scorer(config, prefix, judge)
    conditional = config.model.get('num_classes', 0) > 0

    def evaluate(samples):
      labels = samples.labels if conditional else None
      if conditional and labels is None:
        raise ValueError(f"config.evals.{prefix} of a conditional model needs the samples' "
                         'conditioning labels (the `labels` array of a --samples .npz).')
      return {f'{prefix}_{k}': v for k, v in score.score(samples.outputs, labels).items()}
    return evaluate
  return build_


def make_protocol(prefix: str, judge: str):
  def protocol_(config, options):
    score = scorer(config, prefix, judge)
    num = options.get('num_samples', NUM_SAMPLES)
    real = score.real_figures(min(num, 10_000), config.model.get('num_classes', 0) > 0)
    described = score.protocol(num, config.seed)
    if not real:
      described['real'] = ('not measured: the training split here is not the release\'s '
                           '60,000 images, so train[50000:] is not the judges\' held-out set')
    return described | {'real_figures': {f'{prefix}_{k}': v for k, v in real.items()}}
  return protocol_


build = make_build(PREFIX, JUDGE)
protocol = make_protocol(PREFIX, JUDGE)
