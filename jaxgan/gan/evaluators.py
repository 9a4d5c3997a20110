"""Evaluators chosen by name from `config.evals`, run during training and on saved checkpoints.

  c.evals.digits_fd = dict(every=500, num_samples=1000)
  c.evals.fid = dict(every=5000, num_samples=10000, weights='/path/pt_inception.pth')

Each field of `config.evals` names an entry of `EVALUATORS`. `every` (default
`config.eval_every`; 0: never during training, only by `python -m jaxgan.evaluate`),
`num_samples` and `raw` (also score the raw generator) are common to all; the rest are the
evaluator's own options. An entry's builder makes the cheap start-up checks (weights present,
suitable data) and returns `fn(samples) -> {metric: value}`; networks and reference statistics
load on first use. A new metric is one builder and one line in `EVALUATORS`.

During training every due evaluator scores samples of the EMA generator (the raw one when the
run has no EMA) as `eval_<metric>` and of the raw generator as `eval_<metric>_raw`, from noise
that stays fixed for the whole run. `CollapseMonitor` warns when diversity or coverage falls
sharply, and `BestCheckpoint` keeps the checkpoint with the best `config.best_metric`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Callable

import ml_collections
import numpy as np
from absl import logging

from jaxgan.gan import generate
from jaxgan.run import checkpoint
from jaxgan.data import digits, gaussians
from jaxgan.metrics import classifier, coverage, fid, prdc, stats
from jaxgan.metrics import features as features_lib

GENERATE_BATCH = 250  # Samples per generator call: one compiled shape, bounded memory.
COMMON_OPTIONS = frozenset({'every', 'num_samples', 'raw'})


@dataclasses.dataclass(frozen=True)
class Samples:
  outputs: np.ndarray  # float [-1, 1] NHWC images, or (N, 2) points.
  labels: np.ndarray | None = None  # Conditioning labels of class-conditional generators.


Evaluate = Callable[[Samples], dict[str, float]]


# ---------------------------------------------------------------------------------------------
# Builders: (config, options) -> Evaluate.


def _require(ok: bool, name: str, what: str) -> None:
  if not ok:
    raise ValueError(f'config.evals.{name} needs {what}; remove it from config.evals.')


@functools.cache
def _space(name: str, weights: str = '', size: int = 0):
  """One feature extractor per space per process: FID, KID and IS share Inception's pass."""
  options = dict(weights=weights or None, size=size or None) if name == 'inception' else {}
  return features_lib.get_features(name, **options)


def _image_space(config, name: str, options: dict):
  _require(config.model.name != 'toy', name, 'image data (not 2-D points)')
  return _space('inception', options.get('weights', ''), options.get('inception_size', 0))


def _reference(config, space):
  return functools.cache(lambda: stats.reference(config, space))


def _frechet(metric: str, space_name: str) -> Callable:
  def build(config, options) -> Evaluate:
    if space_name == 'digits':
      _require(config.data.name == 'digits', metric, 'data.name=digits')
      space = _space('digits')
    else:
      space = _image_space(config, metric, options)
    real = _reference(config, space)

    def evaluate(samples):
      mu, sigma = fid.feature_statistics(space(samples.outputs)[0])
      return {metric: fid.frechet_distance(mu, sigma, real()['mu'], real()['sigma'])}
    return evaluate
  return build


def build_kid(config, options) -> Evaluate:
  space = _image_space(config, 'kid', options)
  real = _reference(config, space)

  def evaluate(samples):
    mean, std = fid.kernel_inception_distance(
        space(samples.outputs)[0], real()['features'], options.get('num_subsets', 100),
        options.get('subset_size', 1000))
    return {'kid': mean, 'kid_std': std}
  return evaluate


def build_inception_score(config, options) -> Evaluate:
  space = _image_space(config, 'is', options)

  def evaluate(samples):
    mean, std = fid.inception_score(space(samples.outputs)[1], options.get('splits', 10))
    return {'is': mean, 'is_std': std}
  return evaluate


def _digits_classifier(config, name: str):
  _require(config.data.name == 'digits', name, 'data.name=digits')
  return _space('digits')


def build_digits_confident(config, options) -> Evaluate:
  """Share of samples the digits classifier reads as a digit with probability >= 0.7."""
  del options
  space = _digits_classifier(config, 'digits_confident')

  def evaluate(samples):
    return {'digits_confident': classifier.digits_confident(space.classifier, samples.outputs)}
  return evaluate


def build_class_coverage(config, options) -> Evaluate:
  """Digits present among the confident samples, and total variation to the real class mix."""
  del options
  space = _digits_classifier(config, 'class_coverage')
  labels = digits.digits_split(8, config.data.split)[1]
  real = np.bincount(labels, minlength=digits.NUM_CLASSES) / len(labels)

  def evaluate(samples):
    shares, present = classifier.class_coverage(space.classifier, samples.outputs)
    return {'classes_covered': present, 'class_tv': 0.5 * float(np.abs(shares - real).sum())}
  return evaluate


def build_class_agreement(config, options) -> Evaluate:
  """Share of samples confidently read as their asked digit: overall and for the worst digit."""
  del options
  space = _digits_classifier(config, 'class_agreement')
  _require(config.model.get('num_classes', 0) > 0, 'class_agreement',
           'a class-conditional model (model.num_classes > 0)')

  def evaluate(samples):
    overall, per_class = classifier.class_agreement(space.classifier, samples.outputs,
                                                    samples.labels)
    return {'class_agreement': overall, 'class_agreement_min': float(np.nanmin(per_class))} | {
        f'class_agreement/{k}': float(v) for k, v in enumerate(per_class)}
  return evaluate


def _prdc_reference(config, options, num: int):
  """(embed, real features) for PRDC: raw points of a 2-D mixture, the digits classifier's
  features of the held-out digits, or Inception features of (at most `num`) real images."""
  if config.data.name in gaussians.MIXTURES:
    points, _ = gaussians.sample_mixture(config.data.name, num, config.seed + 1)
    return np.asarray, lambda: points  # Fresh points: not the training draw.
  if config.data.name == 'digits':
    judge = _space('digits').classifier
    # Digits neither the GAN nor the classifier trained on, in the classifier's stroke-layout
    # space (see DigitsClassifier.layout_features).
    return judge.layout_features, functools.cache(
        lambda: judge.layout_features(digits.digits_split(judge.image_size, 'test')[0]))
  space = _image_space(config, 'prdc', options)

  @functools.cache
  def real():
    features = stats.reference(config, space)['features']
    picks = np.random.default_rng(0).permutation(len(features))[:num]
    return features[np.sort(picks)]
  return (lambda x: space(x)[0]), real


def build_prdc(config, options) -> Evaluate:
  """Precision, recall (Kynkaanniemi et al. 2019), density, coverage (Naeem et al. 2020)."""
  k = options.get('k', 5)
  embed, real = _prdc_reference(config, options,
                                options.get('num_real', EVALUATORS['prdc'].num_samples))

  def evaluate(samples):
    return prdc.prdc(real(), embed(samples.outputs), k)
  return evaluate


def build_mode_coverage(config, options) -> Evaluate:
  """VEEGAN/PacGAN: modes with a sample within 3 std, and the fraction of such samples."""
  del options
  _require(config.data.name in gaussians.MIXTURES, 'mode_coverage',
           f'a 2-D mixture (data.name in {sorted(gaussians.MIXTURES)})')
  centers, std = gaussians.MIXTURES[config.data.name]

  def evaluate(samples):
    covered, quality = coverage.mode_coverage(samples.outputs, centers, std)
    return {'modes_covered': covered, 'high_quality': quality}
  return evaluate


def build_diversity(config, options) -> Evaluate:
  """Mean pairwise distance of samples over that of as many real examples (1: data-like).

  Distances are between raw samples (pixels or points), or between features with
  `features='digits'` or `'inception'`.
  """
  name = options.get('features', '')
  if name == 'digits':
    space = _digits_classifier(config, 'diversity')
  elif name == 'inception':
    space = _image_space(config, 'diversity', options)
  elif name:
    raise ValueError(f"config.evals.diversity.features={name!r}: use '', 'digits' or "
                     "'inception'.")
  embed = (lambda x: space(x)[0]) if name else np.asarray

  @functools.cache
  def real_diversity(n):
    from jaxgan.data import sources  # pylint: disable=g-import-not-at-top
    source = sources.build_source(config)
    rng = np.random.default_rng(0)
    picks = rng.choice(len(source), min(n, len(source)), replace=False)
    return coverage.mean_pairwise_distance(embed(np.stack([source[i]['image'] for i in picks])))

  def evaluate(samples):
    n = len(samples.outputs)
    return {'diversity': coverage.mean_pairwise_distance(embed(samples.outputs)) /
                         real_diversity(n)}
  return evaluate


@dataclasses.dataclass(frozen=True)
class Entry:
  build: Callable[[ml_collections.ConfigDict, dict], Evaluate]
  metrics: dict[str, str]  # metric -> 'min' or 'max': which way is better.
  num_samples: int  # Default sample count.
  options: frozenset = frozenset()  # Own options, besides COMMON_OPTIONS.


INCEPTION_OPTIONS = frozenset({'weights', 'inception_size'})

# psnr and ssim score super-resolution outputs against their targets: the SR task adds them.
EVALUATORS: dict[str, Entry] = {
    'fid': Entry(_frechet('fid', 'inception'), {'fid': 'min'}, 10_000, INCEPTION_OPTIONS),
    'kid': Entry(build_kid, {'kid': 'min', 'kid_std': 'min'}, 10_000,
                 INCEPTION_OPTIONS | {'num_subsets', 'subset_size'}),
    'is': Entry(build_inception_score, {'is': 'max', 'is_std': 'min'}, 10_000,
                INCEPTION_OPTIONS | {'splits'}),
    'digits_fd': Entry(_frechet('digits_fd', 'digits'), {'digits_fd': 'min'}, 1_000),
    'class_coverage': Entry(build_class_coverage,
                            {'classes_covered': 'max', 'class_tv': 'min'}, 1_000),
    'digits_confident': Entry(build_digits_confident, {'digits_confident': 'max'}, 1_000),
    'class_agreement': Entry(build_class_agreement,
                             {'class_agreement': 'max', 'class_agreement_min': 'max'}, 1_000),
    'prdc': Entry(build_prdc, {'precision': 'max', 'recall': 'max', 'density': 'max',
                               'coverage': 'max'}, 10_000, INCEPTION_OPTIONS | {'k', 'num_real'}),
    'mode_coverage': Entry(build_mode_coverage,
                           {'modes_covered': 'max', 'high_quality': 'max'}, 2_500),
    'diversity': Entry(build_diversity, {'diversity': 'max'}, 1_000,
                       INCEPTION_OPTIONS | {'features'}),
}


def metric_mode(metric: str) -> str:
  """'min' or 'max' for a metric name such as 'fid' or 'modes_covered_raw'."""
  base = metric.removesuffix('_raw').split('/')[0]  # class_agreement/3: per-class scores.
  for entry in EVALUATORS.values():
    if base in entry.metrics:
      return entry.metrics[base]
  known = sorted(m for e in EVALUATORS.values() for m in e.metrics)
  raise ValueError(f'Unknown metric {metric!r}; metrics of the evaluators: {known}.')


# ---------------------------------------------------------------------------------------------
# Specs: config.evals -> what to run, how often, on how many samples.


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
    if name not in EVALUATORS:
      raise ValueError(f'Unknown evaluator {name!r} (config.evals or --evals); valid names: '
                       f'{sorted(EVALUATORS)}.')
    entry = EVALUATORS[name]
    fields = dict(evals[name]) if name in evals else {}
    unknown = fields.keys() - COMMON_OPTIONS - entry.options
    if unknown:
      raise ValueError(f'config.evals.{name} has unknown fields {sorted(unknown)}; valid: '
                       f'{sorted(COMMON_OPTIONS | entry.options)}.')
    fields |= {k: v for k, v in overrides.items()
               if v is not None and k in COMMON_OPTIONS | entry.options}
    every = fields.pop('every', config.get('eval_every', 0))
    num_samples = fields.pop('num_samples', entry.num_samples)
    if num_samples < 2:
      raise ValueError(f'config.evals.{name}.num_samples={num_samples}: need at least 2.')
    specs.append(Spec(name, every, num_samples, fields.pop('raw', True), fields))
  return specs


def build(config, specs: list[Spec]) -> dict[str, Evaluate]:
  return {s.name: EVALUATORS[s.name].build(config, s.options) for s in specs}


# ---------------------------------------------------------------------------------------------
# Generating the samples.


def make_generator(config, gan, mesh, truncation: float = 0.0) -> Callable[..., Samples]:
  """(params, stats, num) -> Samples from the run's fixed eval noise, sharded over `mesh`.

  `truncation` > 0 truncates that noise to [-truncation, truncation] (jaxgan.gan.generate.noise).
  The noise batch is split over the devices; the samples come back replicated, so every
  process scores the same samples and makes the same best-checkpoint decisions.
  """
  batch = generate.padded_batch(GENERATE_BATCH, mesh)
  sampler = generate.make_sampler(gan, mesh)
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


def run(specs, evaluators, generate, params, stats, suffix: str = '') -> dict[str, float]:
  """Scores one generator with `specs`; samples are drawn once and shared by equal counts."""
  full = generate(params, stats, max(s.num_samples for s in specs))
  shared = {}
  results = {}
  for spec in specs:
    n = spec.num_samples
    if n not in shared:
      labels = None if full.labels is None else full.labels[:n]
      shared[n] = full if n == len(full.outputs) else Samples(full.outputs[:n], labels)
    results |= {f'{k}{suffix}': float(v) for k, v in evaluators[spec.name](shared[n]).items()}
  return results


# ---------------------------------------------------------------------------------------------
# Mode-collapse monitor and best checkpoint.

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
  """Keeps the checkpoint of the best `eval_<metric>` in <workdir>/best (Orbax best_fn)."""

  def __init__(self, workdir: str, metric: str):
    self.tag = f'eval_{metric}'
    self.mode = metric_mode(metric)
    self.ckpt = checkpoint.Checkpointer(workdir, 1, subdir='best', best_mode=self.mode)
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


# ---------------------------------------------------------------------------------------------
# What the training loop calls.


class Evaluation:
  """Built before training (start-up checks); called every step, runs the due evaluators."""

  def __init__(self, config, gan, mesh, workdir: str):
    self.config, self.gan = config, gan
    self.specs = parse_specs(config)
    best_metric = config.get('best_metric', '')
    if best_metric and best_metric.removesuffix('_raw') not in {
        m for s in self.specs for m in EVALUATORS[s.name].metrics}:
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
    if self.best is not None:
      self.best.update(step, scalars, state, data_state(), self.config,
                       generate.checkpoint_extras(self.config, state, sampling))
    return scalars

  def close(self):
    if self.best is not None:
      self.best.close()
