"""Feature spaces for distribution metrics: generated or real images -> (features, logits).

`inception` is the FID Inception-v3 (pool3 features for FID/KID, logits for IS); `digits` is the
package's digits classifier (offline, no downloaded weights). Both take images in model space
(float NHWC in [-1, 1], 1 or 3 channels) and remember their last input, so FID, KID and IS of
one set of samples run the network once.
"""

from __future__ import annotations

import functools
import os

import numpy as np
from flax import nnx

from jaxgan.data.transforms import to_uint8


class _LastInputMemo:
  """Returns the previous result when called again with the very same array object."""

  def __init__(self):
    self._input, self._output = None, None

  def __call__(self, images, compute):
    if images is not self._input:
      self._input, self._output = images, compute(images)
    return self._output


class InceptionFeatures:
  """pool3 features (N, 2048) and logits (N, 1008) of the FID Inception-v3.

  The weights are read when this is built, so a run that asks for FID without weights fails at
  start-up with the message of `jaxgan.models.inception` (where to get the file); the network
  itself is built and compiled on first use. Images are rounded to uint8 first, as every FID
  implementation scores saved PNGs; grayscale is repeated to RGB.
  """

  name = 'inception'

  def __init__(self, weights: str | os.PathLike | None = None, size: int | None = None,
               batch_size: int = 50):
    from jaxgan.models import inception  # pylint: disable=g-import-not-at-top
    self._params = inception.load_inception_params(weights or None)
    self.size = size or inception.INPUT_SIZE  # Other sizes only for tests: FID is at 299.
    self.batch_size = batch_size
    self._memo = _LastInputMemo()

  @functools.cached_property
  def _extractor(self):
    from jaxgan.models import inception  # pylint: disable=g-import-not-at-top
    model = nnx.eval_shape(lambda: inception.InceptionV3(rngs=nnx.Rngs(0)))
    inception.load_params(model, self._params)
    return inception.InceptionExtractor(model, batch_size=self.batch_size, size=self.size)

  @property
  def key(self) -> str:
    """Names the statistics cache: features depend on the input size."""
    return 'inception' if self.size == 299 else f'inception{self.size}'

  def __call__(self, images) -> tuple[np.ndarray, np.ndarray]:
    def compute(images):
      pixels = to_uint8(images)
      if pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
      return self._extractor(pixels)
    return self._memo(images, compute)


class DigitsFeatures:
  """Penultimate features (N, 128) and logits (N, 10) of the digits classifier."""

  name = key = 'digits'

  def __init__(self, **unused):
    del unused
    self._memo = _LastInputMemo()

  @functools.cached_property
  def classifier(self):
    from jaxgan.metrics import classifier  # pylint: disable=g-import-not-at-top
    # One classifier (cached on disk) judges every run; other sizes are resized to it.
    return classifier.load_digits_classifier()

  def __call__(self, images) -> tuple[np.ndarray, np.ndarray]:
    def compute(images):
      images = np.asarray(images, np.float32)
      if images.shape[-1] != 1:
        raise ValueError(f'digits features need 1-channel images, got shape {images.shape}')
      return self.classifier.features(images), self.classifier.logits(images)
    return self._memo(images, compute)


FEATURES = {'inception': InceptionFeatures, 'digits': DigitsFeatures}


def get_features(name: str, **options):
  if name not in FEATURES:
    raise ValueError(f'Unknown feature space {name!r}; valid names: {sorted(FEATURES)}.')
  return FEATURES[name](**options)
