"""DCGAN on the embedded scikit-learn digits at 16 px: the quick start (2-core CPU, ~5 minutes).

  python -m jaxgan.main --config=configs/dcgan_digits.py --workdir=runs/dcgan_digits

The recipe was chosen by measurement (README, "Digits a person recognises"): 16 px (the digits
are 8x8, so 16 px keeps every source pixel and trains ~4x faster than 32 px), G's output drawn
through the digits' native 8 px grid, a critic with layer norm and R1 (gamma 1) instead of
BatchNorm, Adam 1e-3 with betas (0, 0.99) decayed linearly to 0, many small steps (batch 32),
and the generator's EMA for sampling. Training on the 90% `train` split; the
metrics compare samples with the held-out digits.
"""

import ml_collections

from configs import default

NUM_STEPS = 12_000
EVAL_EVERY = 2_000


def get_config():
  c = default.get_config()
  c.name = 'dcgan_digits'
  c.num_steps = NUM_STEPS
  c.batch_size = 32  # More, smaller steps learn more per minute here (README).
  c.steps_per_call = 5  # Small steps: fewer dispatches (jaxgan.run.feed); periods are multiples.
  c.log_every = 100
  c.sample_every = EVAL_EVERY
  c.checkpoint_every = EVAL_EVERY
  c.model.image_size = 16
  c.model.channels = 1
  c.model.z_dim = 32
  c.model.g_features = 32
  c.model.d_features = 32
  c.model.g_native_size = 8  # The digits are 8x8 upsampled: so are G's (dcgan.py).
  c.model.d_norm = 'layer'
  c.model.ema_decay = 0.999
  c.loss.penalty = 'r1'
  c.loss.penalty_weight = 1.0
  c.optim.g_lr = c.optim.d_lr = 1e-3
  c.optim.b1, c.optim.b2 = 0.0, 0.99
  c.optim.lr_schedule = 'linear'
  c.data.name = 'digits'
  c.data.flip = False  # Mirrored digits are not digits.
  # Offline metrics (the package's digits classifier, no download), cheap enough for the quick
  # start: the share of samples read confidently as a digit, digits present among them,
  # precision/recall against held-out digits, digits-FD, and pixel diversity for the
  # mode-collapse monitor.
  for name in ('digits_confident', 'class_coverage', 'prdc', 'digits_fd', 'diversity'):
    c.evals[name] = dict(every=EVAL_EVERY, num_samples=1_000)
  c.best_metric = 'digits_fd'
  return c


def conditional_config(model_name: str) -> ml_collections.ConfigDict:
  """The recipe for a class-conditional model on digits (cgan_digits, acgan_digits).

  The labels make each step count for more: 6,000 steps of 64 (a few minutes on a 2-core CPU)
  give >= 90% confident agreement for every digit (README). Judged by class agreement, overall
  and for the worst digit (the best checkpoint's metric), and precision/recall.
  """
  c = get_config()
  c.name = f'{model_name}_digits'
  c.model.name = model_name
  c.model.num_classes = 10
  c.model.embed_dim = 10
  c.num_steps = 6_000
  c.batch_size = 64
  c.evals = ml_collections.ConfigDict()
  c.evals.class_agreement = dict(every=1_500, num_samples=1_000)
  c.evals.prdc = dict(every=1_500, num_samples=1_000)
  c.best_metric = 'class_agreement_min'
  return c
