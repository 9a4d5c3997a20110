"""SRResNet / SRGAN discriminator shapes and the PyTorch-ordered pixel shuffle."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jaxgan.models.layers import pixel_shuffle
from jaxgan.models.srresnet import PReLU, SRGANDiscriminator, SRResNet


def _rngs(seed=0):
  # XLA:CPU compiles each threefry draw (one per new parameter shape) in seconds; rbg keys
  # compile in a fraction of that and need no change to the global PRNG config.
  return nnx.Rngs(jax.random.key(seed, impl='rbg'))


def _torch_pixel_shuffle_nchw(x, r):
  """torch.nn.PixelShuffle's documented map, element by element:
  out[n, c, h * r + i, w * r + j] = in[n, c * r * r + i * r + j, h, w]."""
  n, c_in, h, w = x.shape
  c = c_in // (r * r)
  out = np.empty((n, c, h * r, w * r), x.dtype)
  for ch in range(c):
    for i in range(r):
      for j in range(r):
        out[:, ch, i::r, j::r] = x[:, ch * r * r + i * r + j]
  return out


@pytest.mark.parametrize('r,c', [(2, 1), (2, 3), (3, 2), (4, 3)])
def test_pixel_shuffle_matches_torch_ordering(r, c):
  x = np.random.default_rng(0).normal(size=(2, 5, 7, c * r * r)).astype(np.float32)
  expected = _torch_pixel_shuffle_nchw(x.transpose(0, 3, 1, 2), r).transpose(0, 2, 3, 1)
  np.testing.assert_array_equal(np.asarray(pixel_shuffle(jnp.asarray(x), r)), expected)


def test_pixel_shuffle_rejects_bad_channels():
  with pytest.raises(ValueError):
    pixel_shuffle(jnp.zeros((1, 2, 2, 6)), 2)


def test_prelu_per_channel_slope():
  act = PReLU(3)
  np.testing.assert_allclose(act.slope[...], 0.25)
  act.slope[...] = jnp.array([0.0, 0.5, 1.0])
  x = jnp.array([[-2.0, -2.0, -2.0], [3.0, 3.0, 3.0]])
  np.testing.assert_allclose(act(x), [[0.0, -1.0, -2.0], [3.0, 3.0, 3.0]])


@pytest.mark.parametrize('scale', [2, 4, 8])
@pytest.mark.parametrize('size', [(1, 8, 8), (2, 5, 7)])
def test_generator_output_shape(scale, size):
  g = SRResNet(scale=scale, num_blocks=1, features=8, rngs=_rngs())
  n, h, w = size
  x = jnp.asarray(np.random.default_rng(1).uniform(size=(n, h, w, 3)), jnp.float32)
  for train in (True, False):
    y = g(x, train=train)
    assert y.shape == (n, h * scale, w * scale, 3) and y.dtype == jnp.float32
    assert np.isfinite(np.asarray(y)).all()


def test_generator_rejects_unsupported_scale():
  with pytest.raises(ValueError):
    SRResNet(scale=3, rngs=nnx.Rngs(0))


def test_generator_paper_size():
  """The default (paper) generator, abstractly: 16 blocks, 64 features, ~1.5M params."""
  g = nnx.eval_shape(lambda: SRResNet(rngs=nnx.Rngs(0)))
  graphdef, state = nnx.split(g)
  out = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s)(x, train=False), state,
                       jax.ShapeDtypeStruct((2, 24, 24, 3), jnp.float32))
  assert out.shape == (2, 96, 96, 3)
  conv = lambda k, i, o: k * k * i * o + o
  block = 2 * conv(3, 64, 64) + 2 * 2 * 64 + 64  # 2 convs, 2 BN (scale, bias), PReLU
  expected = (conv(9, 3, 64) + 64 + 16 * block + conv(3, 64, 64) + 2 * 64
              + 2 * (conv(3, 64, 256) + 64) + conv(9, 64, 3))
  params = nnx.state(g, nnx.Param)
  assert sum(p.size for p in jax.tree.leaves(params)) == expected == 1_550_659


def test_batch_norm_stats_update_only_in_training():
  g = SRResNet(scale=2, num_blocks=1, features=8, rngs=_rngs())
  stats = lambda: jax.tree.leaves(nnx.state(g, nnx.BatchStat))
  before = [np.asarray(s) for s in stats()]
  x = jnp.asarray(np.random.default_rng(0).uniform(size=(2, 6, 6, 3)), jnp.float32)
  g(x, train=False)
  assert all(np.array_equal(a, b) for a, b in zip(before, stats()))
  g(x, train=True)
  assert any(not np.array_equal(a, b) for a, b in zip(before, stats()))


@pytest.mark.parametrize('pool,sizes', [('flatten', [32]), ('mean', [32, 40])])
def test_discriminator_logits_shape(pool, sizes):
  d = SRGANDiscriminator(features=4, pool=pool, input_size=32, rngs=_rngs())
  for size in sizes:
    x = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (3, size, size, 3)), jnp.float32)
    for train in (True, False):
      logits = d(x, train=train)
      assert logits.shape == (3,) and np.isfinite(np.asarray(logits)).all()


def test_discriminator_paper_size():
  d = nnx.eval_shape(lambda: SRGANDiscriminator(rngs=nnx.Rngs(0)))
  assert len(d.convs) == 8 and len(d.bns) == 7
  assert [c.kernel.shape[-1] for c in d.convs] == [64, 64, 128, 128, 256, 256, 512, 512]
  assert [c.strides for c in d.convs] == [1, 2] * 4
  assert d.dense1.kernel.shape == (6 * 6 * 512, 1024)  # flattened 96x96 crops
  graphdef, state = nnx.split(d)
  out = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s)(x, train=True), state,
                       jax.ShapeDtypeStruct((4, 96, 96, 3), jnp.float32))
  assert out.shape == (4,)


def test_discriminator_flatten_needs_a_valid_size():
  with pytest.raises(ValueError):
    SRGANDiscriminator(features=4, input_size=30, rngs=_rngs())


def test_icnr_init_upsamples_without_checkerboard():
  # Each 2x2 block of a freshly initialised sub-pixel stage holds one value: nearest-neighbour
  # upsampling of a convolution, which is what ICNR (Aitken et al. 2017) promises.
  from jaxgan.models.srresnet import Upsample2x
  up = Upsample2x(6, rngs=_rngs())
  x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 5, 7, 6)), jnp.float32)
  y = np.asarray(up(x))
  assert y.shape == (2, 10, 14, 6)
  block = y.reshape(2, 5, 2, 7, 2, 6)
  np.testing.assert_allclose(block, np.broadcast_to(block[:, :, :1, :, :1], block.shape))
  assert np.std(y) > 0


def test_generator_without_batchnorm_has_no_statistics_and_same_shapes():
  plain = SRResNet(scale=4, num_blocks=2, features=8, norm='none', rngs=_rngs())
  assert not jax.tree.leaves(nnx.state(plain, nnx.BatchStat))
  assert jax.tree.leaves(nnx.state(SRResNet(scale=4, num_blocks=2, features=8, rngs=_rngs()),
                                   nnx.BatchStat))
  x = jnp.zeros((1, 6, 6, 3))
  np.testing.assert_array_equal(plain(x, train=True), plain(x, train=False))
  assert plain(x, train=False).shape == (1, 24, 24, 3)
  with pytest.raises(ValueError, match="'batch' or 'none'"):
    SRResNet(norm='layer', rngs=_rngs())
