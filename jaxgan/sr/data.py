"""SR training pairs through grain: HR crops (flips, 90-degree rotations) and MATLAB-bicubic LR.

A source is a random-access list of uint8 HxWx3 HR images. Each pipeline element picks one
image (shuffled per epoch from the seed) and cuts one random `image_size` crop out of it with
`photos.random_sr_crop`, so a small set of large photos still yields endless distinct pairs.
LR is made from the crop with MATLAB's antialiased bicubic `imresize` (the same kernel the
evaluation uses) in uint8, as SR benchmarks store their LR images.
"""

from collections.abc import Callable

import grain
import ml_collections
import numpy as np

from jaxgan.data import photos
from jaxgan.data.errors import DataError
from jaxgan.data.sources import Source, list_images, load_image


def _image_source(images: list[np.ndarray]) -> Source:
  return Source(lambda i: images[i], len(images))


def photos_source(config: ml_collections.ConfigDict) -> Source:
  del config
  return _image_source([p.image for p in photos.train_photos()])


def folder_source(config: ml_collections.ConfigDict) -> Source:
  files = list_images(config.data.path)
  return Source(lambda i: load_image(files[i], 3), len(files))


def div2k_source(config: ml_collections.ConfigDict) -> Source:
  """TFDS `div2k/bicubic_x4` HR images (its LR images are not used: we make our own)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  name, data_dir = 'div2k/bicubic_x4', config.data.tfds_dir or None
  try:
    source = tfds.data_source(name, split=config.data.split, data_dir=data_dir, download=False)
  except Exception as e:  # TFDS raises several types for "not prepared".
    raise DataError(
        f'TFDS data set {name!r} (split {config.data.split!r}) is not prepared in '
        f'{data_dir or "~/tensorflow_datasets"}. Prepare it once with:  tfds build {name} '
        f'--file_format=array_record{" --data_dir=" + data_dir if data_dir else ""}  '
        f'Or train on a folder of HR images with --config.data.name=folder '
        f'--config.data.path=DIR. ({type(e).__name__}: {e})') from None
  return Source(lambda i: np.asarray(source[i]['hr'], np.uint8), len(source))


HR_SOURCES: dict[str, Callable[[ml_collections.ConfigDict], Source]] = {
    'photos': photos_source,
    'folder': folder_source,
    'div2k': div2k_source,
}


def build_source(config: ml_collections.ConfigDict) -> Source:
  if config.data.name not in HR_SOURCES:
    raise DataError(f'Unknown data.name={config.data.name!r} for task sr; valid names: '
                    f'{sorted(HR_SOURCES)}.')
  return HR_SOURCES[config.data.name](config)


def make_crop_fn(crop: int, scale: int):
  def crop_pair(image: np.ndarray, rng: np.random.Generator) -> dict:
    if min(image.shape[:2]) < crop:
      raise DataError(f'An HR image of {image.shape[0]}x{image.shape[1]} is smaller than the '
                      f'{crop}x{crop} crop (model.image_size). Remove it or lower the crop.')
    lr, hr = photos.random_sr_crop(image, rng, crop=crop, scale=scale)
    return {'lr': lr, 'hr': hr}
  return crop_pair


def build_dataset(config: ml_collections.ConfigDict, source: Source, process_index: int = 0,
                  process_count: int = 1) -> grain.MapDataset:
  """Infinite host-local batches {'lr': (B, h, w, 3) in [0, 1], 'hr': (B, H, W, 3) in [-1, 1]}.

  Shuffling and cropping happen on the global stream before each host takes its slice, so a
  global step sees the same pairs on any number of hosts.
  """
  ds = grain.MapDataset.source(source)
  if config.data.max_examples:
    ds = ds[:config.data.max_examples]
  ds = ds.seed(config.seed).shuffle().repeat()
  ds = ds.random_map(make_crop_fn(config.model.image_size, config.model.scale))
  ds = ds[process_index::process_count]
  return ds.batch(config.batch_size // process_count, drop_remainder=True)
