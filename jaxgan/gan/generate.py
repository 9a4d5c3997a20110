"""Generating from a GAN: fixed noise, the jitted sampler, batched generation, loading a run.

The one place that turns (params, stats, noise, labels) into samples: the training loop's grids,
the evaluators and `python -m jaxgan.sample` all go through `generate_batches`.
"""

import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxgan.gan import state as state_lib, steps
from jaxgan.run import sharding
from jaxgan.run.state import restore_run

# Fixed noise of a run: fold_in(PRNGKey(config.seed), salt), the same at every step.
GRID_NOISE_SALT = 0x5A3D1E  # The sample grids written during training.
EVAL_NOISE_SALT = 0xE7A1  # The evaluators' samples.


def noise(key, num: int, z_dim: int, truncation: float = 0.0) -> jax.Array:
  """N(0, I) noise; with truncation psi > 0, every entry with |z| > psi is resampled, i.e.
  drawn from the normal truncated to [-psi, psi] (the truncation trick of BigGAN)."""
  if truncation < 0:
    raise ValueError(f'truncation={truncation} must be > 0 (or 0: none).')
  if not truncation:
    return steps.sample_noise(key, num, z_dim)
  return jax.random.truncated_normal(key, -truncation, truncation, (num, z_dim), jnp.float32)


def fixed_noise(config: ml_collections.ConfigDict, salt: int, num: int,
                truncation: float = 0.0) -> jax.Array:
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), salt)
  return noise(key, num, config.model.z_dim, truncation)


def grid_noise(config: ml_collections.ConfigDict, num: int | None = None) -> jax.Array:
  return fixed_noise(config, GRID_NOISE_SALT, num or config.num_grid_samples)


def sampling_params(config: ml_collections.ConfigDict, state, use_ema: bool = True):
  """The generator parameters to sample: the EMA's if the run keeps one (and use_ema)."""
  return state.ema_params if use_ema and config.model.ema_decay > 0 else state.g_params


def make_sampler(gan: state_lib.GAN, mesh=None):
  """jit(params, stats, z, labels=None) -> samples, in inference mode (BatchNorm running stats).

  `labels` (int32 (N,)) only for class-conditional models. With `mesh`, the samples come back
  replicated, so every process holds (and scores) the same ones.
  """
  out_shardings = None if mesh is None else sharding.replicated(mesh)
  return jax.jit(lambda params, stats, z, labels=None: steps.generate(
      gan, params, stats, z, train=False, labels=labels)[0], out_shardings=out_shardings)


def generate_batches(sampler, params, stats, z, labels=None, batch_size: int = 256,
                     mesh=None) -> np.ndarray:
  """sampler(...) over `z` (and `labels`) in batches of `batch_size`, gathered on the host.

  With `mesh` each batch is split over its devices (batch_size must divide by their number).
  """
  put = (lambda x: x) if mesh is None else (
      lambda x: jax.device_put(x, NamedSharding(mesh, P('data'))))
  outs = [sampler(params, stats, put(z[i:i + batch_size]),
                  None if labels is None else put(labels[i:i + batch_size]))
          for i in range(0, len(z), batch_size)]
  return np.concatenate([np.asarray(jax.device_get(o)) for o in outs])


def padded_batch(batch_size: int, mesh) -> int:
  """The smallest multiple of the mesh's size not below batch_size."""
  return math.ceil(batch_size / mesh.size) * mesh.size


def load_run(workdir: str, step: int | None = None, subdir: str = 'checkpoints'):
  """(config, gan, state) of a GAN run's checkpoint, restored onto the local devices.

  subdir='best' loads the best checkpoint by config.best_metric (see jaxgan.gan.evaluators).
  """
  return restore_run(state_lib.create, 'gan', workdir, step, subdir)


def generate_samples(config, gan, state, num: int, seed: int, use_ema: bool = True,
                     batch_size: int = 256, labels=None, truncation: float = 0.0) -> np.ndarray:
  """num samples in model space ([-1, 1] images or 2-D points), deterministic in seed.

  Conditional runs draw sample i for class labels[i] (int, (num,)); unconditional runs take none.
  `truncation` > 0 draws the noise truncated to [-truncation, truncation] (see `noise`).
  """
  if (labels is None) != (not config.model.get('num_classes', 0)):
    raise ValueError(f'model.name={config.model.name!r} is '
                     + ('class-conditional: pass labels.' if labels is None else
                        'unconditional: it takes no labels (drop --labels/--per_class).'))
  z = noise(jax.random.PRNGKey(seed), num, config.model.z_dim, truncation)
  labels = None if labels is None else np.asarray(labels, np.int32)
  return generate_batches(make_sampler(gan), sampling_params(config, state, use_ema),
                          state.g_stats, z, labels, batch_size)
