"""Device mesh and shardings: data parallel over the `data` axis, parameters replicated or
sharded (FSDP).

One device is just the smallest mesh, so the same jitted step runs on 1 CPU, 8 GPUs or a pod
slice. Under jit, BatchNorm's batch mean and variance are reductions over the global (sharded)
batch axis, so its statistics are those of the global batch on any number of devices
(tests/run/test_sharding.py checks this against a numpy computation).
"""

import math
import os

import jax
import ml_collections
import numpy as np
from absl import logging
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxgan.run import members

SEEDS = 'seeds'  # The mesh axis of the members (mesh.seed_axis).


def make_mesh(config: ml_collections.ConfigDict | None = None, devices=None) -> Mesh:
  """A 1-D `data` mesh over `config.mesh.num_devices` devices (-1: all of them); with
  mesh.seed_axis and num_seeds = N > 1, a (seeds, data) mesh of N rows: each member's state and
  batch on its own row of devices, its batch split along the row."""
  devices = list(devices if devices is not None else jax.devices())
  wanted = config.mesh.num_devices if config is not None else -1
  if wanted > 0:
    if wanted > len(devices):
      raise ValueError(f'mesh.num_devices={wanted} but only {len(devices)} devices exist.')
    devices = devices[:wanted]
  seeds = members.count(config) if config is not None and config.mesh.get('seed_axis') else 1
  if seeds > 1:
    if len(devices) % seeds or jax.process_count() > 1:
      raise ValueError(f'mesh.seed_axis puts each of num_seeds={seeds} members on its own '
                       f'devices: it needs a multiple of {seeds} devices in one process, not '
                       f'{len(devices)} in {jax.process_count()}. Set mesh.num_devices, or '
                       'mesh.seed_axis=False (members share the data axis).')
    if config.get('seed_batching') == 'vmap':
      # XLA's partitioner splits vmap's grouped convolutions along their features over `seeds`
      # and then rejects them (a 1-channel output, 2 groups: INVALID_ARGUMENT).
      raise ValueError("mesh.seed_axis needs seed_batching='loop': vmapped members' grouped "
                       'convolutions do not partition over the seeds axis. Set '
                       "--config.seed_batching=loop, or mesh.seed_axis=False.")
    return Mesh(np.asarray(devices).reshape(seeds, -1), (SEEDS, 'data'))
  return Mesh(np.asarray(devices).reshape(-1), ('data',))


def data_size(mesh: Mesh) -> int:
  """Devices that split one batch: the `data` axis."""
  return mesh.shape['data']


def check_batch_size(batch_size: int, mesh: Mesh) -> None:
  devices = data_size(mesh)  # The devices that split one batch.
  if batch_size % devices or batch_size % jax.process_count():
    raise ValueError(
        f'batch_size={batch_size} (global) must divide by the number of devices ({devices}) '
        f'and processes ({jax.process_count()}). Set --config.batch_size to a multiple of '
        f'{devices}.')


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


# FSDP shards only leaves of at least this many elements. Smaller ones (biases, norm scales,
# the PRNG key, the step) stay replicated: splitting them saves little memory and costs a
# collective per use. 2**14 float32 elements are 64 KiB.
FSDP_MIN_SIZE = 2**14


def fsdp(mesh: Mesh, shape: tuple[int, ...], min_size: int = FSDP_MIN_SIZE) -> NamedSharding:
  """Shards the largest axis that divides by the mesh size along `data`, for leaves of at least
  `min_size` elements; replicates the rest."""
  if math.prod(shape) < min_size:
    return replicated(mesh)
  for axis in sorted(range(len(shape)), key=lambda a: -shape[a]):
    if shape[axis] % mesh.size == 0:
      spec = [None] * len(shape)
      spec[axis] = 'data'
      return NamedSharding(mesh, P(*spec))
  return replicated(mesh)


def state_shardings(abstract_state, mesh: Mesh, mode: str = 'replicated'):
  """Shardings of every state leaf: 'replicated' (default) or 'fsdp' (ZeRO-3 style: parameters
  and optimizer moments split over the devices, gathered by XLA where a step uses them).
  On a (seeds, data) mesh every leaf's member axis is split over `seeds` (replicated only)."""
  if SEEDS in mesh.axis_names:
    if mode != 'replicated':
      raise ValueError(f'param_sharding={mode!r} with mesh.seed_axis: only replicated members '
                       'are supported.')
    return jax.tree.map(lambda _: NamedSharding(mesh, P(SEEDS)), abstract_state)
  if mode == 'replicated':
    return jax.tree.map(lambda _: replicated(mesh), abstract_state)
  if mode == 'fsdp':
    return jax.tree.map(lambda x: fsdp(mesh, x.shape), abstract_state)
  raise ValueError(f"Unknown param_sharding={mode!r}; expected 'replicated' or 'fsdp'.")


def bytes_per_device(state) -> int:
  """Bytes one device (the first) holds of a state of arrays or of ShapeDtypeStructs with
  shardings: the sum over leaves of their shard sizes."""
  def shard_bytes(x):
    shape = x.sharding.shard_shape(x.shape) if x.shape else ()
    return math.prod(shape) * x.dtype.itemsize
  return sum(shard_bytes(x) for x in jax.tree.leaves(state))


def batch_sharding(mesh: Mesh, batch_axis: int = 1) -> NamedSharding:
  """Splits axis `batch_axis` of a batch over the devices: 1 for the GAN loop's
  (n_critic, B, ...), 0 for the SR loop's (B, ...), one more with steps_per_call stacking, and
  one more for members (N, n_critic, B, ...), whose axis a (seeds, data) mesh splits too."""
  spec = [None] * batch_axis + ['data']
  if SEEDS in mesh.axis_names:
    spec[batch_axis - 2] = SEEDS  # (..., N, n_critic, B, ...)
  return NamedSharding(mesh, P(*spec))


def to_global(batch: dict, mesh: Mesh, batch_axis: int = 1) -> dict:
  """Assembles each host's slice into one global jax.Array per key."""
  sharding = batch_sharding(mesh, batch_axis)
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v))
          for k, v in batch.items()}


def initialize_distributed(coordinator_address: str | None = None,
                           num_processes: int | None = None,
                           process_id: int | None = None) -> None:
  """Joins a multi-process run: from explicit flags, or detected on TPU pods and SLURM.

  On CPU the processes talk over gloo collectives (used by tests and
  launch/local_multiprocess.sh). A lone process with nothing to detect does nothing.
  """
  explicit = coordinator_address is not None
  detected = 'SLURM_NTASKS' in os.environ and int(os.environ['SLURM_NTASKS']) > 1
  detected |= 'TPU_WORKER_HOSTNAMES' in os.environ or 'MEGASCALE_COORDINATOR_ADDRESS' in os.environ
  if not (explicit or detected):
    return
  if explicit and jax.config.jax_platforms in (None, '', 'cpu'):
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  jax.distributed.initialize(coordinator_address, num_processes, process_id)
  logging.info('Process %d of %d; %d local devices, %d in all.', jax.process_index(),
               jax.process_count(), jax.local_device_count(), jax.device_count())
