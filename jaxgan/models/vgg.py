"""VGG19 features up to conv5_4 and the SRGAN perceptual (VGG) loss.

SRGAN's content loss l_VGG/5.4 (Ledig et al. 2017, eq. 5) is the MSE between phi_{5,4}
feature maps of the SR and HR images: the 4th convolution before the 5th max-pool. The paper
takes it *after* the ReLU. ESRGAN (Wang et al. 2018) showed that features *before* the
activation are denser (only ~11% of conv5_4 units are active after it) and give better
brightness and texture; that is our default (`pre_activation=True`), and
`pre_activation=False` is the paper's definition. The paper rescales the feature maps by
1/12.75 so the loss has a magnitude comparable to the pixel MSE.

Pretrained weights cannot be downloaded at run time. `load_vgg19_params` converts a local
torchvision `vgg19-dcbffe22.pth` (needs torch) or Keras
`vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5` (needs h5py) once into an `.npz` in the
cache directory (`$JAXGAN_CACHE`, default `~/.cache/jaxgan`) and loads that thereafter.

The two sources expect different inputs (torchvision: RGB in [0, 1] standardised by the
ImageNet mean/std; Keras, ported from Caffe: BGR in [0, 255] minus the ImageNet mean). The
converters express both as per-channel `mean`/`std` for an RGB [0, 1] input (for Keras the
first kernel's input channels are flipped from BGR to RGB), so one module serves both.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxgan.cache import WeightsNotFoundError, cache_dir, save_npz

# Channels per conv, 'M' = 2x2 max-pool; VGG19 configuration 'E', stopping at conv5_4.
_CONFIG = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M',
           512, 512, 512, 512, 'M', 512, 512, 512, 512)
# conv{block}_{index} names in order, e.g. 'conv1_1', ..., 'conv5_4'.
LAYER_NAMES = tuple(f'conv{b}_{i}' for b, n in zip(range(1, 6), (2, 2, 4, 4, 4))
                    for i in range(1, n + 1))
# Indices of the convolutions in torchvision's `vgg19().features` Sequential.
TORCHVISION_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)

IMAGENET_MEAN_RGB = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD_RGB = np.array([0.229, 0.224, 0.225], np.float32)
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], np.float32)  # Keras 'caffe' mode

TORCHVISION_FILE = 'vgg19-dcbffe22.pth'
TORCHVISION_URL = f'https://download.pytorch.org/models/{TORCHVISION_FILE}'
KERAS_FILE = 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5'
KERAS_URL = ('https://storage.googleapis.com/tensorflow/keras-applications/vgg19/'
             + KERAS_FILE)


class Normalization(nnx.Variable):
  """Fixed input statistics: part of the model state, but not a trainable Param."""


class VGG19Features(nnx.Module):
  """phi_{5,4}: (N, H, W, 3) RGB in [0, 1] -> (N, H/16, W/16, 512).

  Freshly constructed, the weights are random (for tests); use `pretrained_vgg19` or
  `set_params` for the ImageNet weights.
  """

  def __init__(self, *, pre_activation: bool = True, rngs: nnx.Rngs):
    self.pre_activation = pre_activation
    self.mean = Normalization(jnp.asarray(IMAGENET_MEAN_RGB))
    self.std = Normalization(jnp.asarray(IMAGENET_STD_RGB))
    convs, in_features = [], 3
    for entry in _CONFIG:
      if entry != 'M':
        convs.append(nnx.Conv(in_features, entry, (3, 3), padding=1, rngs=rngs))
        in_features = entry
    self.convs = nnx.List(convs)

  def __call__(self, x: jax.Array) -> jax.Array:
    x = (x - self.mean[...]) / self.std[...]
    convs = iter(self.convs)
    for i, entry in enumerate(_CONFIG):
      if entry == 'M':
        x = nnx.max_pool(x, (2, 2), strides=(2, 2))
        continue
      x = next(convs)(x)
      if i < len(_CONFIG) - 1 or not self.pre_activation:
        x = nnx.relu(x)
    return x

  def set_params(self, params: Mapping[str, np.ndarray]) -> None:
    """Loads a dict as returned by `load_vgg19_params` (shapes are checked)."""
    for name, conv in zip(LAYER_NAMES, self.convs):
      for attr in ('kernel', 'bias'):
        _assign(getattr(conv, attr), params[f'{name}/{attr}'], f'{name}/{attr}')
    _assign(self.mean, params['mean'], 'mean')
    _assign(self.std, params['std'], 'std')


def _assign(variable: nnx.Variable, value: np.ndarray, name: str) -> None:
  if tuple(variable.shape) != tuple(value.shape):
    raise ValueError(f'{name}: expected shape {variable.shape}, got {value.shape}')
  variable.set_value(jnp.asarray(value, variable.dtype))  # also fills abstract variables


def perceptual_loss(vgg: VGG19Features, sr: jax.Array, hr: jax.Array, *,
                    feature_scale: float = 1 / 12.75,
                    input_range: tuple[float, float] = (-1.0, 1.0)) -> jax.Array:
  """SRGAN's VGG content loss: mean((phi(sr) * s - phi(hr) * s)^2), s = 1/12.75.

  `sr` and `hr` are NHWC RGB images in `input_range` (the generator's [-1, 1] by default).
  Gradients flow to `sr` only through the (frozen, by convention) VGG.
  """
  lo, hi = input_range
  to_unit = lambda x: (x - lo) / (hi - lo)
  features = vgg(jnp.concatenate([to_unit(sr), to_unit(hr)], axis=0)) * feature_scale
  f_sr, f_hr = jnp.split(features, 2, axis=0)
  return jnp.mean((f_sr - jax.lax.stop_gradient(f_hr)) ** 2)


# ---------------------------------------------------------------- weight conversion (pure)

def convert_torchvision_vgg19(state_dict: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
  """torchvision `vgg19().state_dict()` (as numpy) -> our flat param dict.

  Kernels go from torch's OIHW to flax's HWIO; classifier.* entries are ignored.
  """
  params = {}
  for name, index in zip(LAYER_NAMES, TORCHVISION_INDICES):
    weight = np.asarray(state_dict[f'features.{index}.weight'], np.float32)
    params[f'{name}/kernel'] = weight.transpose(2, 3, 1, 0)
    params[f'{name}/bias'] = np.asarray(state_dict[f'features.{index}.bias'], np.float32)
  params['mean'], params['std'] = IMAGENET_MEAN_RGB.copy(), IMAGENET_STD_RGB.copy()
  return params


def convert_keras_vgg19(weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
  """Keras VGG19 h5 datasets {'block1_conv1/<kernel or bias name>': array} -> our param dict.

  Kernels are already HWIO; kernel and bias are told apart by rank, which covers both the
  Keras 1 names ('block1_conv1_W_1:0') and the Keras 2 names ('kernel:0'). The Caffe
  preprocessing (BGR, [0, 255], mean subtraction) becomes mean = caffe_mean / 255,
  std = 1 / 255 on RGB input, and the first kernel's input channels are reversed.
  """
  groups: dict[str, dict[str, np.ndarray]] = {}
  for key, value in weights.items():
    layer = key.split('/')[0]
    groups.setdefault(layer, {})['kernel' if np.ndim(value) == 4 else 'bias'] = value
  params = {}
  for name in LAYER_NAMES:
    block, index = name[4:].split('_')
    layer = groups[f'block{block}_conv{index}']
    params[f'{name}/kernel'] = np.asarray(layer['kernel'], np.float32)
    params[f'{name}/bias'] = np.asarray(layer['bias'], np.float32)
  params['conv1_1/kernel'] = params['conv1_1/kernel'][:, :, ::-1, :].copy()  # BGR -> RGB
  params['mean'] = (CAFFE_MEAN_BGR[::-1] / 255.0).astype(np.float32)
  params['std'] = np.full(3, 1 / 255.0, np.float32)
  return params


# ---------------------------------------------------------------- files and the cache

def _read_torch(path: pathlib.Path) -> dict[str, np.ndarray]:
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError(f'converting {path} needs PyTorch once: pip install "jaxgan[torch]" '
                      '(afterwards the converted .npz is used and torch is not needed)') from e
  state_dict = torch.load(path, map_location='cpu', weights_only=True)
  return {k: v.numpy() for k, v in state_dict.items()}


def _read_h5(path: pathlib.Path) -> dict[str, np.ndarray]:
  try:
    import h5py  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError(f'converting {path} needs h5py once: pip install h5py') from e
  weights = {}
  with h5py.File(path, 'r') as f:
    f.visititems(lambda name, obj: weights.__setitem__(name, obj[()])
                 if isinstance(obj, h5py.Dataset) else None)
  return weights


def _convert_file(path: pathlib.Path) -> dict[str, np.ndarray]:
  if path.suffix == '.h5':
    return convert_keras_vgg19(_read_h5(path))
  return convert_torchvision_vgg19(_read_torch(path))


def load_vgg19_params(path: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
  """Pretrained VGG19 params from `path` (.npz, .pth or .h5) or from the cache directory.

  A .pth/.h5 is converted once to `<cache>/<file stem>.npz`, which later calls load
  directly. With `path=None` the cache is searched for the torchvision file first.
  """
  cache = cache_dir()
  if path is None:
    for name in (TORCHVISION_FILE, KERAS_FILE):
      for candidate in (cache / pathlib.Path(name).with_suffix('.npz').name, cache / name):
        if candidate.exists():
          return load_vgg19_params(candidate)
    raise WeightsNotFoundError(
        f'VGG19 weights not found in {cache} (set $JAXGAN_CACHE to change it). Download '
        f'{TORCHVISION_URL} (needs torch once, to convert) or {KERAS_URL} (needs h5py) into '
        f'that directory, or pass its path.')
  path = pathlib.Path(path).expanduser()
  if path.suffix == '.npz':
    if not path.exists():
      raise WeightsNotFoundError(f'{path} does not exist')
    with np.load(path) as data:
      return dict(data)
  converted = cache / path.with_suffix('.npz').name
  if converted.exists():
    return load_vgg19_params(converted)
  if not path.exists():
    raise WeightsNotFoundError(
        f'{path} does not exist. Download {TORCHVISION_URL} or {KERAS_URL} and put it there '
        f'or in {cache}.')
  params = _convert_file(path)
  try:
    save_npz(converted, params)
  except OSError:  # a read-only cache only costs a re-conversion next time
    pass
  return params


def pretrained_vgg19(path: str | os.PathLike | None = None, *,
                     pre_activation: bool = True) -> VGG19Features:
  """VGG19Features with ImageNet weights (see `load_vgg19_params` for `path`)."""
  params = load_vgg19_params(path)
  vgg = nnx.eval_shape(lambda: VGG19Features(pre_activation=pre_activation, rngs=nnx.Rngs(0)))
  vgg.set_params(params)
  return vgg
