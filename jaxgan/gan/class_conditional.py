"""Class labels for conditional runs: checks, balanced label sets and class names.

Shared by training (per-class grids) and `python -m jaxgan.sample`; the class_agreement score is
an evaluator (jaxgan.gan.evaluators).
"""

import ml_collections
import numpy as np

from jaxgan.data import sources
from jaxgan.data.errors import DataError


def num_classes(config: ml_collections.ConfigDict) -> int:
  return config.model.get('num_classes', 0)


def check_data(config: ml_collections.ConfigDict, source: sources.Source) -> None:
  """A conditional model must have as many classes as its data set."""
  n = num_classes(config)
  if n and n != source.num_classes:
    raise ValueError(
        f'model.num_classes={n} but data.name={config.data.name!r} has '
        f'{source.num_classes} classes: set --config.model.num_classes={source.num_classes}'
        + (' (this data set has no labels: use an unconditional model).'
           if not source.num_classes else '.'))


def balanced_labels(num: int, n_classes: int) -> np.ndarray:
  """int32 (num,): 0, 1, ..., C-1, 0, 1, ... so every class gets num // C or one more."""
  return (np.arange(num) % n_classes).astype(np.int32)


def per_class_labels(per_class: int, n_classes: int) -> np.ndarray:
  """int32 (C * per_class,): per_class 0s, then per_class 1s, ... (rows of a per-class grid)."""
  return np.repeat(np.arange(n_classes, dtype=np.int32), per_class)


def parse_labels(text: str, n_classes: int) -> np.ndarray:
  """'3,3,7' -> int32 [3, 3, 7], each checked against the run's classes."""
  try:
    labels = np.array([int(t) for t in text.split(',') if t.strip()], np.int32)
  except ValueError:
    raise ValueError(f'--labels={text!r} must be comma-separated integers, e.g. 3,3,7.') from None
  bad = labels[(labels < 0) | (labels >= n_classes)]
  if not labels.size or bad.size:
    raise ValueError(f'--labels={text!r}: every label must be in [0, {n_classes - 1}] '
                     f'(the run has {n_classes} classes).')
  return labels


def grid_labels(config: ml_collections.ConfigDict) -> np.ndarray | None:
  """Labels of the training sample grid: one row per class; None for unconditional runs."""
  n = num_classes(config)
  return per_class_labels(-(-config.num_grid_samples // n), n) if n else None


def class_names(config: ml_collections.ConfigDict) -> tuple[str, ...]:
  """The data set's class names; numbers when the data cannot be opened (e.g. moved run)."""
  try:
    names = tuple(sources.build_source(config).class_names)
  except (DataError, ImportError):
    names = ()
  return names or tuple(map(str, range(num_classes(config))))
