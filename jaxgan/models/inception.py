"""The FID Inception-v3, exactly as pytorch-fid runs it, as a Flax NNX module (NHWC).

This is the 2015 TensorFlow Inception graph that FID, KID and Inception Score are defined on,
in pytorch-fid's port: torchvision's Inception-v3 with the TF quirks patched back in (average
pools that ignore padding, a max pool in the last block, a 1008-way classifier). Attribute names
follow torchvision's, so a pytorch-fid state dict maps onto the module by a rename and a
transpose (`convert_state_dict`).

Weights cannot be downloaded at run time: `load_inception` reads the pytorch-fid file from a path
or the cache directory and converts it once to `.npz` (the only step that needs torch).
"""

from __future__ import annotations

import functools
import os
import pathlib
from collections.abc import Iterable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxgan.cache import WeightsNotFoundError, cache_dir, save_npz

WEIGHTS_URL = ('https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/'
               'pt_inception-2015-12-05-6726825d.pth')
WEIGHTS_FILE = 'pt_inception-2015-12-05-6726825d.pth'
INPUT_SIZE = 299
MIN_INPUT_SIZE = 75  # Smallest input for which the last block still has a 1x1 map.
FEATURE_DIM = 2048
NUM_LOGITS = 1008

HIGHEST = jax.lax.Precision.HIGHEST


# ---------------------------------------------------------------------------------------------
# The network.


class BasicConv(nnx.Module):
  """torchvision's BasicConv2d: bias-free conv, BatchNorm (TF's eps 1e-3, frozen stats), ReLU."""

  def __init__(self, cin: int, cout: int, kernel, *, stride: int = 1, padding=0,
               precision=HIGHEST, rngs: nnx.Rngs):
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    self.conv = nnx.Conv(cin, cout, (kh, kw), strides=stride, padding=((ph, ph), (pw, pw)),
                         use_bias=False, precision=precision, rngs=rngs)
    self.bn = nnx.BatchNorm(cout, epsilon=1e-3, use_running_average=True, rngs=rngs)

  def __call__(self, x):
    return nnx.relu(self.bn(self.conv(x)))


def _max_pool(x, stride: int, padding: int = 0):
  pad = ((padding, padding), (padding, padding))
  return nnx.max_pool(x, (3, 3), strides=(stride, stride), padding=pad)


def _avg_pool_tf(x):
  # TF's 3x3 same-padded average pool divides by the number of real pixels, not by 9.
  return nnx.avg_pool(x, (3, 3), strides=(1, 1), padding=((1, 1), (1, 1)),
                      count_include_pad=False)


class FIDInceptionA(nnx.Module):
  """Mixed_5b/c/d (35x35)."""

  def __init__(self, cin: int, pool_features: int, *, precision=HIGHEST, rngs: nnx.Rngs):
    conv = functools.partial(BasicConv, precision=precision, rngs=rngs)
    self.branch1x1 = conv(cin, 64, 1)
    self.branch5x5_1 = conv(cin, 48, 1)
    self.branch5x5_2 = conv(48, 64, 5, padding=2)
    self.branch3x3dbl_1 = conv(cin, 64, 1)
    self.branch3x3dbl_2 = conv(64, 96, 3, padding=1)
    self.branch3x3dbl_3 = conv(96, 96, 3, padding=1)
    self.branch_pool = conv(cin, pool_features, 1)

  def __call__(self, x):
    b5 = self.branch5x5_2(self.branch5x5_1(x))
    b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
    bp = self.branch_pool(_avg_pool_tf(x))
    return jnp.concatenate([self.branch1x1(x), b5, b3, bp], axis=-1)


class InceptionB(nnx.Module):
  """Mixed_6a: 35x35 -> 17x17 (unchanged from torchvision)."""

  def __init__(self, cin: int, *, precision=HIGHEST, rngs: nnx.Rngs):
    conv = functools.partial(BasicConv, precision=precision, rngs=rngs)
    self.branch3x3 = conv(cin, 384, 3, stride=2)
    self.branch3x3dbl_1 = conv(cin, 64, 1)
    self.branch3x3dbl_2 = conv(64, 96, 3, padding=1)
    self.branch3x3dbl_3 = conv(96, 96, 3, stride=2)

  def __call__(self, x):
    b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
    return jnp.concatenate([self.branch3x3(x), b3, _max_pool(x, 2)], axis=-1)


class FIDInceptionC(nnx.Module):
  """Mixed_6b/c/d/e (17x17) with factorised 7x7 convolutions."""

  def __init__(self, cin: int, channels_7x7: int, *, precision=HIGHEST, rngs: nnx.Rngs):
    conv = functools.partial(BasicConv, precision=precision, rngs=rngs)
    c7 = channels_7x7
    self.branch1x1 = conv(cin, 192, 1)
    self.branch7x7_1 = conv(cin, c7, 1)
    self.branch7x7_2 = conv(c7, c7, (1, 7), padding=(0, 3))
    self.branch7x7_3 = conv(c7, 192, (7, 1), padding=(3, 0))
    self.branch7x7dbl_1 = conv(cin, c7, 1)
    self.branch7x7dbl_2 = conv(c7, c7, (7, 1), padding=(3, 0))
    self.branch7x7dbl_3 = conv(c7, c7, (1, 7), padding=(0, 3))
    self.branch7x7dbl_4 = conv(c7, c7, (7, 1), padding=(3, 0))
    self.branch7x7dbl_5 = conv(c7, 192, (1, 7), padding=(0, 3))
    self.branch_pool = conv(cin, 192, 1)

  def __call__(self, x):
    b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
    b7d = self.branch7x7dbl_1(x)
    for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                  self.branch7x7dbl_5):
      b7d = layer(b7d)
    bp = self.branch_pool(_avg_pool_tf(x))
    return jnp.concatenate([self.branch1x1(x), b7, b7d, bp], axis=-1)


class InceptionD(nnx.Module):
  """Mixed_7a: 17x17 -> 8x8 (unchanged from torchvision)."""

  def __init__(self, cin: int, *, precision=HIGHEST, rngs: nnx.Rngs):
    conv = functools.partial(BasicConv, precision=precision, rngs=rngs)
    self.branch3x3_1 = conv(cin, 192, 1)
    self.branch3x3_2 = conv(192, 320, 3, stride=2)
    self.branch7x7x3_1 = conv(cin, 192, 1)
    self.branch7x7x3_2 = conv(192, 192, (1, 7), padding=(0, 3))
    self.branch7x7x3_3 = conv(192, 192, (7, 1), padding=(3, 0))
    self.branch7x7x3_4 = conv(192, 192, 3, stride=2)

  def __call__(self, x):
    b3 = self.branch3x3_2(self.branch3x3_1(x))
    b7 = self.branch7x7x3_1(x)
    for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
      b7 = layer(b7)
    return jnp.concatenate([b3, b7, _max_pool(x, 2)], axis=-1)


class _FIDInceptionE(nnx.Module):
  """Mixed_7b/c (8x8); the two differ only in the pool of the last branch."""

  def __init__(self, cin: int, *, precision=HIGHEST, rngs: nnx.Rngs):
    conv = functools.partial(BasicConv, precision=precision, rngs=rngs)
    self.branch1x1 = conv(cin, 320, 1)
    self.branch3x3_1 = conv(cin, 384, 1)
    self.branch3x3_2a = conv(384, 384, (1, 3), padding=(0, 1))
    self.branch3x3_2b = conv(384, 384, (3, 1), padding=(1, 0))
    self.branch3x3dbl_1 = conv(cin, 448, 1)
    self.branch3x3dbl_2 = conv(448, 384, 3, padding=1)
    self.branch3x3dbl_3a = conv(384, 384, (1, 3), padding=(0, 1))
    self.branch3x3dbl_3b = conv(384, 384, (3, 1), padding=(1, 0))
    self.branch_pool = conv(cin, 192, 1)

  def _pool(self, x):
    raise NotImplementedError

  def __call__(self, x):
    b3 = self.branch3x3_1(x)
    b3 = jnp.concatenate([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], axis=-1)
    b3d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
    b3d = jnp.concatenate([self.branch3x3dbl_3a(b3d), self.branch3x3dbl_3b(b3d)], axis=-1)
    bp = self.branch_pool(self._pool(x))
    return jnp.concatenate([self.branch1x1(x), b3, b3d, bp], axis=-1)


class FIDInceptionE_1(_FIDInceptionE):  # noqa: N801 (pytorch-fid's name)
  """Mixed_7b: average pool that ignores the padding, as TF does."""

  def _pool(self, x):
    return _avg_pool_tf(x)


class FIDInceptionE_2(_FIDInceptionE):  # noqa: N801 (pytorch-fid's name)
  """Mixed_7c: the TF graph has a max pool here (a quirk that FID numbers depend on)."""

  def _pool(self, x):
    return _max_pool(x, 1, padding=1)


class InceptionV3(nnx.Module):
  """FID Inception-v3: images -> (pool3 features (N, 2048), logits (N, 1008)).

  Input: float NHWC in [-1, 1] (pytorch-fid's `2x - 1` of [0, 1] images), at least 75x75.
  FID is defined at 299x299: use `preprocess` (or `InceptionExtractor`, which calls it).
  """

  def __init__(self, *, precision=HIGHEST, rngs: nnx.Rngs):
    conv = functools.partial(BasicConv, precision=precision, rngs=rngs)
    kw = dict(precision=precision, rngs=rngs)
    self.Conv2d_1a_3x3 = conv(3, 32, 3, stride=2)
    self.Conv2d_2a_3x3 = conv(32, 32, 3)
    self.Conv2d_2b_3x3 = conv(32, 64, 3, padding=1)
    self.Conv2d_3b_1x1 = conv(64, 80, 1)
    self.Conv2d_4a_3x3 = conv(80, 192, 3)
    self.Mixed_5b = FIDInceptionA(192, pool_features=32, **kw)
    self.Mixed_5c = FIDInceptionA(256, pool_features=64, **kw)
    self.Mixed_5d = FIDInceptionA(288, pool_features=64, **kw)
    self.Mixed_6a = InceptionB(288, **kw)
    self.Mixed_6b = FIDInceptionC(768, channels_7x7=128, **kw)
    self.Mixed_6c = FIDInceptionC(768, channels_7x7=160, **kw)
    self.Mixed_6d = FIDInceptionC(768, channels_7x7=160, **kw)
    self.Mixed_6e = FIDInceptionC(768, channels_7x7=192, **kw)
    self.Mixed_7a = InceptionD(768, **kw)
    self.Mixed_7b = FIDInceptionE_1(1280, **kw)
    self.Mixed_7c = FIDInceptionE_2(2048, **kw)
    self.fc = nnx.Linear(FEATURE_DIM, NUM_LOGITS, precision=precision, rngs=rngs)

  def __call__(self, x):
    if min(x.shape[1:3]) < MIN_INPUT_SIZE:
      raise ValueError(f'Inception needs images of at least 75x75, got {x.shape[1:3]}')
    x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
    x = _max_pool(x, 2)
    x = _max_pool(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 2)
    for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
                  self.Mixed_6c, self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b,
                  self.Mixed_7c):
      x = block(x)
    pool3 = jnp.mean(x, axis=(1, 2))
    # Inception Score is defined on the logits *without* the fc bias: openai/improved-gan reads
    # `softmax/logits/MatMul`, and torch-fidelity calls these 'logits_unbiased'. The bias stays
    # loaded so that the state dict round-trips.
    logits = jnp.dot(pool3, self.fc.kernel[...], precision=self.fc.precision)
    return pool3, logits


# ---------------------------------------------------------------------------------------------
# Input pipeline.


def resize_bilinear(images, size: int):
  """NHWC resize like `F.interpolate(mode='bilinear', align_corners=False)`, no antialias.

  Half-pixel centres with edge clamping: jax's triangle kernel, renormalised at the borders and
  not widened when downsampling (antialias=False), computes exactly torch's formula.
  """
  n, _, _, c = images.shape
  return jax.image.resize(images, (n, size, size, c), 'linear', antialias=False,
                          precision=HIGHEST)


def preprocess(images, size: int = INPUT_SIZE):
  """uint8 NHWC in [0, 255] or float NHWC in [-1, 1] -> float32 [-1, 1] at size x size.

  Floats are taken to be in [-1, 1] (the generators' output range), not [0, 1]. Rescaling before
  resizing equals pytorch-fid's resize-then-`2x - 1` since bilinear resizing is affine.
  """
  x = jnp.asarray(images)
  x = x.astype(jnp.float32) / 127.5 - 1.0 if x.dtype == jnp.uint8 else x.astype(jnp.float32)
  if x.shape[1:3] != (size, size):
    x = resize_bilinear(x, size)
  return x


def _no_outputs():
  return np.zeros((0, FEATURE_DIM), np.float32), np.zeros((0, NUM_LOGITS), np.float32)


class InceptionExtractor:
  """Images -> (features float32 (N, 2048), logits float32 (N, 1008)) as numpy arrays.

  Runs one jitted function on fixed-size batches (the last one zero-padded), so it compiles once
  per input resolution and every image sees exactly the same computation, run after run.
  Accepts an (N, H, W, 3) array (see `preprocess` for the value conventions) or an iterable of
  such batches, e.g. a generator of samples.
  """

  def __init__(self, model: InceptionV3 | None = None, *, batch_size: int = 50,
               weights_path: str | os.PathLike | None = None, size: int = INPUT_SIZE):
    """`size` other than 299 is only for tests and quick looks: FID is defined at 299."""
    model = load_inception(weights_path) if model is None else model
    graphdef, self.state = nnx.split(model)
    self.batch_size = batch_size

    @jax.jit
    def forward(state, images):
      return nnx.merge(graphdef, state)(preprocess(images, size))

    self._forward = forward

  def __call__(self, images) -> tuple[np.ndarray, np.ndarray]:
    if not hasattr(images, 'shape'):
      outs = [self(batch) for batch in images] or [_no_outputs()]
      return tuple(np.concatenate(parts) for parts in zip(*outs))
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
      raise ValueError(f'expected (N, H, W, 3) images, got shape {images.shape}')
    outs, bs = [], self.batch_size
    for start in range(0, len(images), bs):
      batch = images[start:start + bs]
      n = len(batch)
      if n < bs:
        batch = np.concatenate([batch, np.zeros((bs - n, *batch.shape[1:]), batch.dtype)])
      feats, logits = self._forward(self.state, batch)
      outs.append((feats[:n], logits[:n]))  # Stay on device: lets the next batch dispatch.
    if not outs:
      return _no_outputs()
    return tuple(np.concatenate([np.asarray(o[i]) for o in outs]) for i in (0, 1))


# ---------------------------------------------------------------------------------------------
# Weights: torch state dict -> flat numpy dict -> module.

# (torch module kind, torch leaf) -> our leaf. BatchNorm's counter carries no weights.
_RENAMES = {
    ('conv', 'weight'): 'kernel',
    ('bn', 'weight'): 'scale', ('bn', 'bias'): 'bias',
    ('bn', 'running_mean'): 'mean', ('bn', 'running_var'): 'var',
    ('fc', 'weight'): 'kernel', ('fc', 'bias'): 'bias',
}


def convert_state_dict(state_dict: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
  """pytorch-fid state dict (name -> numpy array) -> flat params ('Mixed_5b/branch1x1/conv/kernel').

  Conv weights OIHW -> HWIO, fc weight (out, in) -> kernel (in, out); the rest is renaming.
  """
  params = {}
  for name, value in state_dict.items():
    *path, leaf = name.split('.')
    if leaf == 'num_batches_tracked':
      continue
    key = (path[-1] if path else '', leaf)
    if key not in _RENAMES:
      raise ValueError(f'unexpected entry {name!r} in the Inception state dict')
    value = np.asarray(value, np.float32)
    if key == ('conv', 'weight'):
      value = value.transpose(2, 3, 1, 0)
    elif key == ('fc', 'weight'):
      value = value.T
    params['/'.join([*path, _RENAMES[key]])] = np.ascontiguousarray(value)
  return params


def load_params(model: nnx.Module, params: Mapping[str, np.ndarray]) -> None:
  """Sets every parameter and batch statistic of `model` from flat params, strictly."""
  state = nnx.state(model)
  shapes = {'/'.join(map(str, p)): v.get_value().shape for p, v in nnx.to_flat_state(state)}
  missing, unexpected = shapes.keys() - params.keys(), params.keys() - shapes.keys()
  if missing or unexpected:
    raise ValueError(f'Inception params mismatch: missing {sorted(missing)[:5]}, '
                     f'unexpected {sorted(unexpected)[:5]}')
  nested = {}
  for name, value in params.items():
    if value.shape != shapes[name]:
      raise ValueError(f'{name}: shape {value.shape}, expected {shapes[name]}')
    *path, leaf = name.split('/')
    node = functools.reduce(lambda d, k: d.setdefault(k, {}), path, nested)
    node[leaf] = jnp.asarray(value, jnp.float32)
  state.replace_by_pure_dict(nested)
  nnx.update(model, state)


def _read_torch_state_dict(path: pathlib.Path) -> dict[str, np.ndarray]:
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError(f'Converting {path} to .npz needs torch once (`pip install torch`, the '
                      'CPU build is enough); or convert it on another machine with '
                      '`python -m jaxgan.models.inception PATH.pth` and copy the .npz to '
                      f'{cache_dir()}.') from e
  state_dict = torch.load(path, map_location='cpu', weights_only=True)
  return {name: tensor.numpy() for name, tensor in state_dict.items()}


def _convert_to_npz(pth: pathlib.Path) -> pathlib.Path:
  npz = cache_dir() / (pth.stem + '.npz')
  if not npz.exists():
    params = convert_state_dict(_read_torch_state_dict(pth))
    save_npz(npz, params)
  return npz


def _missing_message(looked_at) -> str:
  return (f'FID Inception weights not found at {", ".join(map(str, looked_at))}. Download '
          f'pytorch-fid\'s file from {WEIGHTS_URL} and put it at {cache_dir() / WEIGHTS_FILE} '
          '(set $JAXGAN_CACHE to use another directory, or pass its path). It is converted '
          'once to .npz, which needs torch for that step only.')


def load_inception_params(path: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
  """Flat FID Inception params from `path` (.pth or .npz) or from the cache directory.

  Without `path` looks for `<cache>/pt_inception-2015-12-05-6726825d.npz`, then `.pth`, where
  <cache> is $JAXGAN_CACHE or ~/.cache/jaxgan. A `.pth` is converted once to `<cache>/*.npz`.
  """
  cache_npz = cache_dir() / pathlib.Path(WEIGHTS_FILE).with_suffix('.npz').name
  candidates = [pathlib.Path(path)] if path else [cache_npz, cache_dir() / WEIGHTS_FILE]
  found = next((p for p in candidates if p.is_file()), None)
  if found is None:
    raise WeightsNotFoundError(_missing_message(candidates))
  npz = found if found.suffix == '.npz' else _convert_to_npz(found)
  with np.load(npz) as f:
    return {name: f[name] for name in f.files}


def load_inception(path: str | os.PathLike | None = None, *, precision=HIGHEST) -> InceptionV3:
  """The FID Inception-v3 with pytorch-fid's weights (see `load_inception_params`)."""
  params = load_inception_params(path)
  # Abstract init: every value is then loaded, and a random init costs ~30 s on a CPU.
  model = nnx.eval_shape(lambda: InceptionV3(precision=precision, rngs=nnx.Rngs(0)))
  load_params(model, params)
  return model


def main(argv: Iterable[str]) -> None:
  """`python -m jaxgan.models.inception [PATH.pth]`: convert the weights to .npz in the cache."""
  argv = list(argv)
  pth = pathlib.Path(argv[0]) if argv else cache_dir() / WEIGHTS_FILE
  if not pth.is_file():
    raise WeightsNotFoundError(_missing_message([pth]))
  print(_convert_to_npz(pth))


if __name__ == '__main__':
  import sys  # pylint: disable=g-import-not-at-top
  main(sys.argv[1:])
