"""Train states as pure pytrees: nnx modules split into graphs and dicts, built on the mesh.

A task's `create(config)` returns `(static, init_fn)`: what stays fixed during training (module
graphs, optimizers) and a traceable `init_fn() -> state`. `build_state` places that state on a
mesh; `restore_run` reads a finished run's checkpoint back.
"""

from typing import Any, Callable

import jax
import ml_collections
from flax import nnx

from jaxgan.run import checkpoint, members, sharding, workdir as workdir_lib

Pytree = Any


def split(module: nnx.Module):
  """(graph, params, batch statistics) of a module; params and stats as pure dicts."""
  graph, params, stats = nnx.split(module, nnx.Param, nnx.BatchStat)
  return graph, nnx.to_pure_dict(params), nnx.to_pure_dict(stats)


def apply(graph: nnx.GraphDef, params: Pytree, stats: Pytree, *args, **kwargs):
  """Runs a module as a pure function: returns (output, updated batch statistics)."""
  module = nnx.merge(graph, params, stats)
  out = module(*args, **kwargs)
  return out, nnx.to_pure_dict(nnx.state(module, nnx.BatchStat))


def init_keys(seed: int):
  """(key for parameter init, base key for training) derived from the seed alone."""
  init_key, train_key = jax.random.split(jax.random.PRNGKey(seed))
  return init_key, train_key


def build_state(create: Callable, config: ml_collections.ConfigDict, mesh):
  """(static, abstract state with shardings, jitted init) of `create(config)` on `mesh`; with
  config.num_seeds = N > 1, of N members stacked on a leading axis (jaxgan.run.members)."""
  static, init_fn = members.create(create, config)
  abstract = jax.eval_shape(init_fn)
  shardings = sharding.state_shardings(abstract, mesh, config.param_sharding)
  init = jax.jit(init_fn, out_shardings=shardings)
  return static, checkpoint.abstract_like(abstract, shardings), init


def restore_run(create: Callable, task: str, workdir: str, step: int | None = None,
                subdir: str = 'checkpoints', config: ml_collections.ConfigDict | None = None):
  """(config, static, state) of the checkpoint of a `task` run, restored onto local devices.

  subdir='best' loads the best checkpoint kept by config.best_metric. `config`: the state's
  config when it is not the workdir's (a member's own best checkpoint, jaxgan.run.members).
  """
  config = config or workdir_lib.load_config(workdir)
  if config.get('task', 'gan') != task:
    raise ValueError(f'{workdir!r} is a {config.get("task", "gan")!r} run, this tool needs a '
                     f'{task!r} one (config.task).')
  static, abstract_state, _ = build_state(create, config, sharding.make_mesh())
  ckpt = checkpoint.Checkpointer(workdir, config.keep_checkpoints, subdir)
  try:
    if ckpt.latest_step() is None:
      raise checkpoint.CheckpointError(
          f'No checkpoint in {ckpt.directory}: train it first with python -m jaxgan.main '
          f'--config=configs/{config.name}.py --workdir={workdir}')
    state, _ = ckpt.restore(abstract_state, step)
  finally:
    ckpt.close()
  return config, static, state
