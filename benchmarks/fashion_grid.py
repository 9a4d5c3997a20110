"""An 8x8 grid of samples beside 64 real test images (32 px, as training prepared them).

  python benchmarks/fashion_grid.py --samples=S.npz --out=docs/fashion_dcgan_vs_real.png

S.npz holds `samples` (uint8, N x 32 x 32 x 1), as `python -m jaxgan.sample --out=S.npz` writes.
"""

import argparse

import numpy as np
from PIL import Image

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


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--samples', required=True)
  parser.add_argument('--out', required=True)
  args = parser.parse_args()
  samples = np.load(args.samples)['samples'][:64, ..., 0]
  real = np.asarray(fashion_mnist.prepared('test', samples.shape[1])[0])[:64]  # (images, ...)
  real = real[..., 0] if real.ndim == 4 else real
  left, right = grid(samples), grid(real)
  both = np.concatenate([left, np.full((left.shape[0], 12), 255, np.uint8), right], axis=1)
  Image.fromarray(both).resize((both.shape[1] * 2, both.shape[0] * 2), Image.NEAREST).save(args.out)
  print(f'{args.out}: samples (left), real test images (right)')


if __name__ == '__main__':
  main()
