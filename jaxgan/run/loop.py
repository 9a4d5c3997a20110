"""The training loop every task shares: open the workdir, restore or initialise, then step, log,
checkpoint and stop, with a task's own work (sample grids, evaluations) done by `on_step`.

A task's loop reads:

  def train_run(config, workdir, stop, poisoned):
    run = loop.open_run(config, workdir)          # mesh, checkpointer, resume rules, config.json
    ...                                           # the task's data iterator and jitted step
    state = run.restore_or_init(abstract_state, init, iterator)  # Also writes run_info.json.
    tail = loop.Tail(run, stop, poisoned)         # writer, progress, non-finite guard
    state = tail.train(state, iterator, train_step, batch_axis=1, on_step=...)
    tail.finish()
"""

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging
from clu import metric_writers, periodic_actions

from jaxgan.run import (checkpoint, console, feed, guards, members, preemption, run_record,
                        sharding)
from jaxgan.run import workdir as workdir_lib


def is_main_process() -> bool:
  return jax.process_index() == 0


def train_with_recovery(train_run, config: ml_collections.ConfigDict, workdir: str):
  """`train_run(config, workdir, stop, poisoned)` under signal handling and non-finite rollbacks.

  SIGTERM/SIGINT save a checkpoint and raise preemption.Preempted; a non-finite step under
  nonfinite='rollback' restarts from the last checkpoint with lower learning rates.
  """
  guards.check_policy(config.nonfinite)
  poisoned = set()  # debug_nan_step fires once per call, not again after a rollback.
  workdir_lib.path(workdir).mkdir(parents=True, exist_ok=True)  # Local, or a gs:// URL.
  with console.log_file(workdir) as log, preemption.StopSignal() as stop:
    console.line(f'Training {config.name} to step {config.num_steps:,} in {workdir}'
                 + (f' (full log: {log})' if log else ''))
    while True:
      try:
        return train_run(config, workdir, stop, poisoned)
      except guards.RollbackRequested as rollback:
        config = guards.reduced_lr(config)
        logging.warning('Rolling back to the last checkpoint (%s); lr_scale is now %g.',
                        rollback, config.optim.lr_scale)


@dataclasses.dataclass
class Run:
  """A run's workdir, resolved config, mesh and checkpointer, from `open_run`."""
  config: ml_collections.ConfigDict
  workdir: str
  mesh: jax.sharding.Mesh
  ckpt: checkpoint.Checkpointer
  start_step: int = 0

  def restore_or_init(self, abstract_state, init: Callable, iterator):
    """The latest checkpoint's state (and data position), or `init()` for a new run."""
    if self.ckpt.latest_step() is not None:
      state, data_state = self.ckpt.restore(abstract_state)
      iterator.set_state(data_state)
      console.line(f'Resumed from step {members.current_step(state):,} of '
                   f'{self.ckpt.directory}.')
    else:
      state = init()
    self.start_step = members.current_step(state)
    if is_main_process():
      run_record.write_run_info(self.workdir, self.start_step)
    return state


def open_run(config: ml_collections.ConfigDict, workdir: str) -> Run:
  """Creates the workdir, builds the mesh, and checks `config` against the checkpoint's."""
  workdir_lib.path(workdir).mkdir(parents=True, exist_ok=True)  # Local, or a gs:// URL.
  mesh = sharding.make_mesh(config)
  sharding.check_batch_size(config.batch_size, mesh)
  ckpt = checkpoint.Checkpointer(workdir, config.keep_checkpoints, cleanup_tmp=True)
  config = run_record.resume_config(config, ckpt, workdir)  # Refuses model/data changes.
  if is_main_process():
    workdir_lib.write_config(workdir, config)
  return Run(config, workdir, mesh, ckpt)


class TrainMetrics:
  """Sums the step metrics on device; `write` logs their means as train_<name>; metrics with a
  member axis (config.num_seeds > 1) as train_<name>/seed_<k>, their mean and train_<name>/std.

  Summing on device keeps the loop free of host synchronisation between log steps.
  """

  def __init__(self):
    self.summed, self.count = None, 0

  def add(self, metrics: dict, steps: int = 1) -> None:
    """Adds the metrics of one step, or the means over a call of `steps` steps."""
    if steps != 1:
      metrics = jax.tree.map(lambda m: m * steps, metrics)
    self.summed = metrics if self.summed is None else jax.tree.map(jnp.add, self.summed, metrics)
    self.count += steps

  def write(self, writer, step: int) -> dict[str, float]:
    """Writes and returns the means."""
    summed = {f'train_{k}': v for k, v in jax.device_get(self.summed).items()}
    means = {k: float(v) / self.count for k, v in summed.items() if np.ndim(v) == 0}
    per_member = [k for k in summed if np.ndim(summed[k]) == 1]
    if per_member:
      means |= members.summarise([{k: float(summed[k][i]) / self.count for k in per_member}
                                  for i in range(len(summed[per_member[0]]))])
    writer.write_scalars(step, means)
    self.summed, self.count = None, 0
    return means


def make_multi_step(train_step, steps_per_call: int, unroll: bool | None = None):
  """`steps_per_call` train steps in one dispatch: batch leaves gain a leading axis of that size.

  `train_step(state, batch, *args)`; `args` (e.g. frozen VGG weights) are shared by the steps.
  Returns (state, metrics): float metrics averaged over the steps, the others (the non-finite
  guard's flags) stacked per step. `lax.scan` keeps the program (and compile time) one step
  long; `unroll=True` inlines the steps instead, since XLA:CPU runs convolutions inside a while
  loop several times slower. None: unroll on CPU only.
  """
  unroll = jax.default_backend() == 'cpu' if unroll is None else unroll

  def multi_step(state, batches, *args):
    state, metrics = jax.lax.scan(lambda s, b: train_step(s, b, *args), state, batches,
                                  unroll=unroll)
    return state, jax.tree.map(
        lambda m: jnp.mean(m, axis=0) if jnp.issubdtype(m.dtype, jnp.floating) else m, metrics)
  return multi_step


def make_jitted_step(config: ml_collections.ConfigDict, train_step, abstract_state, mesh,
                     batch_axis: int, extra_shardings: tuple = ()) -> dict:
  """{call size: jitted step}: size 1 runs `train_step(state, batch, *extra)`, size
  steps_per_call runs that many steps per dispatch (jaxgan.run.feed). The state is donated and
  comes back with the shardings it went in with: left to XLA, FSDP's replicated small leaves can
  come back sharded, and the next call would refuse them."""
  state_shardings = jax.tree.map(lambda a: a.sharding, abstract_state)
  k = config.steps_per_call

  def jitted(step, axis):
    return jax.jit(step, donate_argnums=0, in_shardings=(
        state_shardings, sharding.batch_sharding(mesh, axis), *extra_shardings),
        out_shardings=(state_shardings, sharding.replicated(mesh)))
  steps_by_size = {1: jitted(train_step, batch_axis)}  # Compiled on first use only.
  if k > 1:
    steps_by_size[k] = jitted(make_multi_step(train_step, k), batch_axis + 1)
  return steps_by_size


def flatten(config: ml_collections.ConfigDict, prefix: str = '') -> dict:
  """{'a.b': value} of a config, non-scalar values as strings (TensorBoard hparams)."""
  out = {}
  for k, v in config.items():
    if isinstance(v, ml_collections.ConfigDict):
      out |= flatten(v, f'{prefix}{k}.')
    else:
      out[f'{prefix}{k}'] = v if isinstance(v, (int, float, str, bool)) else str(v)
  return out


class Tail:
  """Steps a started run to config.num_steps: log, the task's `on_step`, checkpoint, stop."""

  def __init__(self, run: Run, stop: preemption.StopSignal, poisoned: set[int],
               closers: tuple[Callable[[], None], ...] = (),
               checkpoint_extras: Callable[[int, Any], Any] | None = None):
    """checkpoint_extras(step, state): what to store beside each checkpoint (Checkpointer.save's
    `extras`), or None."""
    self.run, self.stop, self.closers = run, stop, closers
    self.checkpoint_extras = checkpoint_extras or (lambda step, state: None)
    config = run.config
    self.writer = metric_writers.create_default_writer(run.workdir,
                                                       just_logging=not is_main_process())
    if run.start_step == 0:
      self.writer.write_hparams(flatten(config))
    self.hooks = [periodic_actions.ReportProgress(num_train_steps=config.num_steps,
                                                  writer=self.writer)]
    self.guard = guards.Guard(config.nonfinite, poisoned)
    # img/s counts every member's images (config.num_seeds).
    self.progress = console.Progress(config.num_steps, run.start_step,
                                     config.batch_size * members.count(config),
                                     enabled=is_main_process())

  def finish(self) -> None:
    """Flushes the logs and waits for the last checkpoint to land."""
    self.progress.close()
    self.writer.flush()
    self.run.ckpt.wait()
    self.run.ckpt.close()
    for close in self.closers:
      close()

  def check_finite(self) -> None:
    """Stops (or rolls back) on a non-finite step before its state is used."""
    self.guard.check_or_stop(self.finish)

  def train(self, state, iterator, train_step: dict, batch_axis: int, extra_args: tuple = (),
            on_step: Callable | None = None):
    """Runs `train_step[size](state, batch, *extra_args)` to num_steps; returns the state.

    `on_step(step, state, data_state)` runs after each call, before the checkpoint.
    """
    config, ckpt = self.run.config, self.run.ckpt
    train_metrics = TrainMetrics()
    for call, batch, data_state in feed.run_batches(config, iterator, self.run.mesh, batch_axis,
                                                    self.run.start_step, self.guard):
      step = call.last
      state, metrics = train_step[call.size](state, batch, *extra_args)
      train_metrics.add(self.guard.observe(call.first, metrics), call.size)  # Pops NaN flags.
      for hook in self.hooks:
        hook(step)
      if step % config.log_every == 0 or step == config.num_steps:
        self.check_finite()
        self.progress.set_losses(train_metrics.write(self.writer, step))
      self.progress.update(step)
      if on_step is not None:
        on_step(step, state, data_state)
      stopping = self.stop.requested(sync_point=step % config.log_every == 0)
      if step % config.checkpoint_every == 0 or step == config.num_steps or stopping:
        self.check_finite()  # Never save a non-finite state.
        ckpt.save(step, state, data_state, config, force=stopping,
                  extras=self.checkpoint_extras(step, state))
      if stopping:
        self.finish()
        raise preemption.Preempted(self.stop.signum, step, ckpt.directory)
    return state
