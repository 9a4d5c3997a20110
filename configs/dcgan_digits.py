"""DCGAN on the embedded scikit-learn digits at 32 px: the quick start (CPU, a few minutes).

  python -m jaxgan.main --config=configs/dcgan_digits.py --workdir=runs/dcgan_digits
"""

from configs import default


def get_config():
  c = default.get_config()
  c.name = 'dcgan_digits'
  c.num_steps = 1_500
  c.batch_size = 64
  c.log_every = 50
  c.sample_every = 250
  c.checkpoint_every = 500
  c.model.image_size = 32
  c.model.channels = 1
  c.model.z_dim = 32
  c.model.g_features = 32
  c.model.d_features = 32
  c.model.ema_decay = 0.99
  c.data.name = 'digits'
  c.data.flip = False  # Mirrored digits are not digits.
  # Offline metrics (the package's digits classifier, no download), cheap enough for the quick
  # start: the share of samples read confidently as a digit, digits present among them,
  # precision/recall against held-out digits, digits-FD, and pixel diversity for the
  # mode-collapse monitor.
  for name in ('digits_confident', 'class_coverage', 'prdc', 'digits_fd', 'diversity'):
    c.evals[name] = dict(every=500, num_samples=1_000)
  c.best_metric = 'digits_fd'
  return c
