"""Orbax checkpoints of the training state, the data iterator position and the config.

Orbax writes each step into a temporary directory and renames it when complete, so a crash or
a kill during a save leaves the previous checkpoint as the latest loadable one.
"""

import os

import jax
import ml_collections
import orbax.checkpoint as ocp


class CheckpointError(RuntimeError):
  """A checkpoint that cannot be restored into this run; the message says what to do."""


class Checkpointer:
  """Saves {state, data iterator, config} every `checkpoint_every` steps, keeps the last N."""

  def __init__(self, workdir: str, keep: int):
    self.directory = os.path.abspath(os.path.join(workdir, 'checkpoints'))
    self.manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True))

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def save(self, step: int, state, data_state: dict, config: ml_collections.ConfigDict,
           force: bool = False) -> None:
    self.manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        data=ocp.args.JsonSave(data_state),
        config=ocp.args.JsonSave(config.to_dict())), force=force)

  def restore(self, abstract_state, step: int | None = None):
    """Returns (state, data iterator state) of `step` (default: the latest)."""
    step = self.latest_step() if step is None else step
    try:
      restored = self.manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(abstract_state),
          data=ocp.args.JsonRestore()))
    except Exception as e:  # Orbax raises many types for mismatched or damaged trees.
      raise CheckpointError(
          f'Cannot restore checkpoint step {step} from {self.directory}: it does not match '
          f'this config\'s model or is damaged ({type(e).__name__}: {str(e)[:300]}). Use a '
          f'fresh --workdir for a different model, or delete the damaged step directory.'
      ) from None
    return restored['state'], restored['data']

  def restore_config(self, step: int | None = None) -> dict:
    step = self.latest_step() if step is None else step
    return self.manager.restore(step, args=ocp.args.Composite(
        config=ocp.args.JsonRestore()))['config']

  def wait(self) -> None:
    self.manager.wait_until_finished()

  def close(self) -> None:
    self.manager.close()


def abstract_like(tree, sharding):
  """ShapeDtypeStructs carrying the shardings the restored arrays should land on."""
  return jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
                      tree, sharding)
