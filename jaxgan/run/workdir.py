"""The run's workdir: a local folder or a cloud URL (gs://...), read and written through
etils.epath, Orbax's own path type; and the run's config in it (config.json)."""

import json
import os

import ml_collections
from etils import epath


def path(workdir: epath.PathLike) -> epath.Path:
  """`workdir` as an epath.Path: local paths stay relative to the cwd, URLs stay URLs."""
  return epath.Path(workdir)


def is_url(workdir: epath.PathLike) -> bool:
  return '://' in os.fspath(workdir)


def absolute(workdir: epath.PathLike) -> epath.Path:
  """A local path made absolute (Orbax needs that); a URL as it is: os.path.abspath would turn
  gs://b/x into <cwd>/gs:/b/x, a local folder on every host."""
  return path(workdir) if is_url(workdir) else path(os.path.abspath(workdir))


def write_config(workdir: epath.PathLike, config: ml_collections.ConfigDict) -> None:
  (path(workdir) / 'config.json').write_text(
      json.dumps(config.to_dict(), indent=2, sort_keys=True))


def load_config(workdir: epath.PathLike) -> ml_collections.ConfigDict:
  config_path = path(workdir) / 'config.json'
  if not config_path.exists():
    raise FileNotFoundError(f'{config_path} not found: is {os.fspath(workdir)!r} the --workdir '
                            'of a training run?')
  return ml_collections.ConfigDict(json.loads(config_path.read_text()))
