"""SNGAN (spectrally normalised ResNets, hinge loss) on Fashion-MNIST at 32 px: <= 10 minutes on
2 CPU cores.

  python -m jaxgan.main --config=configs/sngan_fashion.py --workdir=runs/sngan_fashion

Miyato et al. 2018's 32 px ResNets, narrowed to fit the CPU budget, with sngan_digits' CPU
recipe: Adam (0, 0.99), D at twice G's learning rate, decayed linearly to 0, one D step per G
step, G's EMA sampled with standing statistics, G drawn through the data's native 28 px.
"""

from configs import fashion_default

NUM_STEPS = 2_000
EVAL_EVERY = 500


def get_config():
  c = fashion_default.get_config('sngan_fashion', NUM_STEPS, EVAL_EVERY)
  c.batch_size = 32
  c.steps_per_call = 5
  c.model.name = 'sngan'
  c.model.z_dim = 64
  c.model.g_features = 32
  c.model.d_features = 32
  c.model.g_native_size = 28
  c.model.ema_decay = 0.999
  c.model.ema_standing_batches = 4
  c.loss.name = 'hinge'
  c.optim.g_lr, c.optim.d_lr = 1e-3, 2e-3
  c.optim.b1, c.optim.b2 = 0.0, 0.99
  c.optim.lr_schedule = 'linear'
  return c
