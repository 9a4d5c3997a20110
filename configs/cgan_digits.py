"""CGAN (report 003) on the embedded digits at 16 px: the label as an extra D input channel.

  python -m jaxgan.main --config=configs/cgan_digits.py --workdir=runs/cgan_digits

`class_agreement` (the digits classifier's verdict on samples of each asked digit) is logged
at every sample_every.
"""

from configs import dcgan_digits


def get_config():
  c = dcgan_digits.get_config()
  c.name = 'cgan_digits'
  c.model.name = 'cgan'
  c.model.num_classes = 10
  c.model.embed_dim = 10
  # The digits are 8x8: 16 px keeps every source pixel and trains ~4x faster than 32 px.
  c.model.image_size = 16
  c.num_steps = 1_200
  c.sample_every = 200
  c.checkpoint_every = 600
  return c
