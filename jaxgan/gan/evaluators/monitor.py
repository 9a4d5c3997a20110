"""Watching the eval metrics: a mode-collapse warning, and the best checkpoint kept."""

from __future__ import annotations

import math

from absl import logging

from jaxgan.gan.evaluators import registry
from jaxgan.run import checkpoint

# Monitored metric -> the data's own level: a fall is only counted from up to this level, so
# noise-like early samples (more diverse than the data) do not raise false alarms.
MONITORED = {'diversity': 1.0, 'modes_covered': math.inf, 'classes_covered': math.inf}
COLLAPSE_DROP = 0.3  # Warn when a monitored metric falls 30% below its best level so far.


class CollapseMonitor:
  """Warns when coverage or diversity falls sharply below its best level so far."""

  def __init__(self, drop: float = COLLAPSE_DROP):
    self.drop = drop
    self.peaks: dict[str, tuple[int, float]] = {}  # metric -> (step, capped best value)

  def __call__(self, step: int, scalars: dict[str, float]) -> list[str]:
    """Records `scalars` (eval_* names); returns the warnings raised at this step."""
    warnings = []
    for tag, value in scalars.items():
      base = tag.removeprefix('eval_').removesuffix('_raw')
      if base not in MONITORED or not math.isfinite(value):
        continue
      level = min(value, MONITORED[base])
      peak_step, peak = self.peaks.get(tag, (step, level))
      if level >= peak:
        self.peaks[tag] = (step, level)
      elif value < (1 - self.drop) * peak:
        warnings.append(
            f'Possible mode collapse at step {step}: {tag} fell to {value:.4g} from '
            f'{peak:.4g} at step {peak_step} ({1 - value / peak:.0%} lower). Compare the '
            f'sample grids of those steps; the best checkpoint so far is kept if '
            f'config.best_metric is set.')
    for w in warnings:
      logging.warning(w)
    return warnings


class BestCheckpoint:
  """Keeps the checkpoint of the best `eval_<metric>` in <workdir>/<subdir> (Orbax best_fn):
  'best', or each member's best_seed_<k> (jaxgan.run.members)."""

  def __init__(self, workdir: str, metric: str, subdir: str = 'best'):
    self.tag = f'eval_{metric}'
    self.mode = registry.metric_mode(metric)
    self.ckpt = checkpoint.Checkpointer(workdir, 1, subdir=subdir, best_mode=self.mode)
    step = self.ckpt.manager.best_step()
    self.value = None if step is None else self.ckpt.manager.metrics(step)['metric']

  def better(self, value: float) -> bool:
    if not math.isfinite(value):
      return False
    if self.value is None:
      return True
    return value < self.value if self.mode == 'min' else value > self.value

  def update(self, step: int, scalars: dict, state, data_state, config, extras=None) -> bool:
    value = scalars.get(self.tag)
    if value is None or not self.better(value):
      return False
    self.ckpt.save(step, state, data_state, config, force=True, metric=value, extras=extras)
    logging.info('New best %s = %.5g at step %d, saved to %s', self.tag, value, step,
                 self.ckpt.directory)
    self.value = value
    return True

  def close(self):
    self.ckpt.wait()
    self.ckpt.close()
