"""`--config`: an experiment config file by path from any directory, or a shipped one by name.

  --config=dcgan_digits                 the shipped configs/dcgan_digits.py (no `.py`, no slash)
  --config=configs/dcgan_digits.py      that file if it exists here, else the shipped one
  --config=/any/where/my_exp.py         any file; `from configs import default` works in it,
                                        since `configs` is installed with jaxgan
  --config=my_exp.py:arg                everything after ':' goes to get_config(arg), as in
                                        ml_collections

Every tool that takes a config (main, evaluate --samples, benchmark, metrics.stats --data)
defines it with `define_config_flag`, so all of them resolve it the same way.
"""

import importlib.util
import os

from absl import flags
from ml_collections import config_flags

import configs as shipped_configs  # Installed with jaxgan (pyproject.toml).

SHIPPED_DIR = os.path.dirname(os.path.abspath(shipped_configs.__file__))


def shipped_names() -> list[str]:
  """The experiments that ship with the package: configs/<name>.py."""
  names = (f[:-3] for f in os.listdir(SHIPPED_DIR) if f.endswith('.py'))
  # default.py, sr_default.py, ...: shared defaults that experiments build on.
  return sorted(n for n in names if n != '__init__' and not n.endswith('default'))


def shipped_path(name: str) -> str:
  return os.path.join(SHIPPED_DIR, f'{name}.py')


def is_name(value: str) -> bool:
  """A bare name (no '.py', no directory) means a shipped config."""
  return not value.endswith('.py') and os.sep not in value and '/' not in value


def resolve_path(path: str) -> str:
  """The config file that `path` (a path, or a shipped config's name) means."""
  if is_name(path):
    if os.path.isfile(shipped_path(path)):
      return shipped_path(path)
    raise ValueError(f'no shipped config {path!r}: give a config file (.py) or one of '
                     f'{shipped_names()}.')
  if os.path.isfile(path):
    return path
  # The commands of the README and the configs' docstrings, run outside the repository.
  head, tail = os.path.split(os.path.normpath(path))
  if head == 'configs' and os.path.isfile(os.path.join(SHIPPED_DIR, tail)):
    return os.path.join(SHIPPED_DIR, tail)
  raise ValueError(f'no config file {path!r} (relative to {os.getcwd()}); or name a shipped '
                   f'config: {shipped_names()}.')


def resolve(value: str) -> str:
  """resolve_path of the file part of `value`, keeping ml_collections' `:argument`."""
  path, colon, argument = value.partition(':')
  return resolve_path(path) + colon + argument


class ResolvingParser(flags.ArgumentParser):
  """ml_collections' config file parser, given the resolved path."""

  def __init__(self, parser: flags.ArgumentParser):
    self.parser = parser

  def parse(self, argument):
    return self.parser.parse(resolve(argument))

  def flag_type(self):
    return self.parser.flag_type()


def define_config_flag(name: str = 'config', default: str | None = None,
                       help_string: str = 'Experiment config: a file (.py), or the name of a '
                       'shipped one (e.g. dcgan_digits).', lock_config: bool = True):
  """config_flags.DEFINE_config_file, with names and paths resolved as this module says."""
  holder = config_flags.DEFINE_config_file(
      name, None if default is None else resolve(default), help_string, lock_config=lock_config)
  flag = flags.FLAGS[name]
  flag.parser = ResolvingParser(flag.parser)
  return holder


def load(value: str):
  """get_config() of the config `value` names (a path or a shipped name), not from a flag."""
  path, colon, argument = value.partition(':')
  spec = importlib.util.spec_from_file_location('loaded_config', resolve_path(path))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(*([argument] if colon else []))
