"""DCGAN on CelebA at 64 px (report 000: the PyTorch DCGAN tutorial network).

ConvTranspose G 512-256-128-64 (kernel 4, BN + ReLU, tanh), D 64-128-256-512 (LeakyReLU 0.2,
BN but on the first block), z 100, batch 128, Adam 2e-4 (0.5, 0.999), BCE. The report trained
on 4,000 images for 15 x 10 epochs: 4000 / 128 * 150 ~ 4,700 steps.

  python -m jaxgan.main --config=configs/dcgan_celeba.py --workdir=runs/dcgan_celeba

Data: TFDS `celeb_a` (tfds build celeb_a --file_format=array_record), or an image folder:
  --config.data.name=folder --config.data.path=/path/to/img_align_celeba
"""

from configs import default


def get_config():
  c = default.get_config()
  c.name = 'dcgan_celeba'
  c.num_steps = 4_700
  c.batch_size = 128
  c.log_every = 50
  c.sample_every = 500
  c.checkpoint_every = 1_000
  c.model.image_size = 64
  c.model.channels = 3
  c.model.z_dim = 100
  c.data.name = 'celeb_a'
  c.data.max_examples = 4_000  # As the report; 0 trains on all 162,770 training images.
  return c
