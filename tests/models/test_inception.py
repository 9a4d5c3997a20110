"""The FID Inception against an independent NCHW re-implementation over a torch-layout state dict.

The oracle below is written from torchvision's Inception-v3 and pytorch-fid's patches (layer
table, NCHW/OIHW convolutions, its own pools), and reads the weights in torch's layout, so it
checks the module and `convert_state_dict` together. Weights are random: the real file cannot
be downloaded here.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from testlib import INCEPTION_LAYERS as LAYERS, fake_inception_state_dict
from jaxgan.models import inception

HIGHEST = jax.lax.Precision.HIGHEST

# ---------------------------------------------------------------------------------------------
# Oracle: torchvision's layer table (LAYERS, from testlib: the random weights of the evaluator
# tests share it), convolutions and pools in torch's NCHW/OIHW layout.


def _conv(sd, name, x):
  _, _, _, stride, (ph, pw) = LAYERS[name]
  y = jax.lax.conv_general_dilated(x, sd[f'{name}.conv.weight'], (stride, stride),
                                   [(ph, ph), (pw, pw)], precision=HIGHEST,
                                   dimension_numbers=('NCHW', 'OIHW', 'NCHW'))
  bn = lambda k: sd[f'{name}.bn.{k}'][None, :, None, None]
  y = (y - bn('running_mean')) / jnp.sqrt(bn('running_var') + 1e-3) * bn('weight') + bn('bias')
  return jnp.maximum(y, 0)


def _max_pool(x, stride, pad=0):
  pads = [(0, 0), (0, 0), (pad, pad), (pad, pad)]
  return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 3, 3), (1, 1, stride, stride),
                               pads)


def _avg_pool_no_pad(x):
  pads = [(0, 0), (0, 0), (1, 1), (1, 1)]
  window = lambda v: jax.lax.reduce_window(v, 0.0, jax.lax.add, (1, 1, 3, 3), (1, 1, 1, 1), pads)
  return window(x) / window(jnp.ones_like(x[:1, :1]))


def _oracle(sd, x):
  """pytorch-fid's forward: NCHW input in [-1, 1] -> (pool3, fc logits without bias)."""
  c = functools.partial(_conv, sd)
  x = _max_pool(c('Conv2d_2b_3x3', c('Conv2d_2a_3x3', c('Conv2d_1a_3x3', x))), 2)
  x = _max_pool(c('Conv2d_4a_3x3', c('Conv2d_3b_1x1', x)), 2)
  cat = lambda *xs: jnp.concatenate(xs, axis=1)
  chain = lambda p, names, y: functools.reduce(lambda v, n: c(f'{p}.{n}', v), names, y)
  for p in ('Mixed_5b', 'Mixed_5c', 'Mixed_5d'):
    x = cat(c(f'{p}.branch1x1', x), chain(p, ['branch5x5_1', 'branch5x5_2'], x),
            chain(p, ['branch3x3dbl_1', 'branch3x3dbl_2', 'branch3x3dbl_3'], x),
            c(f'{p}.branch_pool', _avg_pool_no_pad(x)))
  x = cat(c('Mixed_6a.branch3x3', x),
          chain('Mixed_6a', ['branch3x3dbl_1', 'branch3x3dbl_2', 'branch3x3dbl_3'], x),
          _max_pool(x, 2))
  for p in ('Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e'):
    x = cat(c(f'{p}.branch1x1', x), chain(p, [f'branch7x7_{i}' for i in (1, 2, 3)], x),
            chain(p, [f'branch7x7dbl_{i}' for i in (1, 2, 3, 4, 5)], x),
            c(f'{p}.branch_pool', _avg_pool_no_pad(x)))
  x = cat(chain('Mixed_7a', ['branch3x3_1', 'branch3x3_2'], x),
          chain('Mixed_7a', [f'branch7x7x3_{i}' for i in (1, 2, 3, 4)], x), _max_pool(x, 2))
  for p, pool in (('Mixed_7b', _avg_pool_no_pad), ('Mixed_7c', lambda v: _max_pool(v, 1, 1))):
    b3, b3d = c(f'{p}.branch3x3_1', x), chain(p, ['branch3x3dbl_1', 'branch3x3dbl_2'], x)
    x = cat(c(f'{p}.branch1x1', x), c(f'{p}.branch3x3_2a', b3), c(f'{p}.branch3x3_2b', b3),
            c(f'{p}.branch3x3dbl_3a', b3d), c(f'{p}.branch3x3dbl_3b', b3d),
            c(f'{p}.branch_pool', pool(x)))
  pool3 = x.mean(axis=(2, 3))
  return pool3, jnp.dot(pool3, sd['fc.weight'].T, precision=HIGHEST)


def torch_bilinear(image, size):
  """F.interpolate(bilinear, align_corners=False) on one HWC image, from torch's index formula.

  Source coordinates are float32 as in torch's kernel: in float64 they differ by ~3e-5 at 400 px.
  """
  def taps(n_in):
    f32 = np.float32
    src = np.maximum(f32(n_in) / f32(size) * (np.arange(size, dtype=f32) + f32(0.5)) - f32(0.5),
                     f32(0))
    i0 = np.minimum(np.floor(src).astype(int), n_in - 1)
    return i0, np.minimum(i0 + 1, n_in - 1), (src - i0).astype(np.float64)
  r0, r1, fr = taps(image.shape[0])
  c0, c1, fc = taps(image.shape[1])
  rows = image[r0] * (1 - fr)[:, None, None] + image[r1] * fr[:, None, None]
  return rows[:, c0] * (1 - fc)[None, :, None] + rows[:, c1] * fc[None, :, None]


# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope='module')
def torch_sd():
  return fake_inception_state_dict()


@pytest.fixture(scope='module')
def model(torch_sd):
  m = nnx.eval_shape(lambda: inception.InceptionV3(rngs=nnx.Rngs(0)))
  inception.load_params(m, inception.convert_state_dict(torch_sd))
  return m


def test_forward_shapes_at_smallest_input(model):
  feats, logits = jax.eval_shape(model, jax.ShapeDtypeStruct((2, 75, 75, 3), jnp.float32))
  assert feats.shape == (2, 2048) and logits.shape == (2, 1008)
  assert feats.dtype == logits.dtype == jnp.float32
  with pytest.raises(ValueError, match='75x75'):  # Mixed_7a would leave an empty map.
    jax.eval_shape(model, jax.ShapeDtypeStruct((1, 74, 74, 3), jnp.float32))


def test_module_matches_independent_nchw_implementation(model, torch_sd):
  # 139x171 leaves a 3x5 map in Mixed_7b/c, so edge pooling (count_include_pad=False, the max
  # pool of Mixed_7c) and (1, k) vs (k, 1) kernels are all exercised; a 1x1 map would hide them.
  x = jax.random.uniform(jax.random.key(0), (2, 139, 171, 3), minval=-1, maxval=1)
  graphdef, state = nnx.split(model)
  feats, logits = jax.jit(lambda s, v: nnx.merge(graphdef, s)(v))(state, x)
  sd = {k: jnp.asarray(v) for k, v in torch_sd.items() if 'num_batches' not in k}
  want_feats, want_logits = jax.jit(_oracle)(sd, x.transpose(0, 3, 1, 2))
  assert float(jnp.abs(want_feats).max()) > 0.1  # The activations did not vanish.
  np.testing.assert_allclose(feats, want_feats, atol=1e-4, rtol=0)
  np.testing.assert_allclose(logits, want_logits, atol=1e-4, rtol=0)


def test_converter_round_trip(model, torch_sd):
  params = inception.convert_state_dict(torch_sd)
  assert not any('num_batches' in k for k in params)
  w = torch_sd['Mixed_6b.branch7x7_2.conv.weight']  # (O, I, 1, 7)
  np.testing.assert_array_equal(params['Mixed_6b/branch7x7_2/conv/kernel'], w.transpose(2, 3, 1, 0))
  np.testing.assert_array_equal(params['fc/kernel'], torch_sd['fc.weight'].T)
  np.testing.assert_array_equal(params['Mixed_7c/branch_pool/bn/var'],
                                torch_sd['Mixed_7c.branch_pool.bn.running_var'])
  # Read every value back out of the module and undo the conversion by hand.
  inverse = {'kernel': 'weight', 'scale': 'weight', 'bias': 'bias', 'mean': 'running_mean',
             'var': 'running_var'}
  back = {}
  for path, var in nnx.to_flat_state(nnx.state(model)):
    value = np.asarray(var.get_value())
    if path[-1] == 'kernel':
      value = value.transpose(3, 2, 0, 1) if value.ndim == 4 else value.T
    back['.'.join([*path[:-1], inverse[path[-1]]])] = value
  expected = {k: v for k, v in torch_sd.items() if 'num_batches' not in k}
  assert back.keys() == expected.keys()
  for k, v in expected.items():
    np.testing.assert_array_equal(back[k], v, err_msg=k)


def test_loading_is_strict(model, torch_sd):
  params = inception.convert_state_dict(torch_sd)
  with pytest.raises(ValueError, match='unexpected'):
    inception.convert_state_dict({'AuxLogits.conv0.conv.bias': np.zeros(3)})
  # Both raise before anything is written into `model`.
  with pytest.raises(ValueError, match='missing'):
    inception.load_params(model, {k: v for k, v in params.items() if k != 'fc/bias'})
  with pytest.raises(ValueError, match='shape'):
    inception.load_params(model, {**params, 'fc/bias': np.zeros(1000, np.float32)})


def test_extractor_is_deterministic_and_padding_free(model):
  images = np.random.default_rng(0).integers(0, 256, (3, 40, 48, 3), dtype=np.uint8)
  extractor = inception.InceptionExtractor(model, batch_size=2, size=80)
  feats1, logits1 = extractor(images)
  feats2, logits2 = extractor(images)
  assert feats1.shape == (3, 2048) and logits1.shape == (3, 1008) and feats1.dtype == np.float32
  np.testing.assert_array_equal(feats1, feats2)
  np.testing.assert_array_equal(logits1, logits2)
  # Image 2 was batched with zero padding; next to a real image it gives the same features.
  swapped, _ = extractor(images[[2, 0]])
  np.testing.assert_allclose(swapped, feats1[[2, 0]], atol=1e-5, rtol=1e-5)
  feats3, _ = extractor(iter([images[:1], images[1:]]))  # A generator of batches.
  np.testing.assert_allclose(feats3, feats1, atol=1e-5, rtol=1e-5)
  empty_feats, empty_logits = extractor(images[:0])
  assert empty_feats.shape == (0, 2048) and empty_logits.shape == (0, 1008)


@pytest.mark.parametrize('shape', [(32, 40), (400, 350)])
def test_resize_matches_torch_bilinear_formula(shape):
  image = np.random.default_rng(1).random((*shape, 3)).astype(np.float32)
  ours = np.asarray(inception.resize_bilinear(jnp.asarray(image[None]), 299))[0]
  np.testing.assert_allclose(ours, torch_bilinear(image.astype(np.float64), 299), atol=1e-5)


def test_resize_matches_torch_interpolate():
  torch = pytest.importorskip('torch')  # The formula test above is the torch-free oracle.
  image = np.random.default_rng(2).random((1, 3, 45, 61)).astype(np.float32)
  want = torch.nn.functional.interpolate(torch.from_numpy(image), size=(299, 299),
                                         mode='bilinear', align_corners=False)
  ours = inception.resize_bilinear(jnp.asarray(image.transpose(0, 2, 3, 1)), 299)
  np.testing.assert_allclose(ours, want.numpy().transpose(0, 2, 3, 1), atol=1e-5)


def test_preprocess_conventions():
  u8 = np.random.default_rng(3).integers(0, 256, (2, 20, 30, 3), dtype=np.uint8)
  as_float = u8.astype(np.float32) / 255 * 2 - 1  # pytorch-fid: ToTensor, then 2x - 1.
  np.testing.assert_allclose(inception.preprocess(u8), inception.preprocess(as_float), atol=1e-6)
  x = np.random.default_rng(4).uniform(-1, 1, (1, 299, 299, 3)).astype(np.float32)
  np.testing.assert_array_equal(inception.preprocess(x), x)


def test_missing_weights_error_says_where_to_get_them(tmp_path, monkeypatch):
  monkeypatch.setenv('JAXGAN_CACHE', str(tmp_path))
  with pytest.raises(inception.WeightsNotFoundError) as error:
    inception.load_inception_params()
  assert isinstance(error.value, FileNotFoundError)
  assert inception.WEIGHTS_URL in str(error.value)
  assert str(tmp_path / inception.WEIGHTS_FILE) in str(error.value)
  with pytest.raises(inception.WeightsNotFoundError, match='nowhere.pth'):
    inception.load_inception_params(tmp_path / 'nowhere.pth')


def test_pth_is_converted_once_into_the_cache(tmp_path, monkeypatch, torch_sd):
  monkeypatch.setenv('JAXGAN_CACHE', str(tmp_path))
  (tmp_path / inception.WEIGHTS_FILE).write_bytes(b'not read: torch loading is faked')
  reads = []

  def fake_read(path):
    reads.append(path)
    return torch_sd

  monkeypatch.setattr(inception, '_read_torch_state_dict', fake_read)
  first = inception.load_inception_params()
  second = inception.load_inception_params()
  assert len(reads) == 1
  assert (tmp_path / 'pt_inception-2015-12-05-6726825d.npz').is_file()
  expected = inception.convert_state_dict(torch_sd)
  assert first.keys() == second.keys() == expected.keys()
  np.testing.assert_array_equal(second['fc/kernel'], expected['fc/kernel'])
  loaded = inception.load_inception()  # From the .npz alone.
  np.testing.assert_array_equal(loaded.Mixed_5b.branch1x1.conv.kernel.get_value(),
                                expected['Mixed_5b/branch1x1/conv/kernel'])
