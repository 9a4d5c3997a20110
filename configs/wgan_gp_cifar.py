"""WGAN-GP on CIFAR-10 at 32 px (report 002; Gulrajani et al. 2017).

DCGAN generator, critic with layer norm instead of BatchNorm (the penalty is per sample),
Adam 1e-4 (0.0, 0.9), lambda 10, 5 critic updates per generator update, batch 64.

  python -m jaxgan.main --config=configs/wgan_gp_cifar.py --workdir=runs/wgan_gp_cifar
"""

from configs import default


def get_config():
  c = default.get_config()
  c.name = 'wgan_gp_cifar'
  c.num_steps = 100_000
  c.batch_size = 64
  c.log_every = 100
  c.sample_every = 2_000
  c.checkpoint_every = 5_000
  c.model.image_size = 32
  c.model.channels = 3
  c.model.z_dim = 100
  c.model.d_norm = 'layer'
  c.loss.name = 'wasserstein'
  c.loss.penalty = 'gradient_penalty'
  c.loss.penalty_weight = 10.0
  c.optim.g_lr = 1e-4
  c.optim.d_lr = 1e-4
  c.optim.b1 = 0.0
  c.optim.b2 = 0.9
  c.optim.n_critic = 5
  c.data.name = 'cifar10'
  return c
