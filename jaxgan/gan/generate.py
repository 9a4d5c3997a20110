"""Generating from a GAN: fixed noise, the jitted sampler, batched generation, loading a run.

The one place that turns (params, stats, noise, labels) into samples: the training loop's grids,
the evaluators and `python -m jaxgan.sample` all go through `generate_batches`.
"""

import math
from typing import Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from jax.sharding import NamedSharding, PartitionSpec as P

from jaxgan.gan import state as state_lib, steps
from jaxgan.run import checkpoint, members, sharding
from jaxgan.run import workdir as workdir_lib
from jaxgan.run.state import apply, restore_run

# Fixed noise of a run: fold_in(PRNGKey(config.seed), salt), the same at every step.
GRID_NOISE_SALT = 0x5A3D1E  # The sample grids written during training.
EVAL_NOISE_SALT = 0xE7A1  # The evaluators' samples.
STANDING_NOISE_SALT = 0x57A4D  # The batches that recompute the EMA generator's statistics.
STANDING_STATS = 'ema_standing_stats'  # Their name among a checkpoint's extras.


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


def average_batch_stats(update: Callable, stats, batches) -> dict:
  """The mean over `batches` of each batch's own BatchNorm statistics.

  `update(stats, batch)` returns running statistics after one training-mode pass,
  m * stats + (1 - m) * batch_stats, whatever each layer's momentum m. From zeros that is
  (1 - m) * batch_stats; one more pass from ones gives m. So this needs no knowledge of the
  layers: it averages what the passes from zeros return and divides by (1 - m).
  """
  zeros = jax.tree.map(jnp.zeros_like, stats)
  scaled = [update(zeros, batch) for batch in batches]
  total = jax.tree.map(lambda *s: sum(s), *scaled)
  momentum = jax.tree.map(jnp.subtract, update(jax.tree.map(jnp.ones_like, stats), batches[0]),
                          scaled[0])
  return jax.tree.map(lambda t, m: t / len(batches) / (1.0 - m), total, momentum)


def standing_stats(config: ml_collections.ConfigDict, gan: state_lib.GAN, params, stats):
  """The generator's BatchNorm statistics recomputed for `params` (BigGAN's standing stats).

  The running statistics of training belong to the raw generator, not to its EMA. With
  model.ema_standing_batches = N > 0 they are replaced by the mean statistics of N training-mode
  batches of fixed noise (batch_size each, balanced labels for conditional models), a pure
  function of the parameters and the seed, so a restored run recomputes the same numbers.
  """
  num_batches = config.model.get('ema_standing_batches', 0)
  if not num_batches or not jax.tree.leaves(stats):
    return stats
  size, num_classes = config.batch_size, config.model.get('num_classes', 0)
  z = np.asarray(fixed_noise(config, STANDING_NOISE_SALT, num_batches * size))
  labels = (np.arange(size) % num_classes).astype(np.int32) if num_classes else None
  update = training_pass_stats(gan.g_graph)
  return average_batch_stats(lambda stats, z: update(params, stats, z, labels), stats,
                             [z[i * size:(i + 1) * size] for i in range(num_batches)])


_TRAINING_PASSES = {}  # id(graph) -> (graph, jitted pass): compiled once per generator graph.


def training_pass_stats(g_graph):
  """jit(params, stats, z, labels) -> G's running statistics after one training-mode pass."""
  if id(g_graph) not in _TRAINING_PASSES:  # GraphDefs are not hashable; the entry keeps it alive.
    _TRAINING_PASSES[id(g_graph)] = (g_graph, jax.jit(lambda params, stats, z, labels: apply(
        g_graph, params, stats, *steps.conditioned(z, labels), train=True)[1]))
  return _TRAINING_PASSES[id(g_graph)][1]


def has_standing_stats(config: ml_collections.ConfigDict, state) -> bool:
  """Whether the EMA generator samples with standing statistics (they are then checkpointed)."""
  return (config.model.ema_decay > 0 and config.model.get('ema_standing_batches', 0) > 0
          and bool(jax.tree.leaves(state.g_stats)))


def sampling_generator(config: ml_collections.ConfigDict, gan: state_lib.GAN, state,
                       use_ema: bool = True, standing=None):
  """(params, stats) to sample: the EMA's with standing statistics if configured, else the raw
  generator's with its running statistics. `standing`: those statistics as load_run read them
  from the checkpoint (None: computed here)."""
  if not (use_ema and config.model.ema_decay > 0):
    return state.g_params, state.g_stats
  if standing is None:
    standing = standing_stats(config, gan, state.ema_params, state.g_stats)
  return state.ema_params, standing


def checkpoint_extras(config: ml_collections.ConfigDict, state, sampling) -> dict | None:
  """What a GAN checkpoint stores beside the state (Checkpointer.save's `extras`): the EMA
  generator's standing statistics, so that readers sample with the very numbers training
  evaluated with, on any machine. `sampling`: sampling_generator's (params, stats)."""
  return {STANDING_STATS: sampling[1]} if has_standing_stats(config, state) else None


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


def load_run(workdir: str, step: int | None = None, subdir: str = 'checkpoints',
             seed_index: int | None = 0):
  """(config, gan, state, standing) of a GAN run's checkpoint, restored onto the local devices.

  `standing`: the EMA generator's standing statistics stored with the checkpoint, for
  sampling_generator; None where there are none (not configured, or a checkpoint written before
  they were stored: sampling then recomputes them). subdir='best' loads the best checkpoint by
  config.best_metric (see jaxgan.gan.evaluators).

  A run of config.num_seeds = N > 1 members gives member `seed_index` with its own config (seed
  + k, num_seeds 1), as if it were that single run; its best checkpoint is its own
  (best_seed_<k>). seed_index=None: every member, stacked, with the run's config.
  """
  run_config = workdir_lib.load_config(workdir)
  several = members.count(run_config) > 1
  if seed_index is not None:
    members.check_index(run_config, seed_index)
  config = None
  if subdir == 'best' and several:
    if seed_index is None:
      raise ValueError('Each member keeps its own best checkpoint: pass a seed_index.')
    config, subdir = members.member_configs(run_config)[seed_index], f'best_seed_{seed_index}'
  config, gan, state = restore_run(state_lib.create, 'gan', workdir, step, subdir, config)
  standing = None
  if has_standing_stats(config, state):
    ckpt = checkpoint.Checkpointer(workdir, config.keep_checkpoints, subdir)
    try:
      stored = ckpt.restore_extras(members.current_step(state), {STANDING_STATS: jax.tree.map(
          ocp.utils.to_shape_dtype_struct, state.g_stats)})
    finally:
      ckpt.close()
    standing = None if stored is None else stored[STANDING_STATS]
  if several and subdir == 'checkpoints' and seed_index is not None:
    config = members.member_configs(config)[seed_index]
    state = members.member(state, seed_index)
    standing = None if standing is None else members.member(standing, seed_index)
  return config, gan, state, standing


def seeded_noise(config: ml_collections.ConfigDict, num: int, seed: int,
                 truncation: float = 0.0) -> np.ndarray:
  """The noise generate_samples draws for `seed` (jaxgan.sample stores it beside the samples)."""
  return np.asarray(noise(jax.random.PRNGKey(seed), num, config.model.z_dim, truncation))


def generate_samples(config, gan, state, num: int, seed: int, use_ema: bool = True,
                     batch_size: int = 256, labels=None, truncation: float = 0.0,
                     standing=None) -> np.ndarray:
  """num samples in model space ([-1, 1] images or 2-D points), deterministic in seed.

  Conditional runs draw sample i for class labels[i] (int, (num,)); unconditional runs take none.
  `truncation` > 0 draws the noise truncated to [-truncation, truncation] (see `noise`);
  `standing`: load_run's stored standing statistics (see sampling_generator).
  """
  if (labels is None) != (not config.model.get('num_classes', 0)):
    raise ValueError(f'model.name={config.model.name!r} is '
                     + ('class-conditional: pass labels.' if labels is None else
                        'unconditional: it takes no labels (drop --labels/--per_class).'))
  z = seeded_noise(config, num, seed, truncation)
  labels = None if labels is None else np.asarray(labels, np.int32)
  params, stats = sampling_generator(config, gan, state, use_ema, standing)
  return generate_batches(make_sampler(gan), params, stats, z, labels, batch_size)
