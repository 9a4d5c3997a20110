"""Fashion-MNIST (Xiao et al. 2017; MIT licence): 70,000 28x28 grayscale garments, 10 classes.

Read from TFDS's `fashion_mnist` when it is prepared, else from the four IDX files of the
original release (gzip or raw), e.g. Debian's `dataset-fashion-mnist` package. TFDS's own
builder rejects Debian's files (they were recompressed, so its checksums differ), so this
module reads the IDX format itself: a big-endian magic (two zero bytes, type 0x08 = uint8, the
number of dimensions), one big-endian uint32 per dimension, then the data.

Images are prepared for a GAN of any size as torchvision's `Resize` prepares them for
PyTorch-GAN's models: PIL bilinear on the uint8 image, then [-1, 1]. The evaluators prepare the
reference split the same way, so samples and real images meet at the same size and filter.
"""

from __future__ import annotations

import functools
import glob
import gzip
import os

import numpy as np
from PIL import Image

from jaxgan.data.errors import DataError

CLASS_NAMES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
               'Sneaker', 'Bag', 'Ankle boot')
NATIVE_SIZE = 28
DEBIAN_PATH = '/usr/share/datasets/fashion-mnist'  # apt-get install dataset-fashion-mnist
FILES = {  # split -> (images, labels), as the original release names them.
    'train': ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte'),
    'test': ('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'),
}
SIZES = {'train': 60_000, 'test': 10_000}
HOW_TO_GET = (f'apt-get install dataset-fashion-mnist (IDX files in {DEBIAN_PATH}; or set '
              f'--config.data.path to a folder of the four IDX files), or, with internet, '
              f'tfds build fashion_mnist')


def read_idx(path: str, ndim: int) -> np.ndarray:
  """The uint8 array of an IDX file of `ndim` dimensions (3: images, 1: labels)."""
  try:
    with open(path, 'rb') as f:
      raw = f.read()
    if raw[:2] == b'\x1f\x8b':  # gzip magic
      raw = gzip.decompress(raw)
  except (OSError, EOFError) as e:
    raise DataError(f'Cannot read IDX file {path}: {e}. Replace the file ({HOW_TO_GET}).'
                    ) from None
  header = 4 + 4 * ndim
  magic = bytes([0, 0, 0x08, ndim])
  if raw[:4] != magic:
    raise DataError(f'{path} is not an IDX file of {ndim}-D uint8 data: its magic number is '
                    f'{raw[:4].hex() or "missing"}, expected {magic.hex()}. Replace the file '
                    f'({HOW_TO_GET}).')
  dims = tuple(int(d) for d in np.frombuffer(raw[4:header], '>u4')) if len(raw) >= header else ()
  if len(dims) != ndim or len(raw) - header != int(np.prod(dims)):
    raise DataError(f'{path} is truncated or damaged: its header announces dimensions {dims} '
                    f'({int(np.prod(dims)) if dims else "?"} bytes of data), the file holds '
                    f'{max(len(raw) - header, 0)}. Replace the file ({HOW_TO_GET}).')
  return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def _find(folder: str, name: str) -> str | None:
  for candidate in (name + '.gz', name):
    path = os.path.join(folder, candidate)
    if os.path.isfile(path):
      return path
  return None


@functools.cache
def load_idx(folder: str, split: str) -> tuple[np.ndarray, np.ndarray]:
  """(uint8 images (N, 28, 28), int32 labels (N,)) of one split from a folder of IDX files."""
  if split not in FILES:
    raise DataError(f'data.split={split!r} for fashion_mnist: valid splits are {list(FILES)}.')
  paths = [_find(folder, name) for name in FILES[split]]
  if None in paths:
    missing = [n for n, p in zip(FILES[split], paths) if p is None]
    raise DataError(f'Fashion-MNIST is not in {folder!r} (no {" or ".join(missing)}[.gz]) '
                    f'and TFDS has no prepared fashion_mnist. Get it with: {HOW_TO_GET}.')
  images, labels = read_idx(paths[0], 3), read_idx(paths[1], 1)
  if len(images) != len(labels):
    raise DataError(f'{paths[0]} holds {len(images)} images but {paths[1]} {len(labels)} '
                    f'labels: the files do not belong together. Replace them ({HOW_TO_GET}).')
  if labels.size and labels.max() >= len(CLASS_NAMES):
    raise DataError(f'{paths[1]} holds label {labels.max()}; Fashion-MNIST has '
                    f'{len(CLASS_NAMES)} classes. Replace the file ({HOW_TO_GET}).')
  return images, labels.astype(np.int32)


def load_tfds(split: str, data_dir: str | None) -> tuple[np.ndarray, np.ndarray] | None:
  """The split from a prepared TFDS `fashion_mnist`, or None when it is not prepared."""
  root = data_dir or os.environ.get('TFDS_DATA_DIR') or os.path.expanduser('~/tensorflow_datasets')
  # Looked for first: asking TFDS about a half-built folder logs warnings and takes seconds.
  if not glob.glob(os.path.join(root, 'fashion_mnist', '*', 'dataset_info.json')):
    return None
  try:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    builder = tfds.builder('fashion_mnist', data_dir=data_dir)
    if not builder.is_prepared():
      return None
    data = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
  except Exception:  # TFDS missing or broken: fall back on the IDX files.  pylint: disable=broad-except
    return None
  return data['image'][..., 0].astype(np.uint8), data['label'].astype(np.int32)


def load(split: str, path: str = '', tfds_dir: str = '') -> tuple[np.ndarray, np.ndarray, str]:
  """(images uint8 (N, 28, 28), labels int32, where they came from).

  An explicit `path` (a folder of IDX files) is read; otherwise TFDS's prepared fashion_mnist,
  else the Debian folder.
  """
  if not path:
    found = load_tfds(split, tfds_dir or None)
    if found is not None:
      return (*found, f'tfds:fashion_mnist/{split}')
  folder = path or DEBIAN_PATH
  return (*load_idx(folder, split), f'idx:{folder}')


def resize(images: np.ndarray, size: int) -> np.ndarray:
  """uint8 (N, 28, 28) -> uint8 (N, size, size, 1), resized with PIL bilinear (torchvision's
  transforms.Resize on a PIL image, as PyTorch-GAN feeds its models)."""
  if size != images.shape[1]:
    images = np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.BILINEAR))
                       for im in images])
  return images[..., None]


@functools.cache
def prepared(split: str, size: int, path: str = '', tfds_dir: str = ''):
  """(uint8 (N, size, size, 1), labels, origin): a split as training and evaluation see it."""
  images, labels, origin = load(split, path, tfds_dir)
  return resize(images, size), labels, origin
