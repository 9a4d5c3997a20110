"""Class-conditional generators and discriminators: CGAN, ACGAN and the projection GAN.

Every conditional generator is called as `G(z, labels, train)` and every discriminator as
`D(x, labels, train)`, with int32 labels of shape (B,). They reuse the DCGAN stacks of
`dcgan.py`, so widths, kernels, norms and resolutions follow the same config fields.

- CGAN (Mirza & Osindero 2014; report 003): G gets an embedding of the label concatenated to
  its noise; D gets the label as one extra H x W input channel (embedding -> dense -> reshape).
- ACGAN (Odena et al. 2017; report 002): G as CGAN; D sees the image only and has a second
  head that classifies it, returning `(adv_logits (B,), class_logits (B, num_classes))`.
- Projection (Miyato & Koyama 2018): G with conditional BatchNorm (per-class scale and shift);
  D adds the inner product of a class embedding with its pooled features to its logit.
"""

import jax.numpy as jnp
from flax import nnx

from jaxgan.models import dcgan


class LabelGenerator(nnx.Module):
  """CGAN/ACGAN generator: a DCGAN generator fed [z, embed(label)]."""

  def __init__(self, g_kwargs: dict, num_classes: int, embed_dim: int, *, rngs: nnx.Rngs):
    self.embed = nnx.Embed(num_classes, embed_dim, rngs=rngs)
    g_kwargs = g_kwargs | dict(z_dim=g_kwargs['z_dim'] + embed_dim)
    self.net = dcgan.Generator(**g_kwargs, rngs=rngs)

  def __call__(self, z, labels, train: bool = True):
    return self.net(jnp.concatenate([z, self.embed(labels)], axis=-1), train)


class LabelChannelDiscriminator(nnx.Module):
  """CGAN discriminator: the label becomes one extra image channel (report 003)."""

  def __init__(self, d_kwargs: dict, num_classes: int, embed_dim: int, *, rngs: nnx.Rngs):
    self.size = d_kwargs['image_size']
    self.embed = nnx.Embed(num_classes, embed_dim, rngs=rngs)
    self.to_plane = nnx.Linear(embed_dim, self.size * self.size, rngs=rngs)
    self.net = dcgan.Discriminator(**(d_kwargs | dict(channels=d_kwargs['channels'] + 1)),
                                   rngs=rngs)

  def __call__(self, x, labels, train: bool = True):
    plane = self.to_plane(self.embed(labels)).reshape(x.shape[0], self.size, self.size, 1)
    return self.net(jnp.concatenate([x, plane], axis=-1), train)


class AuxiliaryClassifierDiscriminator(nnx.Module):
  """ACGAN discriminator: a real/fake head and a class head on the same features."""

  def __init__(self, d_kwargs: dict, num_classes: int, *, rngs: nnx.Rngs):
    self.net = dcgan.Discriminator(**d_kwargs, rngs=rngs)
    base, n = dcgan.num_doublings(d_kwargs['image_size'])
    width = d_kwargs['features'] * 2 ** (n - 1)
    self.to_classes = nnx.Conv(width, num_classes, (base, base), padding='VALID',
                               kernel_init=dcgan.conv_init, rngs=rngs)

  def __call__(self, x, labels=None, train: bool = True):
    del labels  # ACGAN's D infers the class; it is not told it.
    h = self.net.features(x, train)
    adv = self.net.to_logit(h).reshape(x.shape[0])
    classes = self.to_classes(h).reshape(x.shape[0], -1)
    return adv.astype(jnp.float32), classes.astype(jnp.float32)


class ProjectionDiscriminator(nnx.Module):
  """logit = psi(h) + <embed(y), h> with h the spatially summed last features (Miyato 2018)."""

  def __init__(self, d_kwargs: dict, num_classes: int, *, rngs: nnx.Rngs):
    self.net = dcgan.Discriminator(**d_kwargs, rngs=rngs)
    _, n = dcgan.num_doublings(d_kwargs['image_size'])
    width = d_kwargs['features'] * 2 ** (n - 1)
    self.psi = nnx.Linear(width, 1, kernel_init=dcgan.conv_init, rngs=rngs)
    self.embed = nnx.Embed(num_classes, width, embedding_init=dcgan.conv_init, rngs=rngs)

  def __call__(self, x, labels, train: bool = True):
    h = jnp.sum(self.net.features(x, train), axis=(1, 2))
    logits = self.psi(h)[:, 0] + jnp.sum(self.embed(labels) * h, axis=-1)
    return logits.astype(jnp.float32)


class ConditionalBatchNorm(nnx.Module):
  """BatchNorm without its own affine; scale and shift are looked up per class."""

  def __init__(self, features: int, num_classes: int, *, rngs: nnx.Rngs):
    self.norm = nnx.BatchNorm(features, use_scale=False, use_bias=False, momentum=0.9,
                              epsilon=1e-5, rngs=rngs)
    self.scale = nnx.Embed(num_classes, features, embedding_init=nnx.initializers.ones,
                           rngs=rngs)
    self.shift = nnx.Embed(num_classes, features, embedding_init=nnx.initializers.zeros,
                           rngs=rngs)

  def __call__(self, x, labels, train: bool):
    x = self.norm(x, use_running_average=not train)
    return x * self.scale(labels)[:, None, None, :] + self.shift(labels)[:, None, None, :]


class ConditionalBatchNormGenerator(nnx.Module):
  """The DCGAN generator with every BatchNorm made class-conditional (projection GAN's G)."""

  def __init__(self, g_kwargs: dict, num_classes: int, *, rngs: nnx.Rngs):
    self.net = dcgan.Generator(**g_kwargs, rngs=rngs)
    widths = [norm.num_features for norm in self.net.norms]
    self.net.norms = nnx.List([ConditionalBatchNorm(w, num_classes, rngs=rngs) for w in widths])

  def __call__(self, z, labels, train: bool = True):
    net = self.net
    if net.input_layer == 'linear':
      x = net.project(z).reshape(z.shape[0], net.base, net.base, -1)
    else:
      x = net.project(z[:, None, None, :])
    x = nnx.relu(net.norms[0](x, labels, train))
    for up, norm in zip(net.ups, net.norms[1:]):
      x = nnx.relu(norm(up(x), labels, train))
    # f32 even when computing in bf16.
    return dcgan.through_native_size(jnp.tanh(net.to_image(x)).astype(jnp.float32),
                                     net.native_size)
