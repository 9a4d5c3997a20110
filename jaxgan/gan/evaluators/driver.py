"""What the training loop calls: the due evaluators on the EMA and raw generators, logged."""

from __future__ import annotations

from typing import Callable

from absl import logging

from jaxgan.gan import generate
from jaxgan.gan.evaluators import registry
from jaxgan.gan.evaluators.monitor import MONITORED, BestCheckpoint, CollapseMonitor
from jaxgan.gan.evaluators.sampling import generators, make_generator, run
from jaxgan.gan.evaluators.specs import Spec, build, parse_specs
from jaxgan.run import console, members

COLLAPSE_TAG = 'eval_collapse_warning'


def eval_line(step: int, scalars: dict[str, float]) -> str:
  """`step N eval: name value, ...` of the sampling generator (no _raw, no monitor flag); of
  several members, their mean and spread (`name mean±std`)."""
  shown = {k.removeprefix('eval_'): v for k, v in scalars.items()
           if not k.endswith('_raw') and not members.is_member_tag(k) and k != COLLAPSE_TAG}
  spread = lambda k: (f'\u00b1{scalars[f"eval_{k}/std"]:.2g}' if f'eval_{k}/std' in scalars
                      else '')
  return f'step {step:,} eval: ' + ', '.join(f'{k} {v:.4g}{spread(k)}' for k, v in shown.items())


class Evaluation:
  """Built before training (start-up checks); called every step, runs the due evaluators.

  With config.num_seeds = N > 1 each member is scored on its own seed's fixed eval noise (so its
  scores are those of its single run), has its own collapse monitor and keeps its own best
  checkpoint (best_seed_<k>); the scalars are eval_<metric>/seed_<k>, their mean eval_<metric>
  and spread eval_<metric>/std (jaxgan.run.members.summarise).
  """

  def __init__(self, config, gan, mesh, workdir: str):
    self.config, self.gan = config, gan
    self.seeds = members.member_configs(config)  # [config] for a single run.
    self.specs = parse_specs(config)
    best_metric = config.get('best_metric', '')
    if best_metric and best_metric.removesuffix('_raw') not in {
        m for s in self.specs for m in registry.get(s.name).METRICS}:
      raise ValueError(f'config.best_metric={best_metric!r} is not computed by any evaluator '
                       f'of config.evals ({[s.name for s in self.specs]}).')
    self.evaluators = build(config, self.specs)
    sampler = generate.make_sampler(gan, mesh) if self.specs else None  # Compiled once.
    self.generates = [make_generator(c, gan, mesh, sampler=sampler) for c in self.seeds
                      ] if self.specs else []
    self.monitors = [CollapseMonitor() for _ in self.seeds]
    several = len(self.seeds) > 1
    self.best = [BestCheckpoint(workdir, best_metric, f'best_seed_{k}' if several else 'best')
                 for k in range(len(self.seeds))] if best_metric else []

  def due_specs(self, step: int) -> list[Spec]:
    last = step == self.config.num_steps
    return [s for s in self.specs if s.every and (step % s.every == 0 or last)]

  def _score(self, k: int, step: int, due: list[Spec], state, sampling) -> dict[str, float]:
    """eval_* scalars of member k (of the run, when it has one member)."""
    scalars = {}
    for suffix, (params, stats_) in generators(self.seeds[k], self.gan, state, sampling).items():
      specs = [s for s in due if s.raw or not suffix]
      if specs:
        scalars |= run(specs, self.evaluators, self.generates[k], params, stats_, suffix)
    scalars = {f'eval_{name}': v for name, v in scalars.items()}
    if any(t.removeprefix('eval_').removesuffix('_raw') in MONITORED for t in scalars):
      scalars[COLLAPSE_TAG] = float(bool(self.monitors[k](step, scalars)))
    return scalars

  def __call__(self, step: int, state, data_state: Callable[[], dict], writer,
               sampling: Callable[[], list] | None = None) -> dict[str, float]:
    """Runs the evaluators due at `step`; `data_state()` is the iterator state to checkpoint,
    `sampling()` each member's sampling generator (params, stats) if the caller has them."""
    due = self.due_specs(step)
    if not due:
      return {}
    states = members.split(state, self.config)
    samplings = sampling() if sampling else [
        generate.sampling_generator(c, self.gan, s) for c, s in zip(self.seeds, states)]
    per_member = [self._score(k, step, due, s, g)
                  for k, (s, g) in enumerate(zip(states, samplings))]
    scalars = per_member[0] if len(per_member) == 1 else summary(per_member)
    writer.write_scalars(step, scalars)
    logging.info('Step %d: %s', step, ', '.join(f'{k}={v:.4g}' for k, v in scalars.items()))
    console.line(eval_line(step, scalars), record=False)  # The record above has them all.
    for k, best in enumerate(self.best):
      best.update(step, per_member[k], states[k],
                  members.member_data_state(data_state(), self.config, k), self.seeds[k],
                  generate.checkpoint_extras(self.seeds[k], states[k], samplings[k]))
    return scalars

  def close(self):
    for best in self.best:
      best.close()


def summary(per_member: list[dict[str, float]]) -> dict[str, float]:
  """The members' scalars as members.summarise writes them; the collapse warning is raised
  (1) when any member raised it."""
  scalars = members.summarise([{k: v for k, v in m.items() if k != COLLAPSE_TAG}
                               for m in per_member])
  flags_ = [m[COLLAPSE_TAG] for m in per_member if COLLAPSE_TAG in m]
  if flags_:
    scalars |= {f'{COLLAPSE_TAG}/seed_{k}': f for k, f in enumerate(flags_)}
    scalars[COLLAPSE_TAG] = max(flags_)
  return scalars
