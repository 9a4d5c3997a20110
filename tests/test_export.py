"""`python -m jaxgan.export`: the StableHLO module and the SavedModel, each reloaded in a fresh
process without jaxgan, give jaxgan.sample's images for the noise (and labels) it stored, at
batch sizes other than any seen at export."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import testlib
from testlib import run_tool

CPU = {'JAX_PLATFORMS': 'cpu'}

# Runs in a fresh interpreter that never imports jaxgan: only jax / tensorflow and the files.
RELOAD = r'''
import sys, numpy as np
kind, directory, npz, out = sys.argv[1:]
data = np.load(npz)
inputs = [data['noise']] + ([data['labels']] if 'labels' in data else [])
assert 'jaxgan' not in sys.modules
if kind == 'stablehlo':
  import jax
  exported = jax.export.deserialize(open(f'{directory}/generator.stablehlo', 'rb').read())
  call = lambda *x: np.asarray(exported.call(*x))
else:
  import tensorflow as tf
  f = tf.saved_model.load(f'{directory}/saved_model').signatures['serving_default']
  names = ['noise', 'labels']
  call = lambda *x: f(**dict(zip(names, map(tf.constant, x))))['images'].numpy()
# Two batch sizes (polymorphic N): all at once, and one image at a time.
whole = call(*inputs)
singles = np.concatenate([call(*[x[i:i + 1] for x in inputs]) for i in range(len(inputs[0]))])
assert 'jaxgan' not in sys.modules
np.savez(out, whole=whole, singles=singles)
'''


def reload(kind, directory, npz, tmp_path):
  out = tmp_path / f'{kind}.npz'
  result = subprocess.run([sys.executable, '-c', RELOAD, kind, str(directory), str(npz), str(out)],
                          env=os.environ | CPU, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  return np.load(out)


@pytest.fixture(scope='module')
def tiny_cgan_run(tmp_path_factory):
  from jaxgan.gan import train
  config = testlib.tiny(testlib.get_config('cgan_digits'), steps=2)
  workdir = str(tmp_path_factory.mktemp('cgan') / 'run')
  train.train_and_evaluate(config, workdir)
  return config, workdir


@pytest.mark.parametrize('run', ['tiny_digits_run', 'tiny_cgan_run'])
def test_exported_generator_reloads_equal_to_sample(run, request, tmp_path):
  config, workdir = request.getfixturevalue(run)
  exported = tmp_path / 'exported'
  result = run_tool('export', f'--workdir={workdir}', f'--out={exported}', env=CPU)
  assert result.returncode == 0, result.stderr[-3000:]
  npz = tmp_path / 'samples.npz'
  result = run_tool('sample', f'--workdir={workdir}', '--num=5', f'--out={npz}', '--seed=3',
                    env=CPU)
  assert result.returncode == 0, result.stderr[-3000:]
  samples = np.load(npz)
  assert samples['noise'].shape == (5, config.model.z_dim)
  assert samples['noise'].dtype == np.float32
  conditional = run == 'tiny_cgan_run'
  assert ('labels' in samples) == conditional
  for kind in ('stablehlo', 'saved_model'):
    images = reload(kind, exported, npz, tmp_path)
    for key in ('whole', 'singles'):
      assert images[key].dtype == np.uint8 and images[key].shape == samples['samples'].shape
      diff = np.abs(images[key].astype(int) - samples['samples'].astype(int))
      assert diff.max() <= 1, (kind, key, diff.max())
    # Different noise, different images: the comparison above is not between constants.
    assert np.abs(np.diff(images['whole'].astype(int), axis=0)).max() > 0
  info = json.loads((exported / 'export.json').read_text())
  assert info['step'] == config.num_steps
  assert info['inputs']['noise']['shape'] == ['N', config.model.z_dim]
  assert ('labels' in info['inputs']) == conditional
  assert info['outputs']['images']['shape'][1:] == list(samples['samples'].shape[1:])
  readme = (exported / 'README.md').read_text()
  assert 'serving_default' in readme and 'generator.stablehlo' in readme


def test_export_refuses_a_toy_run(tmp_path):
  from jaxgan.gan import train
  from jaxgan import export
  from absl import app
  config = testlib.tiny(testlib.get_config('gan_grid25'), steps=2)
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(config, workdir)
  with pytest.raises(app.UsageError, match='not images'):
    export.export_run(workdir, str(tmp_path / 'out'), saved_model=False)
