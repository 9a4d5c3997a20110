"""SNGAN on the embedded digits, sized for a CPU (no download).

  python -m jaxgan.main --config=configs/sngan_digits.py --workdir=runs/sngan_digits

The 32 px SNGAN ResNets (jaxgan/models/resnet.py) at narrow widths, hinge loss, spectral norm
in D, with the digits recipe's optimiser (Adam 1e-3, betas (0, 0.99), linear decay), a generator
EMA evaluated with standing BatchNorm statistics, and the quick start's evaluators.
"""

import ml_collections

from configs import dcgan_digits, default

NUM_STEPS = 2_000  # About 10 minutes on 2 CPU cores (README).
EVAL_EVERY = 500


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
  c.model.image_size = 32
  c.model.channels = 1
  c.model.z_dim = 32
  c.model.g_features = 32
  c.model.d_features = 32
  c.model.ema_decay = 0.999
  c.model.ema_standing_batches = 4
  c.loss.name = 'hinge'
  c.optim.g_lr = c.optim.d_lr = 1e-3
  c.optim.b1, c.optim.b2 = 0.0, 0.99
  c.optim.lr_schedule = 'linear'
  c.data.name = 'digits'
  c.data.flip = False  # Mirrored digits are not digits.
  c.evals = ml_collections.ConfigDict()
  for name in dcgan_digits.get_config().evals:
    c.evals[name] = dict(every=EVAL_EVERY, num_samples=1_000)
  c.best_metric = 'digits_fd'
  return c
