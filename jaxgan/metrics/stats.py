"""Reference statistics of real data in a feature space, cached per data set and split.

  python -m jaxgan.metrics.stats --data=configs/dcgan_cifar.py --out=cifar10_train.npz
  python -m jaxgan.metrics.stats --data=digits --features=digits --out=digits.npz

`--data` is a config (its data section and image size: a file, or a shipped config's name such
as `dcgan_cifar`) or a data set name of `jaxgan.data.DATASETS`. The output is pytorch-fid's
`.npz` layout (`mu`, `sigma`), so it can be passed to `pytorch_fid` too. The cache (`$JAXGAN_CACHE/stats/`, default `~/.cache/jaxgan/stats/`)
also keeps the features themselves, which KID needs; the evaluators read the same cache.
"""

from __future__ import annotations

import hashlib
import os
import pathlib

import numpy as np
from absl import app, flags, logging

from jaxgan import cache, config_files
from jaxgan.data import sources
from jaxgan.metrics import features as features_lib
from jaxgan.metrics import fid

CHUNK = 500  # Real images decoded and featurised per batch: bounded memory on any data set.


def cache_dir() -> pathlib.Path:
  return cache.cache_dir() / 'stats'


def cache_path(config, space, max_examples: int = 0) -> pathlib.Path:
  """One file per data set, split, image size, channels, feature space and example count."""
  data = config.data
  name = data.name
  if data.name == 'folder':  # Two folders must not share a cache file.
    name += '-' + hashlib.sha1(os.path.abspath(data.path).encode()).hexdigest()[:10]
  count = f'-first{max_examples}' if max_examples else ''
  return cache_dir() / (f'{name}-{data.split}-{config.model.image_size}px-'
                        f'{config.model.channels}ch-{space.key}{count}.npz')


def real_features(config, space, max_examples: int = 0) -> np.ndarray:
  """Features of the real images of `config.data` (the first `max_examples`; 0: all)."""
  if config.data.name in ('ring8', 'grid25'):
    raise ValueError(f'data.name={config.data.name!r} holds 2-D points, not images: use the '
                     'mode_coverage evaluator for it.')
  source = sources.build_source(config)
  n = min(len(source), max_examples) if max_examples else len(source)
  parts = []
  for start in range(0, n, CHUNK):
    images = np.stack([source[i]['image'] for i in range(start, min(start + CHUNK, n))])
    parts.append(space(images)[0])
  return np.concatenate(parts).astype(np.float32)


def reference(config, space, max_examples: int = 0) -> dict[str, np.ndarray]:
  """{'mu', 'sigma', 'features'} of the real data, computed once and then read from the cache."""
  path = cache_path(config, space, max_examples)
  try:
    with np.load(path) as f:
      return {k: f[k] for k in ('mu', 'sigma', 'features')}
  except (OSError, KeyError, ValueError):  # Missing or damaged: recompute.
    pass
  logging.info('Computing %s reference statistics of %s into %s', space.key, config.data.name,
               path)
  feats = real_features(config, space, max_examples)
  mu, sigma = fid.feature_statistics(feats)
  cache.save_npz(path, dict(mu=mu, sigma=sigma, features=feats))
  return {'mu': mu, 'sigma': sigma, 'features': feats}


def load_data_config(data: str):
  """A config (a file path, or a shipped config's name), or the default config with
  `data.name = data` for a data set name."""
  if data in sources.DATASETS:
    from configs import default  # pylint: disable=g-import-not-at-top
    config = default.get_config()
    config.data.name = data
    config.model.channels = 1 if data == 'digits' else 3
    return config
  if config_files.is_name(data) and data not in config_files.shipped_names():
    raise ValueError(f'--data={data!r} is neither a config (a .py file, or one of '
                     f'{config_files.shipped_names()}) nor a data set name '
                     f'({sorted(sources.DATASETS)}).')
  try:
    return config_files.load(data)
  except ValueError as e:
    raise ValueError(f'--data={data!r}: {e}') from e


FLAGS = flags.FLAGS


def define_flags():
  """Flags of the command line only: importing this module defines none."""
  flags.DEFINE_string('data', None, 'A config (a .py file, or a shipped config\'s name) or a data set name.', required=True)
  flags.DEFINE_string('out', None, 'Output .npz (mu, sigma); default: only the cache.')
  flags.DEFINE_enum('features', 'inception', sorted(features_lib.FEATURES), 'Feature space.')
  flags.DEFINE_string('split', None, 'Data split (default: the config\'s data.split).')
  flags.DEFINE_integer('image_size', None, 'Image size (default: the config\'s).')
  flags.DEFINE_string('data_path', None, 'Image folder, for --data=folder.')
  flags.DEFINE_integer('max_examples', 0, 'Use the first N examples only (0: all).')
  flags.DEFINE_string('weights', None, 'FID Inception weights (.pth or .npz; default: cache).')
  flags.DEFINE_integer('inception_size', None, 'Inception input size; FID is defined at 299 '
                       '(other sizes are for tests only).')


def write_statistics(data: str, features: str = 'inception', out: str | None = None,
                     split: str | None = None, image_size: int | None = None,
                     data_path: str | None = None, max_examples: int = 0,
                     weights: str | None = None, inception_size: int | None = None) -> str:
  """What the command line does; returns the line it prints."""
  config = load_data_config(data)
  if split:
    config.data.split = split
  if image_size:
    config.model.image_size = image_size
  if data_path:
    config.data.path = data_path
  options = dict(weights=weights, size=inception_size) if features == 'inception' else {}
  space = features_lib.get_features(features, **options)
  result = reference(config, space, max_examples)
  if out:
    fid.save_statistics(out, result['mu'], result['sigma'])
  return (f'{len(result["features"])} {config.data.name}/{config.data.split} images, '
          f'{space.key} features: {cache_path(config, space, max_examples)}'
          + (f' -> {out}' if out else ''))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  print(write_statistics(FLAGS.data, FLAGS.features, FLAGS.out, FLAGS.split, FLAGS.image_size,
                         FLAGS.data_path, FLAGS.max_examples, FLAGS.weights,
                         FLAGS.inception_size))


if __name__ == '__main__':
  # The command line starts as every tool's does; the library above imports nothing of run/.
  from jaxgan.run import cli  # pylint: disable=g-import-not-at-top
  cli.run(main, define_flags)
