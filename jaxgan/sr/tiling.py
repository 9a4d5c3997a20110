"""Super-resolution of arbitrarily large images with bounded memory, by overlapping tiles.

Every tile has the same shape, so a jitted `apply_fn` compiles once. Tiles overlap by
`overlap` LR pixels; each output pixel is taken from a tile in which it lies at least
overlap // 2 LR pixels away from any tile edge that is not also an image edge. Tiles at
the image border sit flush with it (they are shifted inwards rather than padded), so the
network sees the same border as in a whole-image pass. Hence, for a network whose receptive
field reaches at most overlap // 2 LR pixels, the result equals the whole-image result
(up to float rounding), and exactly so for a pixel-local function. A wider receptive field
only changes pixels within overlap * scale / 2 HR pixels of the seams between tiles.

An image smaller than a tile along an axis is reflect-padded up to the tile size there;
pixels near that padded edge then see reflected rather than zero-padded context.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _tile_starts(length: int, tile: int, stride: int) -> list[int]:
  """Start offsets covering [0, length) with the last tile flush with the end."""
  if length <= tile:
    return [0]
  starts = list(range(0, length - tile, stride))
  return starts + [length - tile]


def _kept_ranges(starts: list[int], length: int, tile: int, overlap: int):
  """[lo, hi) of the LR pixels each tile contributes; seams sit overlap // 2 into a tile."""
  bounds = [0] + [s + overlap // 2 for s in starts[1:]] + [length]
  return list(zip(bounds[:-1], bounds[1:]))


def upscale_tiled(apply_fn: Callable[[np.ndarray], np.ndarray], lr_image: np.ndarray,
                  scale: int, tile: int = 128, overlap: int = 16,
                  batch_size: int = 1) -> np.ndarray:
  """Upscales an (H, W, C) image by running `apply_fn` on overlapping (tile, tile) LR tiles.

  Args:
    apply_fn: NHWC LR batch (batch_size, tile, tile, C) -> NHWC SR batch
      (batch_size, tile * scale, tile * scale, C'), e.g. a jitted generator in eval mode.
    lr_image: (H, W, C) float image of any size.
    scale: the upscaling factor of `apply_fn`.
    tile: LR tile side; memory grows with tile**2 * batch_size, not with the image.
    overlap: LR pixels shared by neighbouring tiles; must be < tile.
    batch_size: tiles per `apply_fn` call (the last call is padded by repeating a tile).

  Returns:
    (H * scale, W * scale, C') float32 array.
  """
  lr = np.asarray(lr_image, np.float32)
  if lr.ndim != 3:
    raise ValueError(f'expected an (H, W, C) image, got shape {lr.shape}')
  if not 0 <= overlap < tile:
    raise ValueError(f'need 0 <= overlap < tile, got overlap={overlap}, tile={tile}')
  h, w = lr.shape[:2]
  if h < tile or w < tile:
    pad = ((0, max(0, tile - h)), (0, max(0, tile - w)), (0, 0))
    lr = np.pad(lr, pad, mode='reflect' if min(h, w) > 1 else 'edge')

  stride = tile - overlap
  rows = _tile_starts(h, tile, stride)
  cols = _tile_starts(w, tile, stride)
  row_ranges = _kept_ranges(rows, h, tile, overlap)
  col_ranges = _kept_ranges(cols, w, tile, overlap)
  jobs = [(r, c, rr, cr) for r, rr in zip(rows, row_ranges) for c, cr in zip(cols, col_ranges)]

  out = None
  for first in range(0, len(jobs), batch_size):
    chunk = jobs[first:first + batch_size]
    batch = np.stack([lr[r:r + tile, c:c + tile] for r, c, _, _ in chunk])
    if len(chunk) < batch_size:  # keep one shape, hence one compilation
      batch = np.concatenate([batch, np.repeat(batch[-1:], batch_size - len(chunk), 0)])
    sr = np.asarray(apply_fn(batch), np.float32)
    if sr.shape[1:3] != (tile * scale, tile * scale):
      raise ValueError(f'apply_fn returned {sr.shape}, expected tiles of {tile * scale}')
    if out is None:
      out = np.empty((h * scale, w * scale, sr.shape[-1]), np.float32)
    for tile_sr, (r, c, (r0, r1), (c0, c1)) in zip(sr, chunk):
      out[r0 * scale:r1 * scale, c0 * scale:c1 * scale] = tile_sr[
          (r0 - r) * scale:(r1 - r) * scale, (c0 - c) * scale:(c1 - c) * scale]
  return out
