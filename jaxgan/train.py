"""The training loop: build, restore, step, log, sample, checkpoint."""

import json
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging
from clu import metric_writers, periodic_actions

from jaxgan import checkpoint, class_conditional, images, sharding, state as state_lib, steps
from jaxgan import evaluators, feed, guards, preemption, run_record
from jaxgan.data import pipeline, sources

GRID_NOISE_SALT = 0x5A3D1E  # Fixed-noise key: fold_in(PRNGKey(seed), salt).


def build_state(config: ml_collections.ConfigDict, mesh):
  """(gan, abstract state with shardings, jitted init) on `mesh`, parameters replicated."""
  gan, init_fn = state_lib.create(config)
  abstract = jax.eval_shape(init_fn)
  shardings = sharding.state_shardings(abstract, mesh, config.param_sharding)
  init = jax.jit(init_fn, out_shardings=shardings)
  return gan, checkpoint.abstract_like(abstract, shardings), init


def grid_noise(config: ml_collections.ConfigDict, num: int | None = None) -> jax.Array:
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), GRID_NOISE_SALT)
  return steps.sample_noise(key, num or config.num_grid_samples, config.model.z_dim)


def make_sampler(gan: state_lib.GAN):
  """jit(params, stats, z, labels=None) -> samples, in inference mode (BatchNorm running stats).

  `labels` (int32 (N,)) only for class-conditional models.
  """
  return jax.jit(lambda params, stats, z, labels=None: steps.generate(
      gan, params, stats, z, train=False, labels=labels)[0])


def save_grid(workdir, name, samples, reference=None, labels=None, class_names=()):
  """(path, picture) of samples/<name>: a grid; with `labels`, one row per class named by
  `class_names`."""
  picture = (images.render(np.asarray(samples), reference) if labels is None else
             images.class_grid(np.asarray(samples), labels, class_names))
  os.makedirs(os.path.join(workdir, 'samples'), exist_ok=True)
  path = os.path.join(workdir, 'samples', name)
  images.save_png(path, picture)
  return path, picture


def write_samples(workdir, writer, step, samples, reference=None, labels=None,
                  class_names=()) -> str:
  """Saves and logs the grid of `step`."""
  path, picture = save_grid(workdir, f'step_{step:07d}.png', samples, reference, labels,
                            class_names)
  writer.write_images(step, {'samples': picture[None]})
  return path


def real_examples(source, num: int, labels=None, seed: int = 0, scan: int = 10_000):
  """Real images for the grid shown beside the samples (samples/real.png).

  `num` examples of a seeded shuffle; with `labels` (a class-conditional grid), examples of
  those classes in the same layout, taken from the first `scan` examples of the shuffle.
  """
  order = np.random.default_rng(seed).permutation(len(source))[:scan]
  if labels is None:
    return np.stack([source[i]['image'] for i in order[:num]])
  wanted = {int(k): int(c) for k, c in enumerate(np.bincount(labels)) if c}
  found = {k: [] for k in wanted}
  for i in order:
    example = source[i]
    k = int(example['label'])
    if len(found.get(k, ())) < wanted.get(k, 0):
      found[k].append(example['image'])
  picked = [found[int(k)].pop(0) if found[int(k)] else None for k in labels]
  blank = np.ones_like(next(p for p in picked if p is not None))  # White where a class ran out.
  return np.stack([blank if p is None else p for p in picked])


def write_real_grid(workdir, source, num: int, labels=None, class_names=()) -> str:
  """samples/real.png: real training images in the layout of the sample grids."""
  return save_grid(workdir, 'real.png', real_examples(source, num, labels), labels=labels,
                   class_names=class_names)[0]


class TrainMetrics:
  """Sums the step metrics on device; `write` logs their means as train_<name>.

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

  def write(self, writer, step: int) -> None:
    writer.write_scalars(step, {f'train_{k}': float(v) / self.count
                                for k, v in jax.device_get(self.summed).items()})
    self.summed, self.count = None, 0


def make_jitted_step(config: ml_collections.ConfigDict, train_step, abstract_state, mesh,
                     batch_axis: int, extra_shardings: tuple = ()) -> dict:
  """{call size: jitted step}: size 1 runs `train_step(state, batch, *extra)`, size
  steps_per_call runs that many steps per dispatch (jaxgan.feed). The state is donated."""
  state_shardings = jax.tree.map(lambda a: a.sharding, abstract_state)
  k = config.steps_per_call

  def jitted(step, axis):
    return jax.jit(step, donate_argnums=0, in_shardings=(
        state_shardings, sharding.batch_sharding(mesh, axis), *extra_shardings))
  steps_by_size = {1: jitted(train_step, batch_axis)}  # Compiled on first use only.
  if k > 1:
    steps_by_size[k] = jitted(steps.make_multi_step(train_step, k), batch_axis + 1)
  return steps_by_size


def write_config(workdir: str, config: ml_collections.ConfigDict) -> None:
  with open(os.path.join(workdir, 'config.json'), 'w') as f:
    json.dump(config.to_dict(), f, indent=2, sort_keys=True)


def load_config(workdir: str) -> ml_collections.ConfigDict:
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    raise FileNotFoundError(f'{path} not found: is {workdir!r} the --workdir of a training run?')
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str):
  """Trains `config` in `workdir`, resuming from its latest checkpoint. Returns the final state.

  SIGTERM/SIGINT save a checkpoint and raise preemption.Preempted; a non-finite step under
  nonfinite='rollback' restarts from the last checkpoint with lower learning rates.
  """
  return with_recovery(train_run, config, workdir)


def with_recovery(run, config: ml_collections.ConfigDict, workdir: str):
  """`run(config, workdir, stop, poisoned)` under signal handling and non-finite rollbacks."""
  guards.check_policy(config.nonfinite)
  poisoned = set()  # debug_nan_step fires once per call, not again after a rollback.
  with preemption.StopSignal() as stop:
    while True:
      try:
        return run(config, workdir, stop, poisoned)
      except guards.RollbackRequested as rollback:
        config = guards.reduced_lr(config)
        logging.warning('Rolling back to the last checkpoint (%s); lr_scale is now %g.',
                        rollback, config.optim.lr_scale)


def train_run(config: ml_collections.ConfigDict, workdir: str, stop: preemption.StopSignal,
              poisoned: set[int]):
  os.makedirs(workdir, exist_ok=True)
  is_main = jax.process_index() == 0
  mesh = sharding.make_mesh(config)
  sharding.check_batch_size(config.batch_size, mesh)
  ckpt = checkpoint.Checkpointer(workdir, config.keep_checkpoints, cleanup_tmp=True)
  config = run_record.resume_config(config, ckpt, workdir)  # Refuses model/data changes.
  if is_main:
    write_config(workdir, config)

  source = sources.build_source(config)
  class_conditional.check_data(config, source)
  dataset = pipeline.build_dataset(config, source, jax.process_index(), jax.process_count())
  iterator = pipeline.make_iterator(config, dataset)
  gan, abstract_state, init = build_state(config, mesh)
  # config.evals: checked now (e.g. missing FID weights fail here), run when due.
  evaluation = evaluators.Evaluation(config, gan, mesh, workdir)
  feed.check_periods(config, dict(
      log_every=config.log_every, sample_every=config.sample_every,
      checkpoint_every=config.checkpoint_every,
      **{f'evals.{s.name}.every': s.every for s in evaluation.specs}))
  if ckpt.latest_step() is not None:
    state, data_state = ckpt.restore(abstract_state)
    iterator.set_state(data_state)
    logging.info('Resumed from step %d of %s.', int(state.step), ckpt.directory)
  else:
    state = init()
  start_step = int(state.step)
  if is_main:
    run_record.write_run_info(workdir, start_step)

  train_step = make_jitted_step(config, guards.guarded(steps.make_train_step(config, gan),
                                                       config.nonfinite),
                                abstract_state, mesh, batch_axis=1)
  sampler = make_sampler(gan)
  labels_grid = class_conditional.grid_labels(config)  # None unless class-conditional.
  z_grid = np.asarray(grid_noise(config, None if labels_grid is None else len(labels_grid)))
  class_agreement = class_conditional.make_class_agreement(config, sampler)  # digits only
  toy = config.model.name == 'toy'  # 2-D samples are drawn over real points.
  reference = np.stack([source[i]['image'] for i in range(2000)]) if toy else None
  if is_main and not toy and start_step == 0:
    write_real_grid(workdir, source, len(z_grid), labels_grid, source.class_names)

  writer = metric_writers.create_default_writer(workdir, just_logging=not is_main)
  if start_step == 0:
    writer.write_hparams({k: v for k, v in flatten(config).items()})
  hooks = [periodic_actions.ReportProgress(num_train_steps=config.num_steps, writer=writer)]

  def finish():
    writer.flush()
    ckpt.wait()
    ckpt.close()
    evaluation.close()

  guard = guards.Guard(config.nonfinite, poisoned)
  train_metrics = TrainMetrics()
  for call, batch, data_state in feed.run_batches(config, iterator, mesh, 1, start_step,
                                                  guard):
    step = call.last
    state, metrics = train_step[call.size](state, batch)
    train_metrics.add(guard.observe(call.first, metrics), call.size)  # Pops the NaN flags.
    for hook in hooks:
      hook(step)
    if step % config.log_every == 0 or step == config.num_steps:
      guard.check_or_stop(finish)
      train_metrics.write(writer, step)
    if config.sample_every and (step % config.sample_every == 0 or step == config.num_steps):
      params = state.ema_params if config.model.ema_decay > 0 else state.g_params
      samples = jax.device_get(sampler(params, state.g_stats, z_grid, labels_grid))
      if is_main:
        write_samples(workdir, writer, step, samples, reference, labels_grid,
                      source.class_names)
      if class_agreement:
        writer.write_scalars(step, class_agreement(params, state.g_stats))
    if evaluation.due_specs(step):
      guard.check_or_stop(finish)  # Never score (or keep as best) a non-finite state.
    evaluation(step, state, lambda: data_state, writer)
    stopping = stop.requested(sync_point=step % config.log_every == 0)
    if step % config.checkpoint_every == 0 or step == config.num_steps or stopping:
      guard.check_or_stop(finish)  # Never save a non-finite state.
      ckpt.save(step, state, data_state, config, force=stopping)
    if stopping:
      finish()
      raise preemption.Preempted(stop.signum, step, ckpt.directory)
  finish()
  return state


def flatten(config: ml_collections.ConfigDict, prefix: str = '') -> dict:
  out = {}
  for k, v in config.items():
    if isinstance(v, ml_collections.ConfigDict):
      out |= flatten(v, f'{prefix}{k}.')
    else:
      out[f'{prefix}{k}'] = v if isinstance(v, (int, float, str, bool)) else str(v)
  return out
