"""WGAN with weight clipping on CIFAR-10 at 32 px (report 002; Arjovsky et al. 2017).

Critic = the DCGAN discriminator without sigmoid, RMSProp 5e-5, clipping 0.01, 5 critic
updates per generator update, batch 64.

  python -m jaxgan.main --config=configs/wgan_cifar.py --workdir=runs/wgan_cifar
"""

from configs import default


def get_config():
  c = default.get_config()
  c.name = 'wgan_cifar'
  c.num_steps = 100_000
  c.batch_size = 64
  c.log_every = 100
  c.sample_every = 2_000
  c.checkpoint_every = 5_000
  c.model.image_size = 32
  c.model.channels = 3
  c.model.z_dim = 100
  c.loss.name = 'wasserstein'
  c.loss.clip_value = 0.01
  c.optim.name = 'rmsprop'
  c.optim.g_lr = 5e-5
  c.optim.d_lr = 5e-5
  c.optim.n_critic = 5
  c.data.name = 'cifar10'
  return c
