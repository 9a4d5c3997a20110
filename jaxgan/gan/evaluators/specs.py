"""config.evals -> what to run, how often, on how many samples; and building the evaluators."""

from __future__ import annotations

import dataclasses

import ml_collections

from jaxgan.gan.evaluators import registry

COMMON_OPTIONS = frozenset({'every', 'num_samples', 'raw'})


@dataclasses.dataclass(frozen=True)
class Spec:
  name: str
  every: int
  num_samples: int
  raw: bool
  options: dict


def parse_specs(config: ml_collections.ConfigDict, names=None, **overrides) -> list[Spec]:
  """Specs of `config.evals` (or of `names`, with defaults for those not in the config).

  `overrides` (e.g. num_samples=..., weights=...; None: keep) apply to every evaluator that
  takes that option.
  """
  evals = config.get('evals') or {}
  specs = []
  for name in (names if names is not None else list(evals)):
    valid = COMMON_OPTIONS | registry.get(name).OPTIONS
    fields = dict(evals[name]) if name in evals else {}
    unknown = fields.keys() - valid
    if unknown:
      raise ValueError(f'config.evals.{name} has unknown fields {sorted(unknown)}; valid: '
                       f'{sorted(valid)}.')
    fields |= {k: v for k, v in overrides.items() if v is not None and k in valid}
    every = fields.pop('every', config.get('eval_every', 0))
    num_samples = fields.pop('num_samples', registry.get(name).NUM_SAMPLES)
    if num_samples < 2:
      raise ValueError(f'config.evals.{name}.num_samples={num_samples}: need at least 2.')
    specs.append(Spec(name, every, num_samples, fields.pop('raw', True), fields))
  return specs


def build(config, specs: list[Spec]) -> dict:
  """name -> fn(Samples) -> {metric: value}; the builders make the cheap start-up checks."""
  return {s.name: registry.get(s.name).build(config, s.options) for s in specs}
