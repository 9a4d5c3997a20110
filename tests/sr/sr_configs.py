"""Tiny SR configs for the SR tests (a module of its own: `conftest` names clash across dirs)."""

import importlib


def get_config(name):
  return importlib.import_module(f'configs.{name}').get_config()


def tiny_sr(name: str = 'srresnet_photos', steps: int = 2):
  """Any SR config shrunk to 16 px HR crops, one narrow block, batch 2, a few steps."""
  c = get_config(name)
  c.num_steps = steps
  c.batch_size = 2
  c.log_every = 1
  c.checkpoint_every = steps
  c.model.image_size = 16
  c.model.num_blocks = 1
  c.model.g_features = 8
  c.model.d_features = 4
  c.sr.eval_photos = False
  c.sr.init_from = ''
  return c
