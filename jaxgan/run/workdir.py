"""The run's config in its workdir: written at start, read back by resume and the tools."""

import json
import os

import ml_collections


def write_config(workdir: str, config: ml_collections.ConfigDict) -> None:
  with open(os.path.join(workdir, 'config.json'), 'w') as f:
    json.dump(config.to_dict(), f, indent=2, sort_keys=True)


def load_config(workdir: str) -> ml_collections.ConfigDict:
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    raise FileNotFoundError(f'{path} not found: is {workdir!r} the --workdir of a training run?')
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))
