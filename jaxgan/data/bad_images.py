"""Unreadable files in an image folder: skipped with a counted warning, or a clear failure.

A truncated JPEG in a folder of 30,000 should not end a run, nor be trained on silently. With
`data.bad_images='skip'` an unreadable file is replaced by the next readable one (always the
same one, so runs stay reproducible) and each skipped file is logged once with the running
count; with 'fail' the first one stops the run with its path.
"""

import threading
from typing import Callable

import numpy as np
from absl import logging

from jaxgan.data.errors import DataError

POLICIES = ('skip', 'fail')


class TolerantLoader:
  """loader(i) -> the image of files[i], or of the next readable file after it."""

  def __init__(self, files: list[str], load: Callable[[str], np.ndarray], policy: str):
    if policy not in POLICIES:
      raise DataError(f'Unknown data.bad_images={policy!r}; valid policies: {list(POLICIES)}.')
    self.files, self.load, self.policy = files, load, policy
    self.skipped: set[str] = set()
    self._lock = threading.Lock()  # grain decodes in several threads.

  def __call__(self, index: int) -> np.ndarray:
    for offset in range(len(self.files)):
      path = self.files[(index + offset) % len(self.files)]
      try:
        return self.load(path)
      except DataError as e:
        if self.policy == 'fail':
          raise DataError(f'{e} Or set --config.data.bad_images=skip to skip such files.'
                          ) from None
        self._skip(path, e)
    raise DataError(f'None of the {len(self.files)} image files can be decoded (e.g. '
                    f'{self.files[0]!r}): check the folder given by --config.data.path.')

  def _skip(self, path: str, error: DataError) -> None:
    with self._lock:
      if path in self.skipped:
        return
      self.skipped.add(path)
      count = len(self.skipped)
    logging.warning('Skipping unreadable image %d of %d: %s', count, len(self.files), error)
