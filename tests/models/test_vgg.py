"""VGG19 phi_{5,4} features, weight conversion from torchvision/Keras layouts, VGG loss."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxgan.models import vgg as vgg_lib

_TORCH_CONVS = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
_WIDTHS = (64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512)
_POOL_AFTER = (1, 3, 7, 11)  # conv indices (0-based) followed by a 2x2 max-pool


def _rngs(seed=0):
  # rbg keys: XLA:CPU compiles a threefry draw per new parameter shape in seconds.
  return nnx.Rngs(jax.random.key(seed, impl='rbg'))


@pytest.fixture
def vgg():
  return vgg_lib.VGG19Features(rngs=_rngs())


def _random_torchvision_state_dict(seed=0):
  """What torchvision's vgg19().state_dict() holds: features.<i>.weight OIHW + classifier."""
  rng = np.random.default_rng(seed)
  sd, c_in = {}, 3
  for index, c_out in zip(_TORCH_CONVS, _WIDTHS):
    sd[f'features.{index}.weight'] = rng.normal(0, (2 / (9 * c_in)) ** 0.5,
                                                (c_out, c_in, 3, 3)).astype(np.float32)
    sd[f'features.{index}.bias'] = rng.normal(0, 0.1, c_out).astype(np.float32)
    c_in = c_out
  sd['classifier.0.weight'] = np.zeros((4, 7), np.float32)  # ignored by the converter
  return sd


def _random_keras_weights(seed=0):
  """The Keras h5 datasets: 'blockB_convI/blockB_convI_W_1:0' HWIO kernels and biases."""
  rng = np.random.default_rng(seed)
  weights, c_in, layer = {}, 3, 0
  for block, n in zip(range(1, 6), (2, 2, 4, 4, 4)):
    for i in range(1, n + 1):
      c_out = _WIDTHS[layer]
      name = f'block{block}_conv{i}'
      weights[f'{name}/{name}_W_1:0'] = rng.normal(0, (2 / (9 * c_in)) ** 0.5,
                                                   (3, 3, c_in, c_out)).astype(np.float32)
      weights[f'{name}/{name}_b_1:0'] = rng.normal(0, 0.1, c_out).astype(np.float32)
      c_in, layer = c_out, layer + 1
  return weights


def _numpy_vgg(x, kernels_hwio, biases):
  """Reference VGG19 up to conv5_4 pre-ReLU on an already preprocessed NHWC input."""
  for i, (k, b) in enumerate(zip(kernels_hwio, biases)):
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))
    x = np.einsum('nhwcyx,yxco->nhwo', windows, k, optimize=True) + b  # cross-correlation
    if i < len(biases) - 1:
      x = np.maximum(x, 0)
    if i in _POOL_AFTER:
      n, h, w, c = x.shape
      x = x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
  return x


def test_feature_shape_is_stride_16_with_512_channels(vgg):
  x = jnp.asarray(np.random.default_rng(0).uniform(size=(2, 32, 48, 3)), jnp.float32)
  features = vgg(x)
  assert features.shape == (2, 2, 3, 512)
  assert (np.asarray(features) < 0).any()  # phi_{5,4} is taken before the ReLU


def test_post_activation_variant_is_the_relu_of_the_default(vgg):
  x = jnp.asarray(np.random.default_rng(0).uniform(size=(1, 16, 16, 3)), jnp.float32)
  post = nnx.clone(vgg)
  post.pre_activation = False
  np.testing.assert_allclose(np.asarray(post(x)), np.maximum(np.asarray(vgg(x)), 0))


def test_torchvision_conversion_matches_reference_forward(vgg):
  sd = _random_torchvision_state_dict()
  params = vgg_lib.convert_torchvision_vgg19(sd)
  vgg.set_params(params)
  x = np.random.default_rng(1).uniform(size=(2, 16, 16, 3))
  # torchvision: RGB in [0, 1], standardised with the ImageNet mean and std; OIHW kernels.
  mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
  expected = _numpy_vgg((x - mean) / std,
                        [sd[f'features.{i}.weight'].transpose(2, 3, 1, 0) for i in _TORCH_CONVS],
                        [sd[f'features.{i}.bias'] for i in _TORCH_CONVS])
  got = np.asarray(vgg(jnp.asarray(x, jnp.float32)))
  assert got.shape == expected.shape == (2, 1, 1, 512)
  np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max())


def test_keras_conversion_matches_reference_forward(vgg):
  weights = _random_keras_weights()
  vgg.set_params(vgg_lib.convert_keras_vgg19(weights))
  x = np.random.default_rng(2).uniform(size=(2, 16, 16, 3))
  # Keras ('caffe' preprocessing): BGR in [0, 255] minus the BGR ImageNet mean.
  caffe = x[..., ::-1] * 255 - np.array([103.939, 116.779, 123.68])
  names = [k for k in weights if k.endswith('_W_1:0')]
  expected = _numpy_vgg(caffe, [weights[k] for k in names],
                        [weights[k.replace('_W_1:0', '_b_1:0')] for k in names])
  got = np.asarray(vgg(jnp.asarray(x, jnp.float32)))
  np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max())


def test_set_params_round_trip_and_shape_check(vgg):
  params = vgg_lib.convert_torchvision_vgg19(_random_torchvision_state_dict(3))
  vgg.set_params(params)
  for name, conv in zip(vgg_lib.LAYER_NAMES, vgg.convs):
    np.testing.assert_array_equal(np.asarray(conv.kernel[...]), params[f'{name}/kernel'])
    np.testing.assert_array_equal(np.asarray(conv.bias[...]), params[f'{name}/bias'])
  bad = dict(params, **{'conv1_1/kernel': params['conv1_1/kernel'][:, :, :2]})
  with pytest.raises(ValueError, match='conv1_1/kernel'):
    vgg.set_params(bad)


def test_npz_in_cache_is_found(tmp_path, monkeypatch, vgg):
  monkeypatch.setenv('JAXGAN_CACHE', str(tmp_path))
  params = vgg_lib.convert_torchvision_vgg19(_random_torchvision_state_dict(4))
  np.savez(tmp_path / 'vgg19-dcbffe22.npz', **params)
  loaded = vgg_lib.load_vgg19_params()
  assert loaded.keys() == params.keys()
  for key in params:
    np.testing.assert_array_equal(loaded[key], params[key])
  pretrained = vgg_lib.pretrained_vgg19()
  vgg.set_params(params)
  x = jnp.asarray(np.random.default_rng(4).uniform(size=(1, 16, 16, 3)), jnp.float32)
  np.testing.assert_array_equal(np.asarray(pretrained(x)), np.asarray(vgg(x)))


def test_h5_is_converted_once_to_npz(tmp_path, monkeypatch):
  h5py = pytest.importorskip('h5py')
  cache = tmp_path / 'cache'
  monkeypatch.setenv('JAXGAN_CACHE', str(cache))
  weights = _random_keras_weights(5)
  h5 = tmp_path / vgg_lib.KERAS_FILE
  with h5py.File(h5, 'w') as f:
    for key, value in weights.items():
      f[key] = value
  first = vgg_lib.load_vgg19_params(h5)
  assert (cache / 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.npz').exists()
  h5.unlink()  # from now on only the converted file is read
  again = vgg_lib.load_vgg19_params(h5)
  from_cache = vgg_lib.load_vgg19_params()
  expected = vgg_lib.convert_keras_vgg19(weights)
  for key in expected:
    np.testing.assert_array_equal(first[key], expected[key])
    np.testing.assert_array_equal(again[key], expected[key])
    np.testing.assert_array_equal(from_cache[key], expected[key])


def test_pth_is_converted_when_torch_is_installed(tmp_path, monkeypatch):
  torch = pytest.importorskip('torch')
  monkeypatch.setenv('JAXGAN_CACHE', str(tmp_path))
  sd = _random_torchvision_state_dict(6)
  torch.save({k: torch.from_numpy(v) for k, v in sd.items()}, tmp_path / vgg_lib.TORCHVISION_FILE)
  params = vgg_lib.load_vgg19_params()
  assert (tmp_path / 'vgg19-dcbffe22.npz').exists()
  np.testing.assert_array_equal(params['conv5_4/kernel'],
                                sd['features.34.weight'].transpose(2, 3, 1, 0))


def test_converting_without_torch_or_h5py_says_what_to_install(tmp_path, monkeypatch):
  monkeypatch.setenv('JAXGAN_CACHE', str(tmp_path))
  monkeypatch.setitem(sys.modules, 'torch', None)  # makes `import torch` fail
  monkeypatch.setitem(sys.modules, 'h5py', None)
  (tmp_path / vgg_lib.TORCHVISION_FILE).write_bytes(b'')
  with pytest.raises(ImportError, match=r'jaxgan\[torch\]'):
    vgg_lib.load_vgg19_params()
  (tmp_path / vgg_lib.KERAS_FILE).write_bytes(b'')
  with pytest.raises(ImportError, match='h5py'):
    vgg_lib.load_vgg19_params(tmp_path / vgg_lib.KERAS_FILE)


def test_missing_weights_error_says_what_and_where(tmp_path, monkeypatch):
  monkeypatch.setenv('JAXGAN_CACHE', str(tmp_path / 'empty'))
  with pytest.raises(vgg_lib.WeightsNotFoundError) as info:
    vgg_lib.load_vgg19_params()
  assert isinstance(info.value, FileNotFoundError)
  message = str(info.value)
  assert 'https://download.pytorch.org/models/vgg19-dcbffe22.pth' in message
  assert str(tmp_path / 'empty') in message and 'JAXGAN_CACHE' in message
  with pytest.raises(vgg_lib.WeightsNotFoundError, match='download.pytorch.org'):
    vgg_lib.load_vgg19_params(tmp_path / 'nowhere' / 'vgg19-dcbffe22.pth')


def test_perceptual_loss(vgg):
  rng = np.random.default_rng(7)
  hr = jnp.asarray(rng.uniform(-1, 1, (2, 16, 16, 3)), jnp.float32)
  sr = jnp.asarray(rng.uniform(-1, 1, (2, 16, 16, 3)), jnp.float32)
  assert float(vgg_lib.perceptual_loss(vgg, hr, hr)) == 0.0
  graphdef, state = nnx.split(vgg)
  loss_and_grad = jax.jit(jax.value_and_grad(
      lambda s, h, st: vgg_lib.perceptual_loss(nnx.merge(graphdef, st), s, h)))
  loss, grad = loss_and_grad(sr, hr, state)
  assert float(loss) > 0
  assert np.isfinite(np.asarray(grad)).all() and np.abs(np.asarray(grad)).max() > 0
  # Features are divided by 12.75 before the MSE, i.e. the loss by 12.75 ** 2.
  unscaled = float(vgg_lib.perceptual_loss(vgg, sr, hr, feature_scale=1.0))
  np.testing.assert_allclose(float(loss), unscaled / 12.75**2, rtol=1e-4)
  # [-1, 1] inputs are mapped to the [0, 1] the network expects.
  np.testing.assert_allclose(
      float(vgg_lib.perceptual_loss(vgg, (sr + 1) / 2, (hr + 1) / 2, input_range=(0.0, 1.0))),
      float(loss), rtol=1e-4)
