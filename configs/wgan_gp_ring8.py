"""WGAN-GP on the ring of 8 Gaussians (radius 2, std 0.02).

  python -m jaxgan.main --config=configs/wgan_gp_ring8.py --workdir=runs/wgan_gp_ring8
"""

from configs import wgan_gp_grid25


def get_config():
  c = wgan_gp_grid25.get_config()
  c.name = 'wgan_gp_ring8'
  c.data.name = 'ring8'
  return c
