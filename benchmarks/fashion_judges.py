"""The README's table of the Fashion-MNIST judges on real and bad inputs.

  python benchmarks/fashion_judges.py [--num=1000]

Each judge (jaxgan.metrics.fashion_classifier: main, plain) scores `--num` real training images
it never trained on (train[50000:]) and the bad sets of tests/metrics/test_fashion.py built from
them (or from scratch), against the whole test split (10,000). Needs the full Fashion-MNIST
(apt-get install dataset-fashion-mnist); the tests run the same bad sets on the fixture.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'tests', 'metrics'))
import test_fashion  # pylint: disable=g-import-not-at-top,wrong-import-position

from jaxgan.data import fashion_mnist  # pylint: disable=wrong-import-position
from jaxgan.metrics import fashion, fashion_classifier  # pylint: disable=wrong-import-position

COLUMNS = ('fd', 'confident', 'classes', 'precision', 'recall', 'density', 'coverage')


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--num', type=int, default=test_fashion.N)
  args = parser.parse_args()
  test_fashion.N = args.num
  images, labels, _ = fashion_mnist.prepared('train', 32)
  held = fashion_classifier.TRAIN_IMAGES
  picks = held + np.random.default_rng(0).permutation(len(images) - held)[:args.num]
  real = (images[picks], labels[picks])
  sets = {'real (held out)': lambda real, rng: real[0]} | test_fashion.BAD
  print('| input | ' + ' | '.join(f'{c} main / plain' for c in COLUMNS) + ' |')
  print('|' + '---|' * (len(COLUMNS) + 1))
  scorers = [fashion.Scorer(judge) for judge in ('main', 'plain')]
  for name, make in sets.items():
    inputs = make(real, np.random.default_rng(0))
    figures = [s.score(inputs) for s in scorers]
    cells = [' / '.join(f'{f[c]:.3g}' for f in figures) for c in COLUMNS]
    print(f'| {name} | ' + ' | '.join(cells) + ' |')


if __name__ == '__main__':
  main()
