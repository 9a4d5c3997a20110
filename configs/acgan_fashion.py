"""ACGAN on Fashion-MNIST at 32 px: D also classifies the garment (2-core CPU, <= 10 minutes).

  python -m jaxgan.main --config=configs/acgan_fashion.py --workdir=runs/acgan_fashion

Report 002's auxiliary classifier with dcgan_fashion's recipe; judged as cgan_fashion.
"""

from configs import dcgan_fashion


def get_config():
  return dcgan_fashion.conditional_config('acgan')
