"""SNGAN on the embedded digits, sized for a CPU (no download).

  python -m jaxgan.main --config=configs/sngan_digits.py --workdir=runs/sngan_digits

The SNGAN ResNets (jaxgan/models/resnet.py) at 16 px and narrow widths, G drawn through the
digits' native 8 px grid (as the quick start's DCGAN), hinge loss, spectral norm in D, the digits
recipe's optimiser (Adam, betas (0, 0.99), linear decay) with D's learning rate twice G's (a
spectrally normalised D learns slowly: at equal rates its hinge loss stayed near 1.9, chance
being 2), a generator EMA evaluated with standing BatchNorm statistics, and
the quick start's evaluators. Measured in the README ("Today's baselines").
"""

import ml_collections

from configs import dcgan_digits, default

NUM_STEPS = 8_000  # Minutes on 2 CPU cores (README).
EVAL_EVERY = 2_000


def get_config():
  c = default.get_config()
  c.name = 'sngan_digits'
  c.num_steps = NUM_STEPS
  c.batch_size = 32
  c.steps_per_call = 5
  c.log_every = 100
  c.sample_every = EVAL_EVERY
  c.checkpoint_every = EVAL_EVERY
  c.model.name = 'sngan'
  c.model.image_size = 16  # The digits are 8x8: 32 px costs 4x per step and adds nothing.
  c.model.g_native_size = 8
  c.model.channels = 1
  c.model.z_dim = 32
  c.model.g_features = 32
  c.model.d_features = 32
  c.model.ema_decay = 0.999
  c.model.ema_standing_batches = 4
  c.loss.name = 'hinge'
  c.optim.g_lr, c.optim.d_lr = 1e-3, 2e-3
  c.optim.b1, c.optim.b2 = 0.0, 0.99
  c.optim.lr_schedule = 'linear'
  c.data.name = 'digits'
  c.data.flip = False  # Mirrored digits are not digits.
  c.evals = ml_collections.ConfigDict()
  for name in dcgan_digits.get_config().evals:
    c.evals[name] = dict(every=EVAL_EVERY, num_samples=1_000)
  c.best_metric = 'digits_fd'
  return c
