"""Tiled upscaling equals whole-image upscaling wherever the receptive field allows."""

import functools

import jax
import numpy as np
import pytest
from flax import nnx

from jaxgan.models.srresnet import SRResNet
from jaxgan.sr.tiling import upscale_tiled


def _pixel_local(batch, scale=3):
  """A pixel-wise colour map followed by nearest-neighbour upscaling."""
  mixed = np.tanh(batch @ np.array([[1.0, 0.5], [-0.3, 2.0], [0.2, 0.1]]))
  return mixed.repeat(scale, axis=1).repeat(scale, axis=2)


class _ShapeRecorder:
  def __init__(self, fn):
    self.fn, self.shapes = fn, set()

  def __call__(self, batch):
    self.shapes.add(batch.shape)
    return self.fn(batch)


@pytest.mark.parametrize('shape,tile,overlap,batch_size', [
    ((45, 38), 16, 4, 1),    # not a multiple of the tile or the stride
    ((16, 16), 16, 4, 1),    # exactly one tile
    ((10, 7), 16, 6, 1),     # smaller than a tile: reflect-padded
    ((50, 23), 12, 5, 3),    # odd overlap, several tiles per call, padded last call
])
def test_pixel_local_function_is_exact(shape, tile, overlap, batch_size):
  lr = np.random.default_rng(0).uniform(size=shape + (3,)).astype(np.float32)
  apply_fn = _ShapeRecorder(_pixel_local)
  out = upscale_tiled(apply_fn, lr, 3, tile=tile, overlap=overlap, batch_size=batch_size)
  np.testing.assert_allclose(out, _pixel_local(lr[None])[0], rtol=0, atol=1e-6)
  assert apply_fn.shapes == {(batch_size, tile, tile, 3)}  # one shape: one compilation


@pytest.fixture(scope='module')
def srresnet_apply():
  # 1 block, x2: the receptive field reaches 4 + 2 + 1 + 1 + 4 / 2 = 10 LR pixels.
  model = SRResNet(scale=2, num_blocks=1, features=8,
                   rngs=nnx.Rngs(jax.random.key(0, impl='rbg')))
  graphdef, state = nnx.split(model)
  forward = jax.jit(lambda st, x: nnx.merge(graphdef, st)(x, train=False))
  return functools.partial(forward, state)


def _seams(length, tile, overlap):
  stride = tile - overlap
  starts = list(range(0, length - tile, stride)) + [length - tile]
  return [s + overlap // 2 for s in starts[1:]]


def test_srresnet_tiled_equals_whole_with_enough_overlap(srresnet_apply):
  lr = np.random.default_rng(1).uniform(size=(53, 41, 3)).astype(np.float32)
  whole = np.asarray(srresnet_apply(lr[None]))[0]
  tiled = upscale_tiled(srresnet_apply, lr, 2, tile=32, overlap=20)
  assert tiled.shape == whole.shape == (106, 82, 3)
  np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-4 * np.abs(whole).max())


def test_srresnet_tiled_differs_only_near_seams(srresnet_apply):
  lr = np.random.default_rng(2).uniform(size=(53, 41, 3)).astype(np.float32)
  whole = np.asarray(srresnet_apply(lr[None]))[0]
  tile, overlap, reach = 32, 4, 10  # the receptive field (10) exceeds overlap // 2 (2)
  tiled = upscale_tiled(srresnet_apply, lr, 2, tile=tile, overlap=overlap)
  wrong = np.abs(tiled - whole).max(axis=-1) > 1e-4 * np.abs(whole).max()
  near = np.zeros(wrong.shape, bool)
  for seam in _seams(53, tile, overlap):
    near[2 * (seam - reach):2 * (seam + reach)] = True
  for seam in _seams(41, tile, overlap):
    near[:, 2 * (seam - reach):2 * (seam + reach)] = True
  assert wrong.any() and not (wrong & ~near).any()


def test_rejects_bad_arguments():
  lr = np.zeros((20, 20, 3), np.float32)
  with pytest.raises(ValueError):
    upscale_tiled(_pixel_local, lr, 3, tile=8, overlap=8)
  with pytest.raises(ValueError):
    upscale_tiled(_pixel_local, lr[..., 0], 3)
  with pytest.raises(ValueError, match='expected tiles'):
    upscale_tiled(_pixel_local, lr, 2, tile=8, overlap=2)
