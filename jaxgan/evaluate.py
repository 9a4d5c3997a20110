"""Scores a saved checkpoint, or samples made anywhere, with evaluators chosen by name.

  python -m jaxgan.evaluate --workdir=runs/dcgan_digits --evals=digits_fd,class_coverage
  python -m jaxgan.evaluate --workdir=runs/wgan_gp_cifar --evals=fid,kid,is --num_samples=10000
  python -m jaxgan.evaluate --workdir=runs/gan_grid25 --evals=mode_coverage --best
  python -m jaxgan.evaluate --workdir=runs/srresnet_photos --sr_eval=data/Set5,data/Set14
  python -m jaxgan.evaluate --config=configs/dcgan_digits.py --samples=samples.npz --json=-

Evaluators and their options are those of `jaxgan.gan.evaluators` (the config's `config.evals`
entries apply where present).

--workdir: samples come from the run's fixed eval noise, so the scores of a step equal the
`eval_*` values training logged for it. Writes `<workdir>/eval/step_NNNNNNN.json` (or --json).
A run of several seeds (config.num_seeds) scores member --seed_index=k (default 0) as the
single run of seed + k, into step_NNNNNNN_seed_<k>.json for k > 0.

--samples with --config (a config file; `--config.x=y` overrides apply): scores images from
anywhere as that config's evaluators score its generator, with no run. PATH is
  - an .npz holding `samples`, (N, H, W, C) with C = model.channels, either uint8 in
    [0, 255] or float in [-1, 1] with some value below 0 (float images within [0, 1] could be
    either range, so they are refused: save them as uint8), and optionally `labels`, N
    integers in [0, model.num_classes), for class-conditional configs;
  - or a folder of images (png, jpg, ...; searched recursively; converted to model.channels;
    all of one size; no labels).
All samples are scored (--num_samples=N: the first N). Samples of another size than
model.image_size are scored as they are: the feature spaces resize them (Inception to 299 px,
the digits classifier to 16 px), and each protocol says so; `diversity` in pixels refuses
them. The JSON holds `metrics` and, per evaluator, its `protocol` (reference data, feature
space, number of samples, source, size).

--json=-: the JSON object alone on standard output; --json=FILE: written there.
"""

import json
import os
import zipfile

import numpy as np
from absl import app, flags
from etils import epath

from jaxgan import config_files
from jaxgan.data import sources, transforms
from jaxgan.gan import evaluators, generate
from jaxgan.run import cli, sharding, user_errors
from jaxgan.run import workdir as workdir_lib

FLAGS = flags.FLAGS

# Flags that describe a run's checkpoint: meaningless with --samples.
WORKDIR_FLAGS = ('step', 'best', 'raw', 'truncation', 'sr_eval', 'self_ensemble', 'seed_index')


def define_flags():
  """Flags of the command line only: importing this module defines none."""
  flags.DEFINE_string('workdir', None, 'Working directory of a training run.')
  flags.DEFINE_string('samples', None, 'Score these instead of a run: an .npz (`samples`, '
                      'optional `labels`) or a folder of images; needs --config.')
  with user_errors.config_overrides():
    config_files.define_config_flag('config', None, 'With --samples: the config (a file, or a '
                                   'shipped name) whose evaluators score them.')
  flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
  flags.DEFINE_list('evals', None, f'Evaluators, comma-separated: {list(evaluators.names())} '
                    '(default: those of the config.evals).')
  flags.DEFINE_bool('best', False, 'Score the best checkpoint (<workdir>/best) instead.')
  flags.DEFINE_integer('seed_index', 0, 'Runs of config.num_seeds > 1: the member to score, '
                       '0..num_seeds-1 (with --best: its own best checkpoint, best_seed_<k>).')
  flags.DEFINE_integer('num_samples', None, 'Samples per evaluator (default: its own; with '
                       '--samples: all of them).')
  flags.DEFINE_bool('raw', True, 'Also score the raw generator of runs with an EMA (_raw).')
  flags.DEFINE_string('weights', None, 'FID Inception weights (.pth or .npz; default: cache).')
  flags.DEFINE_string('json', None, "Output file, '-' for standard output (default: "
                      '<workdir>/eval/step_NNNNNNN.json; with --samples: none).')
  flags.DEFINE_float('truncation', 0.0, 'Truncation trick: draw the noise truncated to '
                     '[-psi, psi] (0: none).')
  flags.DEFINE_list('sr_eval', None, 'Super-resolution runs: HR image folders (Set5,Set14,...) '
                    'scored by PSNR/SSIM against bicubic (jaxgan.sr.evaluate).')
  flags.DEFINE_bool('self_ensemble', False, 'With --sr_eval: also score the x8 flip/rotation '
                    'self-ensemble (EDSR+), as method <name>+.')


def _evaluator_names(config, names) -> list[str]:
  names = names or list(config.get('evals') or {})
  if not names:
    raise ValueError(f'Nothing to evaluate: pass --evals (one or more of '
                     f'{list(evaluators.names())}); the config has no config.evals.')
  return names


def protocols(config, specs) -> dict[str, dict]:
  """Each evaluator's protocol for its spec's sample count (see jaxgan.gan.evaluators)."""
  return {s.name: evaluators.protocol(s.name, config, s.options | {'num_samples': s.num_samples})
          | {'num_samples': s.num_samples} for s in specs}


def evaluate_checkpoint(workdir: str, names=None, step=None, best=False, num_samples=None,
                        raw=True, weights=None, truncation: float = 0.0,
                        with_protocol: bool = False, seed_index: int = 0):
  """(step, {metric: value}) of a run's checkpoint; `_raw` metrics score the raw generator.

  `truncation` > 0 scores samples of truncated noise (the truncation trick). With
  `with_protocol`, (step, metrics, {evaluator: protocol}) instead. `seed_index`: the member of
  a run of config.num_seeds > 1, scored as its own single run (its seed's eval noise)."""
  config, gan, state, standing = generate.load_run(workdir, step,
                                                   'best' if best else 'checkpoints', seed_index)
  specs = evaluators.parse_specs(config, _evaluator_names(config, names),
                                 num_samples=num_samples, weights=weights)
  scorers = evaluators.build(config, specs)
  draw = evaluators.make_generator(config, gan, sharding.make_mesh(), truncation)
  results = {}
  sampling = generate.sampling_generator(config, gan, state, standing=standing)
  for suffix, (params, stats) in evaluators.generators(config, gan, state, sampling).items():
    if suffix and not raw:
      continue
    results |= evaluators.run(specs, scorers, draw, params, stats, suffix)
  if with_protocol:
    return int(state.step), results, protocols(config, specs) | {
        '_run': dict(workdir=workdir, step=int(state.step), best=best, truncation=truncation,
                     seed_index=seed_index, seed=config.seed,
                     eval_noise='fixed for the run (config.seed, EVAL_NOISE_SALT)')}
  return int(state.step), results


# Samples from anywhere ------------------------------------------------------------------------

def _read_npz(path: str) -> tuple[np.ndarray, np.ndarray | None]:
  try:
    with np.load(path) as archive:
      arrays = {name: archive[name] for name in archive.files}
  except (OSError, EOFError, TypeError, ValueError, zipfile.BadZipFile) as e:
    raise ValueError(f'--samples={path!r} is not a readable .npz: {e}') from None
  if 'samples' not in arrays:
    raise ValueError(f'--samples={path!r} holds no `samples` array (it holds {sorted(arrays)}).')
  return arrays['samples'], arrays.get('labels')


def _read_folder(path: str, channels: int) -> np.ndarray:
  files = sources.list_images(path)
  images = [sources.load_image(f, channels) for f in files]
  sizes = {im.shape[:2]: f for im, f in zip(images, files)}
  if len(sizes) > 1:
    raise ValueError(f'--samples={path!r} holds images of different sizes: '
                     f'{"; ".join(f"{f} {h}x{w}" for (h, w), f in sorted(sizes.items())[:3])}. '
                     'Give images of one size.')
  return np.stack(images)


def _model_space(images: np.ndarray, path: str, channels: int) -> np.ndarray:
  """float32 NHWC in [-1, 1], as the generator's outputs that evaluators score."""
  if images.ndim != 4 or images.shape[-1] != channels:
    raise ValueError(f'--samples={path!r}: samples must be (N, H, W, {channels}) images '
                     f'(model.channels={channels}), got shape {images.shape}.')
  if len(images) < 2:
    raise ValueError(f'--samples={path!r} holds {len(images)} sample(s): need at least 2.')
  if images.dtype == np.uint8:
    return transforms.to_unit_range(images)
  if images.dtype.kind == 'f':
    low, high = float(images.min()), float(images.max())
    if -1 <= low < 0 and high <= 1:  # Some value below 0: not [0, 1] images.
      return images.astype(np.float32)
    raise ValueError(f'--samples={path!r}: float samples must lie in [-1, 1] with some value '
                     f'below 0, got [{low:.4g}, {high:.4g}]; save [0, 1] or [0, 255] images '
                     'as uint8.')
  raise ValueError(f'--samples={path!r}: samples must be uint8 [0, 255] or float [-1, 1], '
                   f'got {images.dtype}.')


def _check_labels(labels, num: int, path: str, config) -> np.ndarray | None:
  num_classes = config.model.get('num_classes', 0)
  if labels is None:
    return None
  if not num_classes:
    raise ValueError(f'--samples={path!r} holds labels, but {config.name} is unconditional '
                     '(model.num_classes=0): drop them, or use a class-conditional config.')
  if labels.dtype.kind not in 'iu' or labels.shape != (num,):
    raise ValueError(f'--samples={path!r}: labels must be {num} integers, one per sample, got '
                     f'{labels.dtype} of shape {labels.shape}.')
  if labels.min() < 0 or labels.max() >= num_classes:
    raise ValueError(f'--samples={path!r}: labels must lie in [0, {num_classes}), got '
                     f'[{labels.min()}, {labels.max()}].')
  return labels.astype(np.int32)


def load_samples(path: str, config) -> evaluators.Samples:
  """The samples of an .npz or an image folder, as evaluators score them (module docstring)."""
  channels = config.model.channels
  if os.path.isdir(path):
    images, labels = _read_folder(path, channels), None
  elif not os.path.exists(path):
    raise FileNotFoundError(f'--samples={path!r} does not exist.')
  elif path.lower().endswith('.npz'):
    images, labels = _read_npz(path)
  else:
    raise ValueError(f'--samples={path!r}: give an .npz file or a folder of images.')
  outputs = _model_space(images, path, channels)
  return evaluators.Samples(outputs, _check_labels(labels, len(outputs), path, config))


def evaluate_samples(config, path: str, names=None, num_samples=None, weights=None) -> dict:
  """{'config', 'metrics', 'protocol'} of the samples at `path` (the first `num_samples`)."""
  if config.model.name == 'toy':
    raise ValueError(f'{config.name} draws 2-D points; --samples scores images.')
  samples = load_samples(path, config)
  num = min(num_samples or len(samples.outputs), len(samples.outputs))
  specs = evaluators.parse_specs(config, _evaluator_names(config, names), num_samples=num,
                                 weights=weights)
  scorers = evaluators.build(config, specs)
  labels = None if samples.labels is None else samples.labels[:num]
  metrics = evaluators.score(specs, scorers, evaluators.Samples(samples.outputs[:num], labels))
  height, width = samples.outputs.shape[1:3]
  seen = dict(num_samples=num, source=os.path.abspath(path), image_size=f'{height}x{width}')
  size = config.model.image_size
  if (height, width) != (size, size):
    seen['note'] = (f'scored as they are, not at model.image_size={size}: the feature space '
                    'resizes them')
  return {'config': config.name, 'metrics': metrics, 'protocol': {
      name: protocol | seen for name, protocol in protocols(config, specs).items()}}


# The command line -----------------------------------------------------------------------------

def _check_mode():
  """Exactly one of --workdir and --samples, and only the flags of that mode."""
  if (FLAGS.workdir is None) == (FLAGS.samples is None):
    raise app.UsageError('Pass exactly one of --workdir (score a run\'s checkpoint) and '
                         '--samples (score images or an .npz, with --config).')
  if FLAGS.samples is None:
    if FLAGS['config'].present:
      raise app.UsageError('--config goes with --samples; a run\'s config is read from its '
                           '--workdir.')
    return
  if not FLAGS['config'].present:
    raise app.UsageError('--samples needs --config=FILE: the config whose evaluators score '
                         'them.')
  for name in WORKDIR_FLAGS:
    if FLAGS[name].present:
      raise app.UsageError(f'--{name} scores a run: use it with --workdir, not --samples.')


def _write(record: dict, out: str | None, summary: str):
  if out == '-':  # Standard output holds the JSON alone, for a pipe.
    print(json.dumps(record, indent=2))
    return
  if out:
    path = epath.Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2))
  real = {k: v for p in record.get('protocol', {}).values()
          for k, v in p.get('real_figures', {}).items()}
  for name, value in record['metrics'].items():
    ceiling = real.get(name.removesuffix('_raw'))
    print(f'{name:24s} {value:<12.6g}' + ('' if ceiling is None else
                                           f' real images: {ceiling:.6g}'))
  print(summary + (f' -> {out}' if out else ''))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  _check_mode()
  if FLAGS.samples is not None:
    with user_errors.config_overrides():  # A config file that failed to load fails on use.
      config = FLAGS.config
    record = evaluate_samples(config, FLAGS.samples, FLAGS.evals, FLAGS.num_samples,
                              FLAGS.weights)
    num = next(iter(record['protocol'].values()))['num_samples']  # The same for all.
    _write(record, FLAGS.json, f'{num} samples of {FLAGS.samples}')
    return
  if FLAGS.sr_eval:
    from jaxgan.sr import evaluate as sr_evaluate  # pylint: disable=g-import-not-at-top
    sr_evaluate.sr_eval(FLAGS.workdir, FLAGS.sr_eval, ensemble=FLAGS.self_ensemble)
    return
  step, results, protocol = evaluate_checkpoint(
      FLAGS.workdir, FLAGS.evals, FLAGS.step, FLAGS.best, FLAGS.num_samples, FLAGS.raw,
      FLAGS.weights, FLAGS.truncation, with_protocol=True, seed_index=FLAGS.seed_index)
  member = f'_seed_{FLAGS.seed_index}' if FLAGS.seed_index else ''  # Member 0: the run's name.
  out = FLAGS.json or str(workdir_lib.path(FLAGS.workdir) / 'eval' /
                          f'step_{step:07d}{member}.json')
  _write({'step': step, 'best': FLAGS.best, 'truncation': FLAGS.truncation, 'metrics': results,
          'protocol': protocol},
         out, f'step {step} of {FLAGS.workdir}{" (best)" if FLAGS.best else ""}')


if __name__ == '__main__':
  cli.run(main, define_flags)
