"""Orbax checkpoints of the training state, the data iterator position and the config.

Orbax writes each step into a temporary directory and renames it when complete, so a crash or
a kill during a save leaves the previous checkpoint as the latest loadable one.
"""

import contextlib
import itertools

import jax
import ml_collections
import orbax.checkpoint as ocp
from absl import logging
from etils import epath

from jaxgan.run import workdir as workdir_lib


class CheckpointError(RuntimeError):
  """A checkpoint that cannot be restored into this run; the message says what to do."""


class Checkpointer:
  """Saves {state, data iterator, config} every `checkpoint_every` steps, keeps the last N."""

  def __init__(self, workdir: epath.PathLike, keep: int, subdir: str = 'checkpoints',
               best_mode: str | None = None, cleanup_tmp: bool = False):
    """best_mode 'min' or 'max': keep the N best by the `metric` given to `save` instead.

    cleanup_tmp (the training run only): delete what saves cut short by a kill left behind, and
    move damaged checkpoints aside when `restore` falls back to an older one.
    """
    self.repair = cleanup_tmp
    if cleanup_tmp:
      remove_unfinished_saves(workdir_lib.path(workdir) / subdir)
    self.directory = workdir_lib.absolute(workdir) / subdir  # A gs:// URL stays one.
    best = dict(best_fn=lambda m: m['metric'], best_mode=best_mode) if best_mode else {}
    # Orbax names its cross-process barriers by step (`_async_write_complete.<step>`), so two
    # managers saving the same step at once (the periodic and the best checkpoint) would meet in
    # one barrier ("already ongoing") and abort a multi-process run: prefix them by subdir.
    processes = ocp.options.MultiprocessingOptions(barrier_sync_key_prefix=subdir)
    self.manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                             multiprocessing_options=processes, **best))

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def save(self, step: int, state, data_state: dict, config: ml_collections.ConfigDict,
           force: bool = False, metric: float | None = None, extras=None) -> None:
    """`extras`: a pytree derived from `state` for readers of the checkpoint (the EMA
    generator's standing statistics), read back with `restore_extras`; resuming never needs it."""
    items = dict(state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data_state),
                 config=ocp.args.JsonSave(config.to_dict()))
    if extras is not None:
      items['extras'] = ocp.args.StandardSave(extras)
    with self._save_errors(step):
      self.manager.save(step, args=ocp.args.Composite(**items), force=force,
                        metrics=None if metric is None else {'metric': metric})

  def restore_extras(self, step: int, abstract_extras):
    """The `extras` saved with `step`, restored like `abstract_extras`; None if it has none."""
    if not (self.directory / str(step) / 'extras').exists():
      return None
    return self.manager.restore(step, args=ocp.args.Composite(
        extras=ocp.args.StandardRestore(abstract_extras)))['extras']

  @contextlib.contextmanager
  def _save_errors(self, step: int | None):
    """A failed (e.g. disk-full) save: one clear error; the previous checkpoint stays intact."""
    try:
      yield
    except Exception as e:  # Orbax re-raises a background save's error at the next call.
      done = [int(p.name) for p in self.directory.iterdir()  # Renamed or committed = complete.
              if p.name.isdigit() and ocp.path.step.is_path_finalized(p)]
      raise CheckpointError(
          f'Saving a checkpoint{"" if step is None else f" (step {step} or the one before it)"}'
          f' in {self.directory} failed ({type(e).__name__}: {str(e)[:200]}). The latest '
          f'complete checkpoint ({f"step {max(done)}" if done else "none yet"}) is intact: free '
          f'disk space (or fix the directory) and rerun the same command to resume.') from None

  def restore(self, abstract_state, step: int | None = None):
    """Returns (state, data iterator state) of `step` (default: the newest that restores).

    A latest step that fails while an older one restores is damaged: it is skipped with a
    warning and, in the training run, moved aside (see `_skip_damaged`). A checkpoint of another
    model fails at every step: then nothing is moved and the newest one's error is raised, as
    for an explicit `step`.
    """
    if step is not None:
      try:
        return self._restore(step, abstract_state)
      except Exception as e:  # Orbax raises many types for mismatched or damaged trees.
        raise self._restore_error(step, e) from None
    failed = {}
    for s in self._steps_newest_first():
      try:
        restored = self._restore(s, abstract_state)
      except Exception as e:
        failed[s] = e
        continue
      self._skip_damaged(failed, s)
      return restored
    newest = max(failed)
    raise self._restore_error(newest, failed[newest], tried_older=True) from None

  def _restore(self, step: int, abstract_state):
    # The config is read too (and dropped), so a step counts as intact only if all of it is.
    restored = self.manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state),
        data=ocp.args.JsonRestore(),
        config=ocp.args.JsonRestore()))
    return restored['state'], restored['data']

  def _steps_newest_first(self) -> list[int]:
    steps = sorted(self.manager.all_steps(), reverse=True)
    if not steps:
      raise CheckpointError(f'No checkpoint in {self.directory}.')
    return steps

  def _skip_damaged(self, failed: dict, used: int) -> None:
    """Warns about each step newer than `used` that failed; the training run moves them aside.

    Aside means <subdir>_damaged/<step> next to the checkpoints, which Orbax never lists, so the
    run saves those steps again; the files stay for inspection. Readers (sampling, evaluation)
    only warn: the run may be training. The choice of `used` depends only on the files, so every
    process makes the same one; process 0 moves.
    """
    if not failed:
      return
    moving = self.repair and jax.process_index() == 0
    for step, e in sorted(failed.items(), reverse=True):
      path = self.directory / str(step)
      aside = self._move_aside(path) if moving else None
      logging.warning(
          'Checkpoint %s is damaged (%s: %s); using step %d, the newest one that restores. %s',
          path, type(e).__name__, str(e)[:200], used,
          f'Moved it to {aside} (not deleted).' if aside else
          'Left in place: the training run moves it aside when it resumes.' if not self.repair
          else 'Process 0 moves it aside.')
    if self.repair:
      if jax.process_count() > 1:  # Every process lists the steps after the move.
        ocp.multihost.sync_global_processes('jaxgan_damaged_checkpoints_moved')
      self.manager.reload()

  def _move_aside(self, path: epath.Path) -> epath.Path:
    parent = self.directory.with_name(f'{self.directory.name}_damaged')
    aside = parent / path.name
    for i in itertools.count(1):  # A step damaged again after it was saved anew.
      if not aside.exists():
        break
      aside = parent / f'{path.name}.{i}'
    try:
      parent.mkdir(parents=True, exist_ok=True)
      path.rename(aside)
    except OSError as e:
      raise CheckpointError(
          f'Checkpoint {path} is damaged and could not be moved to {aside} ({e}): move or '
          f'delete it, then rerun the same command to resume from the newest intact step.'
      ) from None
    return aside

  def _restore_error(self, step: int, e: Exception, tried_older: bool = False
                     ) -> CheckpointError:
    """`tried_older`: every step failed (most likely a checkpoint of another model)."""
    older = [s for s in self.manager.all_steps() if s < step]
    if tried_older and older:
      why, fix = '; no older step restores either', f'delete {self.directory} to start anew'
    else:
      why = ''
      fix = (f'delete that directory to resume from '
             f'{f"step {max(older)}" if older else "scratch"}')
    return CheckpointError(
        f'Cannot restore checkpoint {self.directory / str(step)}: it does not '
        f'match this config\'s model or is damaged ({type(e).__name__}: {str(e)[:200]}){why}. '
        f'Use a fresh --workdir for a different model; if it is damaged, {fix}.')

  def restore_config(self, step: int | None = None) -> dict:
    """The config saved with `step` (default: the newest step whose config reads)."""
    if step is not None:
      try:
        return self._restore_config(step)
      except Exception as e:  # A damaged or foreign step directory.
        raise self._restore_error(step, e) from None
    failed = {}
    for s in self._steps_newest_first():
      try:
        config = self._restore_config(s)
      except Exception as e:
        failed[s] = e
        continue
      for bad, e in sorted(failed.items(), reverse=True):  # `restore` moves them aside.
        logging.warning('Cannot read the config of checkpoint %s (%s: %s); using step %d\'s.',
                        self.directory / str(bad), type(e).__name__,
                        str(e)[:200], s)
      return config
    newest = max(failed)
    raise self._restore_error(newest, failed[newest], tried_older=True) from None

  def _restore_config(self, step: int) -> dict:
    return self.manager.restore(step, args=ocp.args.Composite(
        config=ocp.args.JsonRestore()))['config']

  def wait(self) -> None:
    with self._save_errors(None):
      self.manager.wait_until_finished()

  def close(self) -> None:
    self.manager.close()


def remove_unfinished_saves(directory: epath.PathLike) -> None:
  """A save cut short leaves a <step>.orbax-checkpoint-tmp* directory (on GCS, where Orbax writes
  in place: a <step> directory without commit_success.txt), never listed as a step.

  Only the training run calls this, before it saves: readers (sampling, evaluation) must not,
  as the directory may be a live save. (Orbax's cleanup_tmp_directories does this in a
  background thread; doing it here means it is done when the constructor returns.)
  """
  if jax.process_index() == 0:
    directory = epath.Path(directory)
    for name in ocp.path.step.tmp_checkpoints(directory):  # Orbax's test, for either storage.
      with contextlib.suppress(OSError):  # One that cannot go stays; Orbax never lists it.
        (directory / name).rmtree()


def abstract_like(tree, sharding):
  """ShapeDtypeStructs carrying the shardings the restored arrays should land on."""
  return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
                      tree, sharding)
