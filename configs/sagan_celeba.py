"""SAGAN-style CelebA at 64 px: SNGAN ResNets with self-attention at 32x32 (Zhang et al. 2019).

  python -m jaxgan.main --config=configs/sagan_celeba.py --workdir=runs/sagan_celeba

The 64 px ResNet G and D of jaxgan/models/resnet.py with a self-attention block at the 32x32
feature maps of both; SAGAN's recipe: hinge loss, one D update per G update with the two
time-scale rule (D 4e-4, G 1e-4), Adam betas (0.0, 0.9), spectral norm in D (SAGAN also
normalises G; here G has BatchNorm only). Data: TFDS
`celeb_a` (tfds build celeb_a --file_format=array_record) or an image folder:
  --config.data.name=folder --config.data.path=/path/to/img_align_celeba
"""

from configs import default


def get_config():
  c = default.get_config()
  c.name = 'sagan_celeba'
  c.num_steps = 100_000
  c.batch_size = 64
  c.log_every = 100
  c.sample_every = 2_000
  c.checkpoint_every = 5_000
  c.model.name = 'sngan'
  c.model.image_size = 64
  c.model.channels = 3
  c.model.z_dim = 128
  c.model.g_features = 64
  c.model.d_features = 64
  c.model.attention_resolution = 32
  c.model.ema_decay = 0.0
  c.loss.name = 'hinge'
  c.optim.g_lr, c.optim.d_lr = 1e-4, 4e-4
  c.optim.b1, c.optim.b2 = 0.0, 0.9
  c.data.name = 'celeb_a'
  return c
