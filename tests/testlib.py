"""Shared test helpers (imported by name: each conftest.py is its own module)."""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:  # `from configs import ...` as the config files themselves do.
  sys.path.insert(0, REPO)


def tiny(config, steps: int = 4):
  """Shrinks any image config to 16 px, narrow networks and a few steps."""
  config.num_steps = steps
  config.steps_per_call = 1
  config.batch_size = 8
  config.log_every = 2
  config.sample_every = steps
  config.checkpoint_every = steps
  config.num_grid_samples = 16 if config.model.name != 'toy' else 200
  if config.model.name != 'toy':
    config.model.image_size = 16
    config.model.g_features = 8
    config.model.d_features = 8
  return config
