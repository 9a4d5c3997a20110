"""The samples evaluators score: drawn from a generator's fixed eval noise, shared by counts."""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np

from jaxgan.gan import generate

GENERATE_BATCH = 250  # Samples per generator call: one compiled shape, bounded memory.


@dataclasses.dataclass(frozen=True)
class Samples:
  outputs: np.ndarray  # float [-1, 1] NHWC images, or (N, 2) points.
  labels: np.ndarray | None = None  # Conditioning labels of class-conditional generators.


def make_generator(config, gan, mesh, truncation: float = 0.0,
                   sampler=None) -> Callable[..., Samples]:
  """(params, stats, num) -> Samples from the run's fixed eval noise, sharded over `mesh`.

  `sampler`: generate.make_sampler(gan, mesh), when one is shared (by a run's members).
  `truncation` > 0 truncates that noise to [-truncation, truncation] (jaxgan.gan.generate.noise).
  The noise batch is split over the devices; the samples come back replicated, so every
  process scores the same samples and makes the same best-checkpoint decisions.
  """
  batch = generate.padded_batch(GENERATE_BATCH, mesh)
  sampler = sampler or generate.make_sampler(gan, mesh)
  num_classes = config.model.get('num_classes', 0)

  def generate_(params, stats, num: int) -> Samples:
    padded = math.ceil(num / batch) * batch
    z = np.asarray(generate.fixed_noise(config, generate.EVAL_NOISE_SALT, padded, truncation))
    labels = (np.arange(padded) % num_classes).astype(np.int32) if num_classes else None
    outputs = generate.generate_batches(sampler, params, stats, z, labels, batch, mesh)[:num]
    return Samples(outputs, None if labels is None else labels[:num])
  return generate_


def generators(config, gan, state, sampling=None) -> dict[str, tuple]:
  """suffix -> (params, stats): '' is the sampling generator (EMA if any, with standing
  statistics if configured; `sampling` if given), '_raw' the raw one."""
  named = {'': sampling or generate.sampling_generator(config, gan, state)}
  if config.model.ema_decay > 0:
    named['_raw'] = (state.g_params, state.g_stats)
  return named


def score(specs, evaluators, samples: Samples, suffix: str = '') -> dict[str, float]:
  """Scores `samples` with `specs`: each evaluator gets the first `num_samples` of them."""
  shared = {}  # One Samples per count: feature spaces reuse the pass of the same array.
  results = {}
  for spec in specs:
    n = spec.num_samples
    if n not in shared:
      labels = None if samples.labels is None else samples.labels[:n]
      shared[n] = samples if n == len(samples.outputs) else Samples(samples.outputs[:n], labels)
    results |= {f'{k}{suffix}': float(v) for k, v in evaluators[spec.name](shared[n]).items()}
  return results


def run(specs, evaluators, generate_, params, stats, suffix: str = '') -> dict[str, float]:
  """Scores one generator with `specs`; samples are drawn once and shared by equal counts."""
  samples = generate_(params, stats, max(s.num_samples for s in specs))
  return score(specs, evaluators, samples, suffix)
