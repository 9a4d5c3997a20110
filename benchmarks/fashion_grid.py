"""Samples beside real test images (32 px, as training prepared them).

  python benchmarks/fashion_grid.py --samples=S.npz --out=docs/fashion_dcgan_vs_real.png
  python benchmarks/fashion_grid.py --table=runs/fashion_table --out=docs/fashion_table.png

The first: an 8x8 grid of S.npz's samples (`samples`, uint8 N x 32 x 32 x 1, as
`python -m jaxgan.sample --out=S.npz` writes) beside 64 real test images. The second: one row of
20 samples per config of a fashion_table.py run (its <name>/samples.npz, in table.json's order;
conditional configs' samples are balanced over the classes, so 0..9 twice), real images last.
"""

import argparse
import json
import os

import numpy as np
from PIL import Image, ImageDraw

from jaxgan.data import fashion_mnist


def grid(images: np.ndarray, columns: int = 8, pad: int = 2) -> np.ndarray:
  """images (64, h, w) uint8 as one white-padded mosaic."""
  n, h, w = images.shape
  rows = -(-n // columns)
  out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad), 255, np.uint8)
  for i, image in enumerate(images):
    r, c = divmod(i, columns)
    out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = image
  return out


def real_test_images(size: int) -> np.ndarray:
  real = np.asarray(fashion_mnist.prepared('test', size)[0])
  return real[..., 0] if real.ndim == 4 else real


def table_rows(table_dir: str, per_row: int = 20, label_width: int = 170) -> np.ndarray:
  """One labelled row of `per_row` samples per config of a fashion_table.py run, then real."""
  with open(os.path.join(table_dir, 'table.json')) as f:
    names = list(json.load(f))
  rows = [(name, np.load(os.path.join(table_dir, name, 'samples.npz'))['samples'][:per_row, ..., 0])
          for name in names]
  rows.append(('real test images', real_test_images(rows[0][1].shape[1])[:per_row]))
  strips = []
  for name, images in rows:
    strip = grid(images, columns=per_row)
    label = Image.new('L', (label_width, strip.shape[0]), 255)
    ImageDraw.Draw(label).text((4, strip.shape[0] // 2 - 6), name, fill=0)
    strips.append(np.concatenate([np.asarray(label), strip], axis=1))
  return np.concatenate(strips, axis=0)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--samples')
  parser.add_argument('--table')
  parser.add_argument('--out', required=True)
  args = parser.parse_args()
  if bool(args.samples) == bool(args.table):
    parser.error('give one of --samples=S.npz or --table=DIR')
  if args.table:
    mosaic = table_rows(args.table)
    Image.fromarray(mosaic).resize((mosaic.shape[1] * 2, mosaic.shape[0] * 2),
                                   Image.NEAREST).save(args.out)
    print(f'{args.out}: one row per config of {args.table}, real test images last')
    return
  samples = np.load(args.samples)['samples'][:64, ..., 0]
  real = real_test_images(samples.shape[1])[:64]
  left, right = grid(samples), grid(real)
  both = np.concatenate([left, np.full((left.shape[0], 12), 255, np.uint8), right], axis=1)
  Image.fromarray(both).resize((both.shape[1] * 2, both.shape[0] * 2), Image.NEAREST).save(args.out)
  print(f'{args.out}: samples (left), real test images (right)')


if __name__ == '__main__':
  main()
