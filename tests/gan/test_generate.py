"""Generating from a trained run (jaxgan.gan.generate) and `python -m jaxgan.sample`: PNG grids
and .npz arrays."""

import os

import numpy as np

from testlib import get_config, run_tool, tiny
from jaxgan import sample
from jaxgan.data.transforms import to_uint8
from jaxgan.gan import generate, train


def test_sample_cli_png_and_npz(tiny_digits_run, tmp_path):
  config, workdir = tiny_digits_run
  npz, png = str(tmp_path / 's.npz'), str(tmp_path / 's.png')
  result = run_tool('sample', f'--workdir={workdir}', '--num=10', f'--out={npz}', '--seed=3',
                    '--no-ema')
  assert result.returncode == 0, result.stderr[-2000:]
  samples = np.load(npz)['samples']
  assert samples.shape == (10, 16, 16, 1) and samples.dtype == np.uint8
  assert run_tool('sample', f'--workdir={workdir}', '--num=9', f'--out={png}').returncode == 0
  assert os.path.getsize(png) > 0
  # The CLI and the library draw the same samples for the same seed.
  _, gan, state, _ = generate.load_run(workdir)
  again = generate.generate_samples(config, gan, state, 10, seed=3, use_ema=False)
  np.testing.assert_array_equal(to_uint8(again), samples)


def test_sample_points_npz(workdir, tmp_path):
  config = tiny(get_config('gan_grid25'), steps=2)
  train.train_and_evaluate(config, workdir)
  _, gan, state, _ = generate.load_run(workdir)
  points = generate.generate_samples(config, gan, state, 7, seed=0)
  out = str(tmp_path / 'p.npz')
  sample.write(out, points)
  loaded = np.load(out)['samples']
  assert loaded.shape == (7, 2) and loaded.dtype == np.float32
