"""Shared test helpers: configs, tiny versions of them, restoring runs, the command-line tools.

Importable from every test as `testlib` (pyproject.toml: pytest's pythonpath holds the
repository root, so `configs` imports as the config files themselves expect, and tests/).
Fixtures live in the conftest.py files.
"""

import importlib
import os
import subprocess
import sys

import jax
import ml_collections
import numpy as np
from PIL import Image

from jaxgan import report
from jaxgan.gan import generate, state as gan_state
from jaxgan.run import checkpoint, sharding
from jaxgan.run.state import build_state

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# Configs -------------------------------------------------------------------------------------

def get_config(name: str) -> ml_collections.ConfigDict:
  """configs/<name>.py's config."""
  return importlib.import_module(f'configs.{name}').get_config()


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


def override(config, fields: dict):
  """Sets dotted fields, e.g. {'model.ema_standing_batches': 2, 'seed': 3}; returns config."""
  for name, value in fields.items():
    section, _, field = name.rpartition('.')
    (config[section] if section else config)[field] = value
  return config


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


# Building and restoring GAN runs ------------------------------------------------------------

def build_gan(config, mesh=None):
  """(gan, abstract state, jitted init) of a GAN config, as runs build them (default mesh: all
  local devices)."""
  return build_state(gan_state.create, config, mesh or sharding.make_mesh())


def restore(workdir: str, step: int | None = None, data: bool = False):
  """The state of a GAN run's checkpoint (default: the latest that restores), read as
  `python -m jaxgan.sample` reads it (jaxgan.gan.generate.load_run), so as a fresh process
  would; with data=True, (state, the data iterator state saved with it)."""
  config, _, state, _ = generate.load_run(workdir, step)
  if not data:
    return state
  ckpt = checkpoint.Checkpointer(workdir, config.keep_checkpoints)
  try:
    _, data_state = ckpt.restore(build_gan(config)[1], int(state.step))
  finally:
    ckpt.close()
  return state, data_state


def assert_same_run(workdir_a, workdir_b, step):
  """The latest checkpoints (state and data iterator), restored as a fresh process would."""
  (state_a, data_a), (state_b, data_b) = (restore(w, data=True) for w in (workdir_a, workdir_b))
  assert int(state_a.step) == int(state_b.step) == step
  leaves_a = jax.tree_util.tree_leaves_with_path(state_a)
  leaves_b = jax.tree.leaves(state_b)
  assert len(leaves_a) == len(leaves_b) > 10
  for (path, a), b in zip(leaves_a, leaves_b):
    a, b = np.asarray(a), np.asarray(b)  # The key is a raw uint32 PRNGKey array.
    assert np.array_equal(a, b), f'leaf {jax.tree_util.keystr(path)} differs'
  assert data_a == data_b
  grid = f'samples/step_{step:07d}.png'
  assert np.array_equal(np.asarray(Image.open(os.path.join(workdir_a, grid))),
                        np.asarray(Image.open(os.path.join(workdir_b, grid))))


def read_scalars(workdir: str, tag: str) -> list[tuple[int, float]]:
  """[(step, value)] of one logged scalar, through jaxgan.report's reader."""
  steps, values = report.read_scalars(workdir)[tag]
  return [(int(s), float(v)) for s, v in zip(steps, values)]


# The command-line tools ----------------------------------------------------------------------

def run_tool(tool: str, *args, env: dict | None = None, timeout: int = 300, cwd: str = REPO):
  """`python -m jaxgan.<tool> *args` from `cwd` (default: the repository root); the
  CompletedProcess (text)."""
  return subprocess.run([sys.executable, '-m', f'jaxgan.{tool}', *args], cwd=cwd,
                        env=os.environ | (env or {}), capture_output=True, text=True,
                        timeout=timeout)


# Random FID Inception weights ----------------------------------------------------------------

def _inception_layer_table():
  """torchvision's Inception-v3 layer table, name -> (cin, cout, (kh, kw), stride, (ph, pw))."""
  t = {}

  def add(name, cin, cout, k, stride=1, pad=0):
    t[name] = (cin, cout, (k, k) if isinstance(k, int) else k, stride,
               (pad, pad) if isinstance(pad, int) else pad)

  add('Conv2d_1a_3x3', 3, 32, 3, 2)
  add('Conv2d_2a_3x3', 32, 32, 3)
  add('Conv2d_2b_3x3', 32, 64, 3, pad=1)
  add('Conv2d_3b_1x1', 64, 80, 1)
  add('Conv2d_4a_3x3', 80, 192, 3)
  for name, cin, pool in [('Mixed_5b', 192, 32), ('Mixed_5c', 256, 64), ('Mixed_5d', 288, 64)]:
    add(f'{name}.branch1x1', cin, 64, 1)
    add(f'{name}.branch5x5_1', cin, 48, 1)
    add(f'{name}.branch5x5_2', 48, 64, 5, pad=2)
    add(f'{name}.branch3x3dbl_1', cin, 64, 1)
    add(f'{name}.branch3x3dbl_2', 64, 96, 3, pad=1)
    add(f'{name}.branch3x3dbl_3', 96, 96, 3, pad=1)
    add(f'{name}.branch_pool', cin, pool, 1)
  add('Mixed_6a.branch3x3', 288, 384, 3, 2)
  add('Mixed_6a.branch3x3dbl_1', 288, 64, 1)
  add('Mixed_6a.branch3x3dbl_2', 64, 96, 3, pad=1)
  add('Mixed_6a.branch3x3dbl_3', 96, 96, 3, 2)
  for name, c7 in [('Mixed_6b', 128), ('Mixed_6c', 160), ('Mixed_6d', 160), ('Mixed_6e', 192)]:
    add(f'{name}.branch1x1', 768, 192, 1)
    add(f'{name}.branch7x7_1', 768, c7, 1)
    add(f'{name}.branch7x7_2', c7, c7, (1, 7), pad=(0, 3))
    add(f'{name}.branch7x7_3', c7, 192, (7, 1), pad=(3, 0))
    add(f'{name}.branch7x7dbl_1', 768, c7, 1)
    add(f'{name}.branch7x7dbl_2', c7, c7, (7, 1), pad=(3, 0))
    add(f'{name}.branch7x7dbl_3', c7, c7, (1, 7), pad=(0, 3))
    add(f'{name}.branch7x7dbl_4', c7, c7, (7, 1), pad=(3, 0))
    add(f'{name}.branch7x7dbl_5', c7, 192, (1, 7), pad=(0, 3))
    add(f'{name}.branch_pool', 768, 192, 1)
  add('Mixed_7a.branch3x3_1', 768, 192, 1)
  add('Mixed_7a.branch3x3_2', 192, 320, 3, 2)
  add('Mixed_7a.branch7x7x3_1', 768, 192, 1)
  add('Mixed_7a.branch7x7x3_2', 192, 192, (1, 7), pad=(0, 3))
  add('Mixed_7a.branch7x7x3_3', 192, 192, (7, 1), pad=(3, 0))
  add('Mixed_7a.branch7x7x3_4', 192, 192, 3, 2)
  for name, cin in [('Mixed_7b', 1280), ('Mixed_7c', 2048)]:
    add(f'{name}.branch1x1', cin, 320, 1)
    add(f'{name}.branch3x3_1', cin, 384, 1)
    add(f'{name}.branch3x3_2a', 384, 384, (1, 3), pad=(0, 1))
    add(f'{name}.branch3x3_2b', 384, 384, (3, 1), pad=(1, 0))
    add(f'{name}.branch3x3dbl_1', cin, 448, 1)
    add(f'{name}.branch3x3dbl_2', 448, 384, 3, pad=1)
    add(f'{name}.branch3x3dbl_3a', 384, 384, (1, 3), pad=(0, 1))
    add(f'{name}.branch3x3dbl_3b', 384, 384, (3, 1), pad=(1, 0))
    add(f'{name}.branch_pool', cin, 192, 1)
  return t


INCEPTION_LAYERS = _inception_layer_table()


def fake_inception_state_dict(seed: int = 0) -> dict:
  """Random Inception weights in torch's layout (pytorch-fid's file cannot be downloaded here),
  scaled so activations stay O(1) through 94 layers."""
  rng = np.random.default_rng(seed)
  sd = {}
  for name, (cin, cout, (kh, kw), _, _) in INCEPTION_LAYERS.items():
    sd[f'{name}.conv.weight'] = rng.normal(0, np.sqrt(2 / (cin * kh * kw)), (cout, cin, kh, kw))
    sd[f'{name}.bn.weight'] = rng.uniform(0.5, 1.5, cout)
    sd[f'{name}.bn.bias'] = rng.normal(0, 0.1, cout)
    sd[f'{name}.bn.running_mean'] = rng.normal(0, 0.1, cout)
    sd[f'{name}.bn.running_var'] = rng.uniform(0.5, 2.0, cout)
    sd[f'{name}.bn.num_batches_tracked'] = np.array(0, np.int64)
  sd['fc.weight'] = rng.normal(0, 0.02, (1008, 2048))
  sd['fc.bias'] = rng.normal(0, 1.0, 1008)
  return {k: v.astype(np.float32) if v.dtype == np.float64 else v for k, v in sd.items()}
