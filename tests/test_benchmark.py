"""`python -m jaxgan.benchmark` and its PyTorch reference: correctness only, never speed."""

import json

import jax
import numpy as np
import pytest
from flax import nnx

from testlib import REPO, get_config, run_tool
from jaxgan import models


def test_benchmark_command_ends_with_one_json_line():
  args = ['--config=configs/dcgan_digits.py', '--batch_size=8', '--steps=1', '--rounds=1',
          '--warmup=1', '--pipeline_batches=2', '--config.model.image_size=16',
          '--config.model.g_features=8', '--config.model.d_features=8']
  try:
    import torch  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
    args.append('--compare_torch')
  except ImportError:
    pass  # The JAX half is still checked.
  run = run_tool('benchmark', *args, env={'PYTHONPATH': REPO}, timeout=600)
  assert run.returncode == 0, run.stderr[-3000:]
  result = json.loads(run.stdout.strip().splitlines()[-1])
  assert result['config'] == 'dcgan_digits' and result['batch_size'] == 8
  assert result['finite'] is True
  for key in ('images_per_s', 'compile_s', 'peak_memory_mb', 'pipeline_images_per_s'):
    assert result[key] > 0, key
  if '--compare_torch' in args:
    assert result['torch_images_per_s'] > 0
    assert result['ratio'] == pytest.approx(
        result['images_per_s'] / result['torch_images_per_s'], rel=1e-2)


@pytest.mark.parametrize('seed_batching', ['loop', 'vmap'])
def test_benchmark_times_many_seeds_in_one_program(seed_batching):
  """--num_seeds=2: the 2-member program is built, stays finite, and its ratio is the members'
  images/s over the single run's (what two runs one after another would give)."""
  run = run_tool('benchmark', '--config=configs/dcgan_digits.py', '--batch_size=8', '--steps=2',
                 '--rounds=1', '--warmup=1', '--pipeline_batches=0', '--num_seeds=2',
                 f'--config.seed_batching={seed_batching}', '--config.model.image_size=16',
                 '--config.model.g_features=8', '--config.model.d_features=8',
                 env={'PYTHONPATH': REPO}, timeout=600)
  assert run.returncode == 0, run.stderr[-3000:]
  result = json.loads(run.stdout.strip().splitlines()[-1])
  assert result['num_seeds'] == 2 and result['seed_batching'] == seed_batching
  assert result['finite'] is True and result['seeds_finite'] is True
  assert result['seeds_compile_s'] > 0 and result['seeds_images_per_s'] > 0
  assert result['sequential_compile_s'] == pytest.approx(2 * result['compile_s'], abs=2e-3)
  assert result['seeds_ratio'] == pytest.approx(
      result['seeds_images_per_s'] / result['images_per_s'], rel=1e-2)


def jax_param_sizes(model_config) -> list[int]:
  g, d = nnx.eval_shape(lambda: models.build_models(model_config, nnx.Rngs(0)))
  return [sorted(int(np.prod(x.shape)) for x in jax.tree.leaves(nnx.state(m, nnx.Param)))
          for m in (g, d)]


@pytest.mark.parametrize('name, overrides', [
    ('dcgan_celeba', {}),
    ('wgan_gp_cifar', {}),  # Layer-norm critic with biases.
    ('dcgan_anime', {}),  # Linear input layer, 5x5 kernels.
    ('dcgan_digits', {'g_upsample': 'subpixel'}),
    ('sngan_cifar', {}),  # ResNets, spectral norm: u is a statistic, not a parameter.
    ('r3gan_cifar', {'g_features': 32, 'd_features': 32}),  # Grouped convs, embeddings.
])
def test_torch_reference_has_our_parameter_shapes(name, overrides):
  torch_reference = pytest.importorskip('benchmarks.torch_reference')
  config = get_config(name)
  config.model.update(overrides)
  g, d = torch_reference.build(config)
  torch_sizes = [sorted(p.numel() for p in m.parameters()) for m in (g, d)]
  assert torch_sizes == jax_param_sizes(config.model)

