"""SNGAN's ResNets: shapes, parameter counts, self-attention, projection and conditional BN."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from configs import default
from jaxgan import models
from jaxgan.models import conditional, dcgan, resnet
from jaxgan.run import state as state_lib


def model_config(name='sngan', image_size=32, num_classes=0, attention_resolution=0, **fields):
  """A tiny SNGAN's model config; `fields` override any field."""
  m = default.get_config().model
  m.name, m.image_size, m.channels, m.z_dim, m.g_features, m.d_features = (
      name, image_size, 3, 16, 8, 8)
  m.num_classes, m.attention_resolution = num_classes, attention_resolution
  m.update(fields)
  return m


def pure(module):
  """(params, stats, jitted apply(params, stats, *args, train)) of a module."""
  graph, params, stats = state_lib.split(module)
  return params, stats, jax.jit(functools.partial(state_lib.apply, graph),
                                static_argnames='train')


def trees_equal(a, b) -> list[bool]:
  return [np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))]


# Each setting of each factor appears at least once (pairwise): size, conditional, attention.
@pytest.mark.parametrize('size,conditional_,attention', [
    (16, False, 8), (32, False, 0), (32, True, 16), (64, False, 32), (64, True, 0)])
def test_shapes_ranges_and_statistics(size, conditional_, attention):
  m = model_config('sngan_projection' if conditional_ else 'sngan', size, 3 * conditional_,
                   attention)
  g, d = models.build_models(m, nnx.Rngs(0))
  assert (g.attention is None, d.attention is None) == (not attention,) * 2
  z = jax.random.normal(jax.random.PRNGKey(0), (4, m.z_dim))
  labels = (jnp.array([0, 1, 2, 1]),) if conditional_ else ()

  g_params, g_stats, g_apply = pure(g)
  images, new_g_stats = g_apply(g_params, g_stats, z, *labels, train=True)
  assert images.shape == (4, size, size, 3) and images.dtype == jnp.float32
  assert np.all(np.abs(images) <= 1.0) and np.std(images) > 0.01
  assert not any(trees_equal(g_stats, new_g_stats))  # Every BatchNorm statistic moved.

  d_params, d_stats, d_apply = pure(d)
  logits, new_d_stats = d_apply(d_params, d_stats, images, *labels, train=True)
  assert logits.shape == (4,) and logits.dtype == jnp.float32
  assert np.all(np.isfinite(logits))
  moved = [not np.array_equal(a, b) for a, b in
           zip(jax.tree.leaves(d_stats), jax.tree.leaves(new_d_stats)) if a.size > 1]
  assert moved and all(moved)  # Every spectral norm's u moved (a 1-vector, the head's, can't).
  assert not jax.tree.leaves(nnx.state(d, nnx.BatchNorm))  # No BatchNorm in D.


def test_native_size_draws_the_output_through_the_native_grid():
  plain, native = model_config(image_size=16), model_config(image_size=16, g_native_size=8)
  (g_plain, _), (g_native, _) = (models.build_models(m, nnx.Rngs(0)) for m in (plain, native))
  z = jax.random.normal(jax.random.PRNGKey(1), (4, plain.z_dim))
  expected = dcgan.through_native_size(g_plain(z, train=False), 8)
  np.testing.assert_allclose(g_native(z, train=False), expected, atol=1e-6)
  assert np.abs(expected - g_plain(z, train=False)).max() > 0.01  # It changed the images.
  with pytest.raises(ValueError, match='model.g_native_size=32 must be below'):
    models.build_models(model_config(image_size=16, g_native_size=32), nnx.Rngs(0))


def test_rejected_settings_name_the_field():
  with pytest.raises(ValueError, match=r'model.image_size=48 .*valid: \[16, 32, 64\]'):
    models.build_models(model_config(image_size=48), nnx.Rngs(0))
  with pytest.raises(ValueError, match=r'model.attention_resolution=32 .*valid: \[0, 8, 16\]'):
    models.build_models(model_config(attention_resolution=32), nnx.Rngs(0))
  m = model_config()
  m.dtype = 'bfloat16'
  with pytest.raises(ValueError, match='model.dtype'):
    models.build_models(m, nnx.Rngs(0))
  assert 'sngan_projection' in models.CONDITIONAL and 'sngan' not in models.CONDITIONAL


# Parameter counts in closed form over the layers the module docstring describes.
def conv(k, cin, cout):  # A k x k convolution with bias.
  return k * k * cin * cout + cout


def bn(c):  # Scale and bias; running statistics are not parameters.
  return 2 * c


def sngan32_g(z, g, channels=3, num_classes=0):
  norm = (lambda c: 2 * num_classes * c) if num_classes else bn  # CBN: per-class scale, shift.
  block = norm(g) + conv(3, g, g) + norm(g) + conv(3, g, g) + conv(1, g, g)  # 1x1 shortcut.
  return (z * 16 * g + 16 * g) + 3 * block + bn(g) + conv(3, g, channels)


def sngan32_d(d, channels=3, num_classes=0):
  optimized = conv(3, channels, d) + conv(3, d, d) + conv(1, channels, d)
  down = 2 * conv(3, d, d) + conv(1, d, d)  # Downsampling: a learnable shortcut.
  plain = 2 * conv(3, d, d)  # Same shape: identity shortcut.
  return optimized + down + 2 * plain + (d + 1) + num_classes * d  # Linear head, embedding.


def sngan64_g(z, g, channels=3):
  widths = [16 * g, 8 * g, 4 * g, 2 * g, g]
  blocks = sum(bn(a) + conv(3, a, b) + bn(b) + conv(3, b, b) + conv(1, a, b)
               for a, b in zip(widths, widths[1:]))
  return (z * 16 * widths[0] + 16 * widths[0]) + blocks + bn(g) + conv(3, g, channels)


def sngan64_d(d, channels=3):
  widths = [d, 2 * d, 4 * d, 8 * d, 16 * d]
  optimized = conv(3, channels, d) + conv(3, d, d) + conv(1, channels, d)
  # Down-blocks: the first conv keeps the input width (chainer, Mimicry).
  blocks = sum(conv(3, a, a) + conv(3, a, b) + conv(1, a, b) for a, b in zip(widths, widths[1:]))
  return optimized + blocks + (16 * d + 1)


def num_params(module) -> int:
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(nnx.state(module, nnx.Param)))


def test_parameter_counts_of_the_published_architectures():
  build = lambda *args, **fields: nnx.eval_shape(lambda: models.build_models(
      model_config(*args, z_dim=128, **fields), nnx.Rngs(0)))
  g, d = build('sngan', 32, g_features=256, d_features=128)  # SNGAN's CIFAR-10 networks.
  assert num_params(g) == sngan32_g(128, 256) == 4_276_739
  assert num_params(d) == sngan32_d(128) == 1_053_825
  g, d = build('sngan_projection', 32, 10, g_features=256, d_features=128)
  assert num_params(g) == sngan32_g(128, 256, num_classes=10)
  assert num_params(d) == sngan32_d(128, num_classes=10)
  g, d = build('sngan', 64, g_features=64, d_features=64)
  assert num_params(g) == sngan64_g(128, 64)  # Mimicry's SNGAN64 (ngf = ndf = 1024).
  assert num_params(d) == sngan64_d(64)


def numpy_attention(x, wq, wk, wv, wo, gamma):
  """SAGAN's formula, position by position, with 2x2 max-pooled keys and values."""
  b, h, w, _ = x.shape
  out = np.array(x, np.float64)
  for n in range(b):
    q, k, v = x[n] @ wq, x[n] @ wk, x[n] @ wv
    windows = [(i, j) for i in range(0, h, 2) for j in range(0, w, 2)]
    keys = np.stack([k[i:i + 2, j:j + 2].max(axis=(0, 1)) for i, j in windows])
    values = np.stack([v[i:i + 2, j:j + 2].max(axis=(0, 1)) for i, j in windows])
    for i in range(h):
      for j in range(w):
        scores = keys @ q[i, j]
        weights = np.exp(scores - scores.max())
        out[n, i, j] += gamma * (weights / weights.sum()) @ values @ wo
  return out


@pytest.mark.parametrize('spectral_norm', [False, True])
def test_self_attention_against_numpy(spectral_norm):
  block = resnet.SelfAttention(16, spectral_norm, rngs=nnx.Rngs(0))
  block.gamma[...] = jnp.array(0.7)
  weights = []
  for layer in (block.query, block.key, block.value, block.out):
    if spectral_norm:  # Start u at the top singular vector: sigma is then numpy's.
      kernel = np.asarray(layer.layer.kernel[...], np.float64)
      _, s, vt = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]))
      layer.u[...] = jnp.asarray(vt[0], jnp.float32)
      weights.append(kernel[0, 0] / s[0])
    else:
      weights.append(np.asarray(layer.kernel[...], np.float64)[0, 0])
  x = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (2, 6, 4, 16)))
  expected = numpy_attention(x.astype(np.float64), *weights, 0.7)
  np.testing.assert_allclose(block(jnp.asarray(x), train=False), expected, rtol=1e-4,
                             atol=1e-5)


def test_self_attention_is_the_identity_at_init():
  block = resnet.SelfAttention(16, True, rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.PRNGKey(1), (2, 8, 8, 16))
  np.testing.assert_array_equal(block(x, train=True), x)


def test_projection_logit_is_psi_plus_embedding_inner_product():
  d = resnet.ProjectionDiscriminator(32, 3, 8, num_classes=4, rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.PRNGKey(1), (3, 32, 32, 3))
  labels = jnp.array([0, 3, 1])
  logits, h = nnx.jit(lambda d: (d(x, labels, train=False), d.features(x, train=False)))(d)

  def sigma(sn):  # One power iteration from the stored u, in numpy.
    w = np.asarray((sn.layer.embedding if hasattr(sn.layer, 'embedding') else
                    sn.layer.kernel)[...], np.float64)
    v = w @ np.asarray(sn.u[...], np.float64)
    v /= np.linalg.norm(v)
    u = w.T @ v
    return v @ w @ (u / np.linalg.norm(u))

  h = np.asarray(h, np.float64)
  psi = h @ np.asarray(d.head.layer.kernel[...]) / sigma(d.head) + np.asarray(
      d.head.layer.bias[...])
  embed = np.asarray(d.embed.layer.embedding[...])[np.asarray(labels)] / sigma(d.embed)
  np.testing.assert_allclose(logits, psi[:, 0] + np.sum(embed * h, axis=-1), rtol=1e-4,
                             atol=1e-4)


def test_conditional_batchnorm_uses_each_sample_s_class():
  g = resnet.ConditionalGenerator(32, 3, 16, 8, num_classes=3, rngs=nnx.Rngs(0))
  keys = iter(jax.random.split(jax.random.PRNGKey(1), 64))
  for block in g.blocks:  # Per-class scales and shifts that differ (init: ones and zeros).
    for norm in (block.norm1, block.norm2):
      norm.scale.embedding[...] += 0.5 * jax.random.normal(next(keys), norm.scale.embedding.shape)
      norm.shift.embedding[...] += 0.5 * jax.random.normal(next(keys), norm.shift.embedding.shape)

  # In evaluation mode (running statistics), the right class's row scales and shifts each sample.
  norm = g.blocks[0].norm1
  x = jax.random.normal(next(keys), (2, 4, 4, 8))
  expected = (x / np.sqrt(1 + 1e-5) * norm.scale.embedding[...][jnp.array([2, 0]), None, None]
              + norm.shift.embedding[...][jnp.array([2, 0]), None, None])
  np.testing.assert_allclose(norm(x, jnp.array([2, 0]), False), expected, rtol=1e-5, atol=1e-5)
  assert isinstance(norm, conditional.ConditionalBatchNorm)

  z = jnp.repeat(jax.random.normal(next(keys), (1, 16)), 2, axis=0)  # Two equal noises.
  generate = nnx.jit(lambda g, labels: g(z, labels, train=False))
  two = np.asarray(generate(g, jnp.array([1, 0])))
  same = np.asarray(generate(g, jnp.array([1, 1])))
  assert np.abs(two[0] - two[1]).max() > 1e-3  # Different classes, different images.
  np.testing.assert_allclose(same[0], same[1], atol=1e-6)  # Same class, same image.
  np.testing.assert_allclose(two[0], same[0], atol=1e-6)  # Sample 0 only sees its own label.


def test_batchnorm_trains_on_batch_statistics_and_evaluates_on_running_ones():
  g = resnet.Generator(32, 3, 16, 8, rngs=nnx.Rngs(0))
  params, stats, g_apply = pure(g)
  z = jax.random.normal(jax.random.PRNGKey(1), (4, 16))
  train4, moved = g_apply(params, stats, z, train=True)
  train2, _ = g_apply(params, stats, z[:2], train=True)
  assert not any(trees_equal(stats, moved))
  assert np.abs(train4[:2] - train2).max() > 1e-3  # Batch statistics: depends on the batch.
  eval4, kept = g_apply(params, moved, z, train=False)
  eval2, _ = g_apply(params, moved, z[:2], train=False)
  assert all(trees_equal(moved, kept))
  np.testing.assert_allclose(eval4[:2], eval2, atol=1e-6)  # Running statistics: per sample.


def test_conv_impl_auto_follows_the_backend(monkeypatch):
  import jax
  import ml_collections
  from configs import default
  from jaxgan import models
  from jaxgan.run import run_record
  assert default.get_config().model.conv_impl == 'auto'
  m = ml_collections.ConfigDict({'conv_impl': 'auto'})
  for backend, impl in (('cpu', 'fast'), ('gpu', 'xla'), ('tpu', 'xla')):
    monkeypatch.setattr(jax, 'default_backend', lambda b=backend: b)
    assert models.conv_impl(m) == impl
  assert models.conv_impl(ml_collections.ConfigDict({'conv_impl': 'phase'})) == 'phase'
  # A run started with 'fast' resumes under 'auto' (same function): a free field.
  saved, config = default.get_config().to_dict(), default.get_config()
  saved['model']['conv_impl'] = 'fast'
  run_record.check_resume(saved, config, 'runs/x')
