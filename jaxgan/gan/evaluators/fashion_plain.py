"""The `fashion` figures by the second Fashion-MNIST judge, made differently (LeNet-style, ReLU,
max pooling, clean images only, another seed and optimiser; jaxgan.metrics.fashion_classifier):
a recipe tuned to the main judge's quirks would rank differently here.

  c.evals.fashion_plain = dict(every=1_000, num_samples=2_000)
"""

from jaxgan.gan.evaluators import fashion

JUDGE = 'plain'
PREFIX = 'fashion_plain'
METRICS = {f'{PREFIX}_{k}': mode for k, mode in fashion.FIGURES.items()}
NUM_SAMPLES = fashion.NUM_SAMPLES
OPTIONS = frozenset()

build = fashion.make_build(PREFIX, JUDGE)
protocol = fashion.make_protocol(PREFIX, JUDGE)
