"""WGAN-GP on the grid of 25 Gaussians: covers the modes where gan_grid25 may collapse.

  python -m jaxgan.main --config=configs/wgan_gp_grid25.py --workdir=runs/wgan_gp_grid25
"""

from configs import gan_grid25


def get_config():
  c = gan_grid25.get_config()
  c.name = 'wgan_gp_grid25'
  c.loss.name = 'wasserstein'
  c.loss.penalty = 'gradient_penalty'
  c.loss.penalty_weight = 0.1  # Gulrajani et al.'s toy experiments.
  c.optim.b1 = 0.5
  c.optim.b2 = 0.9
  c.optim.n_critic = 5
  return c
