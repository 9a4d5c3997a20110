"""WGAN-GP on anime faces (report 004): the dcgan_anime networks, critic without BatchNorm.

  python -m jaxgan.main --config=configs/wgan_gp_anime.py --workdir=runs/wgan_gp_anime \
      --config.data.path=/path/to/anime/faces
"""

from configs import dcgan_anime


def get_config():
  c = dcgan_anime.get_config()
  c.name = 'wgan_gp_anime'
  c.model.d_norm = 'layer'
  c.loss.name = 'wasserstein'
  c.loss.penalty = 'gradient_penalty'
  c.loss.penalty_weight = 10.0
  c.optim.g_lr = 1e-4
  c.optim.d_lr = 1e-4
  c.optim.b1 = 0.0
  c.optim.b2 = 0.9
  c.optim.n_critic = 5
  return c
