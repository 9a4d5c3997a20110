"""Non-finite guard: a NaN or Inf in any loss or gradient norm is caught inside the jitted step.

The step returns one boolean per metric under FLAGS_KEY; `Guard` keeps the first bad step and
its terms on device (no host sync per step) and acts at the loop's sync points (log steps,
before each save). `config.nonfinite` picks the policy:
  skip      the step's update is dropped inside jit (the step counter still advances);
  rollback  the loop restores the last checkpoint and multiplies the learning rates by
            `config.rollback_lr_factor` (kept in `optim.lr_scale`, saved with the checkpoint);
  fail      raises NonFiniteError naming the step and the non-finite terms.
"""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

POLICIES = ('skip', 'rollback', 'fail')
FLAGS_KEY = 'nonfinite'


MIN_LR_SCALE = 1e-3  # Rollbacks stop here: a run still diverging at 1/1000 of its rates fails.


class NonFiniteError(RuntimeError):
  """Training produced a NaN or Inf; the message names the step and the terms."""


class RollbackRequested(Exception):
  """Raised by the loop under nonfinite='rollback'; train_and_evaluate restarts the run."""


def check_policy(policy: str) -> None:
  if policy not in POLICIES:
    raise ValueError(f'Unknown nonfinite={policy!r}; valid policies: {list(POLICIES)}.')


def guarded(train_step, policy: str):
  """Wraps `train_step(state, batch, *args) -> (state, metrics)` to flag (and maybe skip)
  NaN/Inf."""
  check_policy(policy)

  def step(state, batch, *args):
    new_state, metrics = train_step(state, batch, *args)
    names = sorted(metrics)  # Static: the flags are in this order (see `terms`).
    bad = jnp.stack([~jnp.all(jnp.isfinite(metrics[k])) for k in names])
    if policy == 'skip':
      ok = ~jnp.any(bad)
      kept = jax.tree.map(lambda new, old: jnp.where(ok, new, old), new_state, state)
      new_state = kept.replace(step=new_state.step)
    return new_state, metrics | {FLAGS_KEY: bad}

  return step


@jax.jit
def _accumulate(first_step, first_bad, count, step, bad):
  """`bad`: one step's flags, or (steps, flags) of a call whose first step is `step`."""
  bad = bad.reshape(-1, bad.shape[-1])
  bad_steps = jnp.any(bad, axis=1)
  index = jnp.argmax(bad_steps)  # The call's first bad step.
  first = bad_steps[index] & (count == 0)
  return (jnp.where(first, step + index, first_step), jnp.where(first, bad[index], first_bad),
          count + jnp.sum(bad_steps, dtype=jnp.int32))


class Guard:
  """Accumulates the step flags on device; `check()` fetches them at sync points."""

  def __init__(self, policy: str, poisoned: set[int]):
    self.policy = policy
    self.poisoned = poisoned  # Steps debug_nan_step poisoned in this run, rollbacks included.
    self.names = []  # Metric names in flag order, known from the first step's metrics.
    self.reset()

  def reset(self):
    self.first_step, self.first_bad, self.count = (
        jnp.int32(0), jnp.zeros(len(self.names), bool), jnp.int32(0))

  def observe(self, step: int, metrics: dict) -> dict:
    """Accumulates and removes the flags of the step (or the call starting at `step`) from
    `metrics`."""
    metrics = dict(metrics)
    bad = metrics.pop(FLAGS_KEY)
    if not self.names:
      self.names = sorted(metrics)
      self.first_bad = jnp.zeros(len(self.names), bool)
    self.first_step, self.first_bad, self.count = _accumulate(
        self.first_step, self.first_bad, self.count, step, bad)
    return metrics

  def check(self) -> str | None:
    """None if all steps were finite; else acts by policy and returns the report (rollback)."""
    count = int(self.count)
    if not count:
      return None
    step, bad = jax.device_get((self.first_step, self.first_bad))
    names = [n for n, b in zip(self.names, np.asarray(bad)) if b]
    report = (f'non-finite {", ".join(names)} at step {int(step)} ({count} step'
              f'{"s" if count > 1 else ""} with NaN/Inf since the last check)')
    self.reset()
    if self.policy == 'fail':
      raise NonFiniteError(
          f'Training diverged: {report}. Lower the learning rates (--config.optim.d_lr, '
          f'--config.optim.g_lr), or set --config.nonfinite=skip or =rollback.')
    if self.policy == 'skip':
      logging.warning('Skipped the updates of %s.', report)
      return None
    return report

  def check_or_stop(self, finish) -> None:
    """check() at a sync point; before raising (fail, rollback) runs `finish`, which flushes
    the writers and waits for the last good checkpoint, which may still be writing."""
    try:
      report = self.check()
    except NonFiniteError:
      finish()
      raise
    if report:
      finish()
      raise RollbackRequested(report)

  def poison(self, step: int, batch: dict, debug_nan_step: int) -> dict:
    """Test hook: NaN images at `debug_nan_step`, once per run (a transient fault)."""
    if step != debug_nan_step or step in self.poisoned:
      return batch
    self.poisoned.add(step)
    logging.warning('debug_nan_step=%d: feeding NaN images.', step)
    return {k: np.full_like(v, np.nan) if np.issubdtype(np.asarray(v).dtype, np.floating)
            else v for k, v in batch.items()}


def reduced_lr(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A copy of `config` with both learning rates scaled down by rollback_lr_factor."""
  config = config.copy_and_resolve_references()
  config.optim.lr_scale = config.optim.lr_scale * config.rollback_lr_factor
  if config.optim.lr_scale < MIN_LR_SCALE:
    raise NonFiniteError(
        f'Training keeps diverging after rolling back to lr_scale={config.optim.lr_scale:g}: '
        f'check the data and the model, or lower the learning rates yourself.')
  return config
