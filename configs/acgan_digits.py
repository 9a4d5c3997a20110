"""ACGAN (report 002) on the embedded digits at 16 px: ask for a digit, get it (CPU, minutes).

  python -m jaxgan.main --config=configs/acgan_digits.py --workdir=runs/acgan_digits

D has a second head classifying the digit; both D and G add its cross-entropy to their losses.
Judged by `class_agreement`: the share of samples the digits classifier confidently reads as
the asked digit, overall and for the worst digit (`class_agreement_min`, the best checkpoint's
metric); per digit at every sample_every (`class_agreement/k`).
"""

import ml_collections

from configs import dcgan_digits


def get_config():
  c = dcgan_digits.get_config()
  c.name = 'acgan_digits'
  c.model.name = 'acgan'
  c.model.num_classes = 10
  c.model.embed_dim = 10
  # dcgan_digits' recipe; the labels make each step count for more: 6,000 steps of 64 (a few
  # minutes on a 2-core CPU) give >= 90% confident agreement for every digit (README).
  c.num_steps = 6_000
  c.batch_size = 64
  c.evals = ml_collections.ConfigDict()
  c.evals.class_agreement = dict(every=1_500, num_samples=1_000)
  c.evals.prdc = dict(every=1_500, num_samples=1_000)
  c.best_metric = 'class_agreement_min'
  return c
