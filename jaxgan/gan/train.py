"""The GAN training loop: the shared loop of jaxgan.run.loop plus sample grids and evaluators."""

import jax
import ml_collections
import numpy as np
from etils import epath

from jaxgan import images
from jaxgan.data import pipeline, sources
from jaxgan.gan import class_conditional, evaluators, generate, state as state_lib, steps
from jaxgan.run import feed, guards, loop, members, preemption
from jaxgan.run import workdir as workdir_lib
from jaxgan.run.state import build_state

REAL_GRID = 'real.png'  # samples/real.png: real training images beside the sample grids.


def save_grid(workdir, name, samples, reference=None, labels=None, class_names=(),
              folder: str = 'samples'):
  """(path, picture) of <folder>/<name>: a grid; with `labels`, one row per class named by
  `class_names`."""
  picture = (images.render(np.asarray(samples), reference) if labels is None else
             images.class_grid(np.asarray(samples), labels, class_names))
  samples_dir = workdir_lib.path(workdir) / folder
  samples_dir.mkdir(parents=True, exist_ok=True)
  path = samples_dir / name
  images.save_png(path, picture)
  return path, picture


def write_samples(workdir, writer, step, samples, reference=None, labels=None,
                  class_names=(), member: int = 0) -> epath.Path:
  """Saves and logs the grid of `step`; a member k > 0's in samples/seed_<k>/, as that tag."""
  path, picture = save_grid(workdir, f'step_{step:07d}.png', samples, reference, labels,
                            class_names, member_grid(member))
  tag = 'samples' if member == 0 else f'samples/seed_{member}'
  writer.write_images(step, {tag: picture[None]})
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


def write_real_grid(workdir, source, num: int, labels=None, class_names=()) -> epath.Path:
  """samples/real.png: real training images in the layout of the sample grids."""
  return save_grid(workdir, REAL_GRID, real_examples(source, num, labels), labels=labels,
                   class_names=class_names)[0]


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str):
  """Trains `config` in `workdir`, resuming from its latest checkpoint. Returns the final state.

  SIGTERM/SIGINT save a checkpoint and raise preemption.Preempted; a non-finite step under
  nonfinite='rollback' restarts from the last checkpoint with lower learning rates.
  """
  return loop.train_with_recovery(train_run, config, workdir)


def member_grid(k: int) -> str:
  """The grid folder of member k under samples/: member 0's (the run of config.seed) are the
  run's own grids, those of members k > 0 sit in samples/seed_<k>/."""
  return 'samples' if k == 0 else f'samples/seed_{k}'


def train_run(config: ml_collections.ConfigDict, workdir: str, stop: preemption.StopSignal,
              poisoned: set[int]):
  run = loop.open_run(config, workdir)
  config, mesh = run.config, run.mesh
  seeds = members.member_configs(config)  # config.num_seeds members; [config] for one.
  source = sources.build_source(config)
  class_conditional.check_data(config, source)
  # Each member's data order is its own seed's, as in its single run.
  iterator = members.iterator(config, lambda c: pipeline.make_iterator(c, pipeline.build_dataset(
      c, source, jax.process_index(), jax.process_count())))
  gan, abstract_state, init = build_state(state_lib.create, config, mesh)
  # config.evals: checked now (e.g. missing FID weights fail here), run when due.
  evaluation = evaluators.Evaluation(config, gan, mesh, workdir)
  feed.check_periods(config, dict(
      log_every=config.log_every, sample_every=config.sample_every,
      checkpoint_every=config.checkpoint_every,
      **{f'evals.{s.name}.every': s.every for s in evaluation.specs}))
  state = run.restore_or_init(abstract_state, init, iterator)
  batch_axis = 1 if len(seeds) == 1 else 2  # (n_critic, B, ...), members in front.
  train_step = loop.make_jitted_step(
      config, members.batched(guards.guarded(steps.make_train_step(config, gan),
                                             config.nonfinite), config),
      abstract_state, mesh, batch_axis=batch_axis)

  sampler = generate.make_sampler(gan)
  labels_grid = class_conditional.grid_labels(config)  # None unless class-conditional.
  z_grids = [np.asarray(generate.grid_noise(c, None if labels_grid is None else len(labels_grid)))
             for c in seeds]  # Each member's own fixed noise, as its single run's.
  toy = config.model.name == 'toy'  # 2-D samples are drawn over real points.
  reference = np.stack([source[i]['image'] for i in range(2000)]) if toy else None
  main = loop.is_main_process()
  if main and not toy and run.start_step == 0:
    write_real_grid(workdir, source, len(z_grids[0]), labels_grid, source.class_names)
  memo = {}

  def sampling(step, state):
    """Each member's sampling generator at `step`, computed once: standing statistics cost G
    passes."""
    if memo.get('step') != step:
      memo.update(step=step, value=[generate.sampling_generator(c, gan, s) for c, s in zip(
          seeds, members.split(state, config))])
    return memo['value']

  def checkpoint_extras(step, state):
    extras = [generate.checkpoint_extras(c, s, g) for c, s, g in zip(
        seeds, members.split(state, config), sampling(step, state))]
    return None if extras[0] is None else members.join(extras)

  tail = loop.Tail(run, stop, poisoned, closers=(evaluation.close,),
                   checkpoint_extras=checkpoint_extras)

  def on_step(step, state, data_state):
    if config.sample_every and (step % config.sample_every == 0 or step == config.num_steps):
      for k, ((params, stats), z_grid) in enumerate(zip(sampling(step, state), z_grids)):
        samples = jax.device_get(sampler(params, stats, z_grid, labels_grid))
        if main:
          write_samples(workdir, tail.writer, step, samples, reference, labels_grid,
                        source.class_names, k)
    if evaluation.due_specs(step):
      tail.check_finite()  # Never score (or keep as best) a non-finite state.
    evaluation(step, state, lambda: data_state, tail.writer, lambda: sampling(step, state))

  state = tail.train(state, iterator, train_step, batch_axis=batch_axis, on_step=on_step)
  tail.finish()
  return state
