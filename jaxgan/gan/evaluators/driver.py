"""What the training loop calls: the due evaluators on the EMA and raw generators, logged."""

from __future__ import annotations

from typing import Callable

from absl import logging

from jaxgan.gan import generate
from jaxgan.gan.evaluators import registry
from jaxgan.gan.evaluators.monitor import MONITORED, BestCheckpoint, CollapseMonitor
from jaxgan.gan.evaluators.sampling import generators, make_generator, run
from jaxgan.gan.evaluators.specs import Spec, build, parse_specs
from jaxgan.run import console


def eval_line(step: int, scalars: dict[str, float]) -> str:
  """`step N eval: name value, ...` of the sampling generator (no _raw, no monitor flag)."""
  shown = {k.removeprefix('eval_'): v for k, v in scalars.items()
           if not k.endswith('_raw') and k != 'eval_collapse_warning'}
  return f'step {step:,} eval: ' + ', '.join(f'{k} {v:.4g}' for k, v in shown.items())


class Evaluation:
  """Built before training (start-up checks); called every step, runs the due evaluators."""

  def __init__(self, config, gan, mesh, workdir: str):
    self.config, self.gan = config, gan
    self.specs = parse_specs(config)
    best_metric = config.get('best_metric', '')
    if best_metric and best_metric.removesuffix('_raw') not in {
        m for s in self.specs for m in registry.get(s.name).METRICS}:
      raise ValueError(f'config.best_metric={best_metric!r} is not computed by any evaluator '
                       f'of config.evals ({[s.name for s in self.specs]}).')
    self.evaluators = build(config, self.specs)
    self.generate = make_generator(config, gan, mesh) if self.specs else None
    self.monitor = CollapseMonitor()
    self.best = BestCheckpoint(workdir, best_metric) if best_metric else None

  def due_specs(self, step: int) -> list[Spec]:
    last = step == self.config.num_steps
    return [s for s in self.specs if s.every and (step % s.every == 0 or last)]

  def __call__(self, step: int, state, data_state: Callable[[], dict], writer,
               sampling: Callable[[], tuple] | None = None) -> dict[str, float]:
    """Runs the evaluators due at `step`; `data_state()` is the iterator state to checkpoint,
    `sampling()` the sampling generator's (params, stats) if the caller has them."""
    due = self.due_specs(step)
    if not due:
      return {}
    scalars = {}
    sampling = sampling() if sampling else generate.sampling_generator(self.config, self.gan,
                                                                       state)
    for suffix, (params, stats_) in generators(self.config, self.gan, state, sampling).items():
      specs = [s for s in due if s.raw or not suffix]
      if specs:
        scalars |= run(specs, self.evaluators, self.generate, params, stats_, suffix)
    scalars = {f'eval_{k}': v for k, v in scalars.items()}
    if any(k.removeprefix('eval_').removesuffix('_raw') in MONITORED for k in scalars):
      scalars['eval_collapse_warning'] = float(bool(self.monitor(step, scalars)))
    writer.write_scalars(step, scalars)
    logging.info('Step %d: %s', step, ', '.join(f'{k}={v:.4g}' for k, v in scalars.items()))
    console.line(eval_line(step, scalars), record=False)  # The record above has them all.
    if self.best is not None:
      self.best.update(step, scalars, state, data_state(), self.config,
                       generate.checkpoint_extras(self.config, state, sampling))
    return scalars

  def close(self):
    if self.best is not None:
      self.best.close()
