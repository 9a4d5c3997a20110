"""Device mesh and shardings: data parallel over the `data` axis, parameters replicated.

One device is just the smallest mesh, so the same jitted step runs on 1 CPU, 8 GPUs or a pod
slice. Under jit, BatchNorm's batch mean and variance are reductions over the global (sharded)
batch axis, so its statistics are those of the global batch on any number of devices.
"""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P


def make_mesh(devices=None) -> Mesh:
  devices = np.asarray(devices if devices is not None else jax.devices())
  return Mesh(devices.reshape(-1), ('data',))


def check_batch_size(batch_size: int, mesh: Mesh) -> None:
  if batch_size % mesh.size or batch_size % jax.process_count():
    raise ValueError(
        f'batch_size={batch_size} (global) must divide by the number of devices ({mesh.size}) '
        f'and processes ({jax.process_count()}). Set --config.batch_size to a multiple of '
        f'{mesh.size}.')


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Host batches are (n_critic, B, ...): split B over the devices."""
  return NamedSharding(mesh, P(None, 'data'))


def to_global(batch: dict, mesh: Mesh) -> dict:
  """Assembles each host's slice into one global jax.Array per key."""
  sharding = batch_sharding(mesh)
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v))
          for k, v in batch.items()}
