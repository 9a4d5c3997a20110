"""Random-access data sources by name; each example is {'image': float32 in [-1, 1], 'label'}.

A source decodes, crops and resizes one example at a time, so grain can shuffle, shard and
parallelise it. Embedded sources (digits, ring8, grid25) hold their data in memory and need no
download; TFDS and image-folder sources fail at start-up with the command or path that fixes it.
"""

import dataclasses
import os
from typing import Any, Callable, Sequence

import ml_collections
import numpy as np
from absl import logging
from PIL import Image

from jaxgan.data import bad_images, gaussians, transforms
from jaxgan.data.errors import DataError

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp')

CIFAR10_CLASSES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse',
                   'ship', 'truck')


@dataclasses.dataclass
class Source:
  """`len(source)` examples, `source[i]` -> {'image': float32 array, 'label': int32}."""
  getter: Callable[[int], dict]
  size: int
  num_classes: int = 0
  class_names: Sequence[str] = ()

  def __len__(self):
    return self.size

  def __getitem__(self, index: int) -> dict:
    return self.getter(int(index))


def array_source(images: np.ndarray, labels: np.ndarray, **kwargs) -> Source:
  return Source(lambda i: {'image': images[i], 'label': labels[i]}, len(images), **kwargs)


def digits(config: ml_collections.ConfigDict) -> Source:
  from jaxgan.data.digits import digits_split  # pylint: disable=g-import-not-at-top
  images, labels = digits_split(config.model.image_size, config.data.split)
  return array_source(images, labels, num_classes=10, class_names=tuple(map(str, range(10))))


def fashion_mnist(config: ml_collections.ConfigDict) -> Source:
  """Fashion-MNIST at model.image_size (jaxgan.data.fashion_mnist): TFDS if prepared, else the
  IDX files in data.path (default: Debian's folder)."""
  from jaxgan.data import fashion_mnist as fm  # pylint: disable=g-import-not-at-top
  if config.model.channels != 1:
    raise DataError(f'Fashion-MNIST is grayscale: set --config.model.channels=1 (got '
                    f'{config.model.channels}).')
  images, labels, origin = fm.prepared(config.data.split, config.model.image_size,
                                       config.data.path, config.data.tfds_dir)
  logging.info('Fashion-MNIST %s: %d images from %s at %d px.', config.data.split, len(images),
               origin, config.model.image_size)
  return Source(lambda i: {'image': transforms.to_unit_range(images[i]), 'label': labels[i]},
                len(images), num_classes=len(fm.CLASS_NAMES), class_names=fm.CLASS_NAMES)


def mixture(name: str) -> Callable[[ml_collections.ConfigDict], Source]:
  def build(config):
    points, component = gaussians.sample_mixture(name, config.data.num_points, config.seed)
    return array_source(points, component)
  return build


def _check_channels(image: np.ndarray, channels: int) -> np.ndarray:
  if image.ndim == 2:
    image = image[..., None]
  if image.shape[-1] == channels:
    return image
  if channels == 1:  # ITU-R 601 luma, as PIL's convert('L').
    return np.round(image[..., :3] @ np.array([0.299, 0.587, 0.114]))[..., None].astype(np.uint8)
  return np.broadcast_to(image[..., :1], image.shape[:2] + (3,)) if image.shape[-1] == 1 else \
      image[..., :3]


def tfds_source(name: str, class_names: Sequence[str] = ()) -> Callable:
  def build(config: ml_collections.ConfigDict) -> Source:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    data_dir = config.data.tfds_dir or None
    try:
      source = tfds.data_source(name, split=config.data.split, data_dir=data_dir, download=False)
    except Exception as e:  # TFDS raises several types for "not prepared".
      where = data_dir or '~/tensorflow_datasets'
      raise DataError(
          f'TFDS data set {name!r} (split {config.data.split!r}) is not prepared in {where}. '
          f'Prepare it once with:  tfds build {name} --file_format=array_record'
          f'{" --data_dir=" + data_dir if data_dir else ""}  (celeb_a needs its files from '
          f'Google Drive; see the TFDS catalog). Or train on an image folder with '
          f'--config.data.name=folder --config.data.path=DIR. ({type(e).__name__}: {e})'
      ) from None
    size, channels = config.model.image_size, config.model.channels

    def get(i):
      example = source[i]
      image = _check_channels(np.asarray(example['image']), channels)
      image = transforms.to_unit_range(transforms.center_crop_resize(image, size))
      return {'image': image, 'label': np.int32(example.get('label', 0))}

    return Source(get, len(source), num_classes=len(class_names), class_names=class_names)
  return build


def list_images(path: str) -> list[str]:
  if not os.path.isdir(path):
    raise DataError(f'Image folder {path!r} does not exist. Set --config.data.path to a folder '
                    f'of {"/".join(IMAGE_EXTENSIONS)} files (searched recursively).')
  files = sorted(
      os.path.join(root, f) for root, _, names in os.walk(path, followlinks=True)
      for f in names if f.lower().endswith(IMAGE_EXTENSIONS))
  if not files:
    raise DataError(f'Image folder {path!r} holds no images ({", ".join(IMAGE_EXTENSIONS)}, '
                    f'searched recursively). Point --config.data.path at the images.')
  return files


def load_image(path: str, channels: int) -> np.ndarray:
  """Decodes any PIL-readable file (grayscale, RGBA, palette) into uint8 HxWxchannels."""
  try:
    with Image.open(path) as im:
      return np.asarray(im.convert('L' if channels == 1 else 'RGB')).reshape(
          im.size[1], im.size[0], channels)
  except (OSError, ValueError, SyntaxError) as e:
    raise DataError(f'Cannot decode image {path!r}: {e}. Delete or replace the file.') from None


def folder_labels(path: str, files: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
  """(int32 label per file, class names) of an image folder, in torchvision ImageFolder's layout.

  With no image directly in `path`, each subfolder holding images (searched recursively) is a
  class, numbered in the sorted order of the names ('10' before '2', as torchvision). Images
  directly in `path` make it unlabelled, subfolders or not: label 0 and no class names.
  """
  parts = [os.path.relpath(f, path).split(os.sep) for f in files]
  if any(len(p) == 1 for p in parts):
    return np.zeros(len(files), np.int32), ()
  names = tuple(sorted({p[0] for p in parts}))
  ids = {name: k for k, name in enumerate(names)}
  return np.array([ids[p[0]] for p in parts], np.int32), names


def folder(config: ml_collections.ConfigDict) -> Source:
  files = list_images(config.data.path)
  labels, class_names = folder_labels(config.data.path, files)
  if class_names:
    logging.info('Image folder %s: %d images in %d classes %s.', config.data.path, len(files),
                  len(class_names), ', '.join(class_names[:10]) + (
                      ', ...' if len(class_names) > 10 else ''))
  label_of = dict(zip(files, labels))
  size, channels = config.model.image_size, config.model.channels
  # A skipped unreadable file is replaced by the next readable one: its label comes with it.
  loader = bad_images.TolerantLoader(files, lambda path: (load_image(path, channels),
                                                          label_of[path]),
                                     config.data.get('bad_images', 'skip'))
  small = []  # Images smaller than the crop are upscaled (bicubic); the first one is logged.

  def get(i):
    image, label = loader(i)
    if min(image.shape[:2]) < size and not small:
      small.append(i)
      logging.warning('Image %s is %dx%d, smaller than model.image_size=%d: upscaling it (and '
                      'any other small image) with bicubic interpolation.', files[i],
                      *image.shape[:2], size)
    image = transforms.center_crop_resize(image, size)
    return {'image': transforms.to_unit_range(image), 'label': label}

  return Source(get, len(files), num_classes=len(class_names), class_names=class_names)


DATASETS: dict[str, Callable[[ml_collections.ConfigDict], Source]] = {
    'digits': digits,
    'ring8': mixture('ring8'),
    'grid25': mixture('grid25'),
    'cifar10': tfds_source('cifar10', CIFAR10_CLASSES),
    'celeb_a': tfds_source('celeb_a'),
    'fashion_mnist': fashion_mnist,
    'folder': folder,
}


def build_source(config: ml_collections.ConfigDict) -> Source:
  if config.data.name not in DATASETS:
    raise DataError(f'Unknown data.name={config.data.name!r}; valid names: {sorted(DATASETS)}.')
  return DATASETS[config.data.name](config)


def describe(source: Source) -> dict[str, Any]:
  return dict(size=len(source), num_classes=source.num_classes)
