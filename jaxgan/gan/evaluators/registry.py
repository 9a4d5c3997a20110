"""Evaluators by name: `config.evals.<name>` is the module jaxgan.gan.evaluators.<name>.

As big_vision finds its evaluators, by importing the module of that name: nothing to register.
A name that is a Python keyword lives in `<name>_.py` (PEP 8's trailing underscore): `is`.
"""

from __future__ import annotations

import functools
import importlib
import keyword
import pkgutil
import types

# The package's own machinery: modules that are not evaluators.
INFRASTRUCTURE = frozenset({'common', 'driver', 'monitor', 'registry', 'sampling', 'specs'})


def _module_name(name: str) -> str:
  return f'{name}_' if keyword.iskeyword(name) else name


def _evaluator_name(module: str) -> str:
  return module[:-1] if keyword.iskeyword(module[:-1]) else module


@functools.cache
def names() -> tuple[str, ...]:
  """The evaluators' names, from the package's modules."""
  package = importlib.import_module(__package__)
  modules = (m.name for m in pkgutil.iter_modules(package.__path__))
  return tuple(sorted(_evaluator_name(m) for m in modules
                      if m not in INFRASTRUCTURE and not m.startswith('_')))


def get(name: str) -> types.ModuleType:
  """The evaluator module `name`: METRICS, NUM_SAMPLES, OPTIONS, build (and maybe protocol)."""
  if name not in names():
    raise ValueError(f'Unknown evaluator {name!r} (config.evals or --evals); valid names: '
                     f'{list(names())}.')
  return importlib.import_module(f'{__package__}.{_module_name(name)}')


def protocol(name: str, config, options: dict) -> dict:
  """How the evaluator's figures are measured (reference data, feature space, ...); {}: unsaid."""
  describe = getattr(get(name), 'protocol', None)
  return describe(config, options) if describe else {}


def metric_mode(metric: str) -> str:
  """'min' or 'max' for a metric name such as 'fid' or 'modes_covered_raw'."""
  base = metric.removesuffix('_raw').split('/')[0]  # class_agreement/3: per-class scores.
  modes = {m: mode for name in names() for m, mode in get(name).METRICS.items()}
  if base not in modes:
    raise ValueError(f'Unknown metric {metric!r}; metrics of the evaluators: {sorted(modes)}.')
  return modes[base]
