"""SNGAN on CIFAR-10 at 32 px (Miyato et al. 2018), the baseline every GAN paper since reports.

  python -m jaxgan.main --config=configs/sngan_cifar.py --workdir=runs/sngan_cifar

The paper's CIFAR-10 ResNet (jaxgan/models/resnet.py): G with three 256-channel up-blocks, D
with 128-channel blocks, every D layer spectrally normalised, no BatchNorm in D. Its recipe:
hinge loss, 5 D updates per G update, Adam 2e-4 with betas (0.0, 0.9), batch 64, 50k G updates,
both learning rates decayed linearly to 0. No generator EMA (the paper has none).
"""

from configs import default


def get_config():
  c = default.get_config()
  c.name = 'sngan_cifar'
  c.num_steps = 50_000  # G updates.
  c.batch_size = 64
  c.log_every = 100
  c.sample_every = 2_000
  c.checkpoint_every = 5_000
  c.model.name = 'sngan'
  c.model.image_size = 32
  c.model.channels = 3
  c.model.z_dim = 128
  c.model.g_features = 256
  c.model.d_features = 128
  c.model.ema_decay = 0.0
  c.loss.name = 'hinge'
  c.optim.g_lr = c.optim.d_lr = 2e-4
  c.optim.b1, c.optim.b2 = 0.0, 0.9
  c.optim.n_critic = 5
  c.optim.lr_schedule = 'linear'
  c.data.name = 'cifar10'
  return c
