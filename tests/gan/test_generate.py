"""`python -m jaxgan.sample`: PNG grids and .npz arrays from a trained run."""

import os
import subprocess
import sys

import numpy as np

from testlib import REPO, tiny
from configs import dcgan_digits, gan_grid25
from jaxgan import sample, train


def run_sample(*args):
  return subprocess.run([sys.executable, '-m', 'jaxgan.sample', *args], cwd=REPO,
                        capture_output=True, text=True, timeout=300)


def test_sample_cli_png_and_npz(workdir, tmp_path):
  config = tiny(dcgan_digits.get_config(), steps=2)
  train.train_and_evaluate(config, workdir)
  npz, png = str(tmp_path / 's.npz'), str(tmp_path / 's.png')
  result = run_sample(f'--workdir={workdir}', '--num=10', f'--out={npz}', '--seed=3', '--no-ema')
  assert result.returncode == 0, result.stderr[-2000:]
  samples = np.load(npz)['samples']
  assert samples.shape == (10, 16, 16, 1) and samples.dtype == np.uint8
  assert run_sample(f'--workdir={workdir}', '--num=9', f'--out={png}').returncode == 0
  assert os.path.getsize(png) > 0
  # The CLI and the library draw the same samples for the same seed.
  _, gan, state = sample.load_run(workdir)
  again = sample.generate_samples(config, gan, state, 10, seed=3, use_ema=False)
  np.testing.assert_array_equal(sample.to_uint8(again), samples)


def test_sample_points_npz(workdir, tmp_path):
  config = tiny(gan_grid25.get_config(), steps=2)
  train.train_and_evaluate(config, workdir)
  _, gan, state = sample.load_run(workdir)
  points = sample.generate_samples(config, gan, state, 7, seed=0)
  out = str(tmp_path / 'p.npz')
  sample.write(out, points)
  loaded = np.load(out)['samples']
  assert loaded.shape == (7, 2) and loaded.dtype == np.float32
