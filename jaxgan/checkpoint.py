"""Orbax checkpoints of the training state, the data iterator position and the config.

Orbax writes each step into a temporary directory and renames it when complete, so a crash or
a kill during a save leaves the previous checkpoint as the latest loadable one.
"""

import contextlib
import glob
import os
import shutil

import jax
import ml_collections
import orbax.checkpoint as ocp


class CheckpointError(RuntimeError):
  """A checkpoint that cannot be restored into this run; the message says what to do."""


class Checkpointer:
  """Saves {state, data iterator, config} every `checkpoint_every` steps, keeps the last N."""

  def __init__(self, workdir: str, keep: int, subdir: str = 'checkpoints',
               best_mode: str | None = None, cleanup_tmp: bool = False):
    """best_mode 'min' or 'max': keep the N best by the `metric` given to `save` instead.

    cleanup_tmp (the training run only): delete what saves cut short by a kill left behind.
    """
    if cleanup_tmp:
      remove_unfinished_saves(os.path.join(workdir, subdir))
    self.directory = os.path.abspath(os.path.join(workdir, subdir))
    best = dict(best_fn=lambda m: m['metric'], best_mode=best_mode) if best_mode else {}
    self.manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True, **best))

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def save(self, step: int, state, data_state: dict, config: ml_collections.ConfigDict,
           force: bool = False, metric: float | None = None) -> None:
    with self._save_errors(step):
      self.manager.save(step, args=ocp.args.Composite(
          state=ocp.args.StandardSave(state),
          data=ocp.args.JsonSave(data_state),
          config=ocp.args.JsonSave(config.to_dict())), force=force,
          metrics=None if metric is None else {'metric': metric})

  @contextlib.contextmanager
  def _save_errors(self, step: int | None):
    """A failed (e.g. disk-full) save: one clear error; the previous checkpoint stays intact."""
    try:
      yield
    except Exception as e:  # Orbax re-raises a background save's error at the next call.
      done = [int(d) for d in os.listdir(self.directory) if d.isdigit()]  # Renamed = complete.
      raise CheckpointError(
          f'Saving a checkpoint{"" if step is None else f" (step {step} or the one before it)"}'
          f' in {self.directory} failed ({type(e).__name__}: {str(e)[:200]}). The latest '
          f'complete checkpoint ({f"step {max(done)}" if done else "none yet"}) is intact: free '
          f'disk space (or fix the directory) and rerun the same command to resume.') from None

  def restore(self, abstract_state, step: int | None = None):
    """Returns (state, data iterator state) of `step` (default: the latest)."""
    step = self.latest_step() if step is None else step
    try:
      restored = self.manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(abstract_state),
          data=ocp.args.JsonRestore()))
    except Exception as e:  # Orbax raises many types for mismatched or damaged trees.
      raise self._restore_error(step, e) from None
    return restored['state'], restored['data']

  def _restore_error(self, step: int, e: Exception) -> CheckpointError:
    older = [s for s in self.manager.all_steps() if s < step]
    return CheckpointError(
        f'Cannot restore checkpoint {os.path.join(self.directory, str(step))}: it does not '
        f'match this config\'s model or is damaged ({type(e).__name__}: {str(e)[:200]}). Use a '
        f'fresh --workdir for a different model; if it is damaged, delete that directory to '
        f'resume from {f"step {max(older)}" if older else "scratch"}.')

  def restore_config(self, step: int | None = None) -> dict:
    step = self.latest_step() if step is None else step
    try:
      return self.manager.restore(step, args=ocp.args.Composite(
          config=ocp.args.JsonRestore()))['config']
    except Exception as e:  # A damaged or foreign step directory.
      raise self._restore_error(step, e) from None

  def wait(self) -> None:
    with self._save_errors(None):
      self.manager.wait_until_finished()

  def close(self) -> None:
    self.manager.close()


def remove_unfinished_saves(directory: str) -> None:
  """A save cut short leaves a <step>.orbax-checkpoint-tmp* directory, never listed as a step.

  Only the training run calls this, before it saves: readers (sampling, evaluation) must not,
  as the directory may be a live save. (Orbax's cleanup_tmp_directories does this in a
  background thread; doing it here means it is done when the constructor returns.)
  """
  if jax.process_index() == 0:
    for path in glob.glob(os.path.join(glob.escape(directory), '*.orbax-checkpoint-tmp*')):
      shutil.rmtree(path, ignore_errors=True)


def abstract_like(tree, sharding):
  """ShapeDtypeStructs carrying the shardings the restored arrays should land on."""
  return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
                      tree, sharding)
