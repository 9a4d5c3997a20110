"""The local cache of weights and statistics: `$JAXGAN_CACHE`, default `~/.cache/jaxgan`.

Nothing is downloaded at run time. Pretrained weights (FID Inception, VGG19) are put here by
hand once and converted to `.npz`; derived files (the digits classifier, FID reference
statistics) are written here on first use. Writes are atomic (write, then rename), so a crash
or a concurrent process never leaves or reads half a file.
"""

from __future__ import annotations

import os
import pathlib
import tempfile
from collections.abc import Mapping

import numpy as np


class WeightsNotFoundError(FileNotFoundError):
  """Pretrained weights are not on disk; the message says what to download and where."""


def cache_dir() -> pathlib.Path:
  return pathlib.Path(os.environ.get('JAXGAN_CACHE') or '~/.cache/jaxgan').expanduser()


def save_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> pathlib.Path:
  """np.savez(path, **arrays), atomically."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix='.tmp')
  try:
    with os.fdopen(fd, 'wb') as f:
      np.savez(f, **arrays)
    os.replace(tmp, path)
  except BaseException:
    os.unlink(tmp)
    raise
  return path
