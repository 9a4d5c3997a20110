"""DCGAN on CIFAR-10 at 32 px (report 002: batch 32, 50 epochs of 1,563 batches).

  python -m jaxgan.main --config=configs/dcgan_cifar.py --workdir=runs/dcgan_cifar
"""

from configs import default


def get_config():
  c = default.get_config()
  c.name = 'dcgan_cifar'
  c.num_steps = 78_150  # 50 epochs x 1,563 batches of 32.
  c.batch_size = 32
  c.log_every = 100
  c.sample_every = 2_000
  c.checkpoint_every = 5_000
  c.model.image_size = 32
  c.model.channels = 3
  c.model.z_dim = 100
  c.data.name = 'cifar10'
  return c
