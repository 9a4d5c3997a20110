"""WGAN-GP on Fashion-MNIST at 32 px, report 002's recipe: within 10 minutes on 2 CPU cores.

  python -m jaxgan.main --config=configs/wgan_gp_fashion.py --workdir=runs/wgan_gp_fashion

Gulrajani et al. 2017 as the seed report ran it: a DCGAN critic with layer norm (no BatchNorm
under a per-sample penalty), the Wasserstein loss with a gradient penalty of weight 10, Adam
1e-4 with betas (0, 0.9), 5 critic updates per G update. Narrower networks and fewer steps to
fit the CPU budget; the generator's EMA is the one addition (sampling only).
"""

from configs import fashion_default

NUM_STEPS = 1_500
EVAL_EVERY = 500


def get_config():
  c = fashion_default.get_config('wgan_gp_fashion', NUM_STEPS, EVAL_EVERY)
  c.batch_size = 64
  c.model.z_dim = 100
  c.model.g_features = 32
  c.model.d_features = 32
  c.model.d_norm = 'layer'
  c.model.ema_decay = 0.999
  c.loss.name = 'wasserstein'
  c.loss.penalty = 'gradient_penalty'
  c.loss.penalty_weight = 10.0
  c.optim.g_lr = c.optim.d_lr = 1e-4
  c.optim.b1, c.optim.b2 = 0.0, 0.9
  c.optim.n_critic = 5
  return c
