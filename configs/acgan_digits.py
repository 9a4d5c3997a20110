"""ACGAN (report 002) on the embedded digits at 16 px: ask for a digit, get it (CPU, minutes).

  python -m jaxgan.main --config=configs/acgan_digits.py --workdir=runs/acgan_digits

D has a second head classifying the digit; both D and G add its cross-entropy to their losses.
`class_agreement` (the digits classifier's verdict on samples of each asked digit) is logged
at every sample_every.
"""

from configs import dcgan_digits


def get_config():
  c = dcgan_digits.get_config()
  c.name = 'acgan_digits'
  c.model.name = 'acgan'
  c.model.num_classes = 10
  c.model.embed_dim = 10
  # The digits are 8x8: 16 px keeps every source pixel and trains ~4x faster than 32 px.
  c.model.image_size = 16
  c.num_steps = 1_200
  c.sample_every = 200
  c.checkpoint_every = 600
  return c
