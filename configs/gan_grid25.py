"""A plain GAN on the grid of 25 Gaussians (PacGAN / VEEGAN protocol): prone to mode collapse.

MLP G (4 x 400, noise dim 2) and D (3 x 200), Adam 1e-4, batch 100, non-saturating loss.

  python -m jaxgan.main --config=configs/gan_grid25.py --workdir=runs/gan_grid25
"""

from configs import default


def get_config():
  c = default.get_config()
  c.name = 'gan_grid25'
  c.num_steps = 10_000
  c.batch_size = 100
  c.log_every = 500
  c.sample_every = 2_000
  c.checkpoint_every = 5_000
  c.model.name = 'toy'
  c.model.z_dim = 2
  c.model.ema_decay = 0.0
  c.optim.g_lr = 1e-4
  c.optim.d_lr = 1e-4
  c.optim.b1 = 0.5
  c.optim.b2 = 0.999
  c.data.name = 'grid25'
  c.num_grid_samples = 2_500
  # The VEEGAN / PacGAN protocol: modes covered and high-quality fraction of 2,500 samples.
  c.evals.mode_coverage = dict(every=1_000, num_samples=2_500)
  c.evals.diversity = dict(every=1_000, num_samples=2_500)
  c.evals.prdc = dict(every=1_000, num_samples=2_500, num_real=2_500)  # Raw 2-D points.
  c.best_metric = 'modes_covered'  # Not high_quality: a collapsed G puts all on one mode.
  return c
