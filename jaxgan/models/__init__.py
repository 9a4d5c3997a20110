"""Model registry: `config.model.name` -> a function building (generator, discriminator)."""

from typing import Callable

import jax
import jax.numpy as jnp
import ml_collections
from flax import nnx

from jaxgan.models import conditional, dcgan, r3gan, resnet, toy


def build_dcgan(m: ml_collections.ConfigDict, rngs: nnx.Rngs):
  g = dcgan.Generator(**dcgan_kwargs(m)[0], rngs=rngs)
  d = dcgan.Discriminator(**dcgan_kwargs(m)[1], rngs=rngs)
  return g, d


def conv_impl(m: ml_collections.ConfigDict) -> str:
  """model.conv_impl, with 'auto' resolved for this backend: 'fast' (derivatives hand-written
  for XLA:CPU, measured faster there) on CPU, 'xla' (cuDNN / TPU convolutions) elsewhere.

  Every choice is the same function of the same parameters, so a run may resume on another.
  """
  impl = m.get('conv_impl', 'phase')  # Configs saved before the field existed: as they ran.
  if impl == 'auto':
    return 'fast' if jax.default_backend() == 'cpu' else 'xla'
  return impl


# model.dtype -> the dtype layers compute in (None: their default, float32). Params stay f32.
COMPUTE_DTYPES = {'float32': None, 'bfloat16': jnp.bfloat16}


def compute_dtype(m: ml_collections.ConfigDict):
  name = m.get('dtype', 'float32')
  if name not in COMPUTE_DTYPES:
    raise ValueError(f'Unknown model.dtype={name!r}; valid: {sorted(COMPUTE_DTYPES)}.')
  return COMPUTE_DTYPES[name]


def dcgan_kwargs(m: ml_collections.ConfigDict) -> tuple[dict, dict]:
  """Keyword arguments of dcgan.Generator and dcgan.Discriminator, shared by the variants."""
  g = dict(image_size=m.image_size, channels=m.channels, z_dim=m.z_dim, features=m.g_features,
           input_layer=m.g_input, upsample=m.g_upsample, kernel_size=m.g_kernel_size,
           conv_impl=conv_impl(m), dtype=compute_dtype(m),
           native_size=m.get('g_native_size', 0))  # Configs saved before the field: off.
  d = dict(image_size=m.image_size, channels=m.channels, features=m.d_features, norm=m.d_norm,
           kernel_size=m.d_kernel_size, conv_impl=conv_impl(m),
           dtype=compute_dtype(m))
  return g, d


def build_cgan(m: ml_collections.ConfigDict, rngs: nnx.Rngs):
  g, d = dcgan_kwargs(m)
  return (conditional.LabelGenerator(g, m.num_classes, m.embed_dim, rngs=rngs),
          conditional.LabelChannelDiscriminator(d, m.num_classes, m.embed_dim, rngs=rngs))


def build_acgan(m: ml_collections.ConfigDict, rngs: nnx.Rngs):
  g, d = dcgan_kwargs(m)
  return (conditional.LabelGenerator(g, m.num_classes, m.embed_dim, rngs=rngs),
          conditional.AuxiliaryClassifierDiscriminator(d, m.num_classes, rngs=rngs))


def build_projection(m: ml_collections.ConfigDict, rngs: nnx.Rngs):
  g, d = dcgan_kwargs(m)
  return (conditional.ConditionalBatchNormGenerator(g, m.num_classes, rngs=rngs),
          conditional.ProjectionDiscriminator(d, m.num_classes, rngs=rngs))


def sngan_kwargs(m: ml_collections.ConfigDict) -> tuple[dict, dict]:
  """Keyword arguments of the SNGAN ResNets (jaxgan.models.resnet), G's and D's.

  Reads model.image_size (16, 32 or 64), channels, z_dim, g_features, d_features,
  attention_resolution (0: no self-attention) and g_native_size (0: off); not d_norm: D is always
  spectrally normalised.
  """
  if compute_dtype(m) is not None:
    raise ValueError(f'model.dtype={m.dtype!r}: the SNGAN ResNets compute in float32; valid: '
                     "['float32'].")
  attention = m.get('attention_resolution', 0)  # Configs saved before the field: none.
  g = dict(image_size=m.image_size, channels=m.channels, z_dim=m.z_dim, features=m.g_features,
           attention_resolution=attention, native_size=m.get('g_native_size', 0))
  d = dict(image_size=m.image_size, channels=m.channels, features=m.d_features,
           attention_resolution=attention)
  return g, d


def build_sngan(m: ml_collections.ConfigDict, rngs: nnx.Rngs):
  """SNGAN (Miyato et al. 2018): ResNet G, spectrally normalised ResNet D; see sngan_kwargs."""
  g, d = sngan_kwargs(m)
  return resnet.Generator(**g, rngs=rngs), resnet.Discriminator(**d, rngs=rngs)


def build_sngan_projection(m: ml_collections.ConfigDict, rngs: nnx.Rngs):
  """SNGAN with class-conditional BatchNorm in G and a projection D (Miyato & Koyama 2018).

  Reads sngan_kwargs' fields and model.num_classes.
  """
  g, d = sngan_kwargs(m)
  return (resnet.ConditionalGenerator(**g, num_classes=m.num_classes, rngs=rngs),
          resnet.ProjectionDiscriminator(**d, num_classes=m.num_classes, rngs=rngs))


def group_conv_impl(m: ml_collections.ConfigDict) -> str:
  """model.r3gan_group_conv, with 'auto' resolved: 'split' on CPU (XLA:CPU's grouped
  convolutions are ~10-25x slower, jaxgan.models.r3gan), 'xla' elsewhere. The same function."""
  impl = m.get('r3gan_group_conv', 'auto')
  if impl == 'auto':
    return 'split' if jax.default_backend() == 'cpu' else 'xla'
  return impl


def r3gan_kwargs(m: ml_collections.ConfigDict) -> tuple[dict, dict]:
  """Keyword arguments of R3GAN's G and D (jaxgan.models.r3gan): model.image_size, channels,
  z_dim, g_features / d_features (times r3gan_width_mults per stage, D's mirrored),
  r3gan_blocks, r3gan_group_width, r3gan_expansion, r3gan_group_conv, g_native_size."""
  if compute_dtype(m) is not None:
    raise ValueError(f'model.dtype={m.dtype!r}: the R3GAN networks compute in float32; valid: '
                     "['float32'].")
  shared = dict(image_size=m.image_size, channels=m.channels, width_mults=m.r3gan_width_mults,
                blocks=m.r3gan_blocks, group_width=m.r3gan_group_width,
                expansion=m.r3gan_expansion, group_conv=group_conv_impl(m),
                num_classes=m.get('num_classes', 0))
  return (shared | dict(z_dim=m.z_dim, features=m.g_features,
                        native_size=m.get('g_native_size', 0)),
          shared | dict(features=m.d_features))


def build_r3gan(m: ml_collections.ConfigDict, rngs: nnx.Rngs):
  """R3GAN (Huang et al. 2024): residual ConvNets without normalisation; see r3gan_kwargs."""
  g, d = r3gan_kwargs(m)
  return r3gan.Generator(**g, rngs=rngs), r3gan.Discriminator(**d, rngs=rngs)


def build_r3gan_conditional(m: ml_collections.ConfigDict, rngs: nnx.Rngs):
  """R3GAN with their class conditioning: G gets [z, embed(y)], D's logit is <head(x), embed(y)>.

  Reads r3gan_kwargs' fields and model.num_classes.
  """
  g, d = r3gan_kwargs(m)
  return (r3gan.ConditionalGenerator(**g, rngs=rngs),
          r3gan.ConditionalDiscriminator(**d, rngs=rngs))


def build_toy(m: ml_collections.ConfigDict, rngs: nnx.Rngs):
  return (toy.Generator(m.z_dim, tuple(m.hidden), rngs=rngs),
          toy.Discriminator(tuple(m.d_hidden), rngs=rngs))


MODELS: dict[str, Callable] = {
    'dcgan': build_dcgan,
    'toy': build_toy,
    'cgan': build_cgan,
    'acgan': build_acgan,
    'projection': build_projection,
    'sngan': build_sngan,
    'sngan_projection': build_sngan_projection,
    'r3gan': build_r3gan,
    'r3gan_conditional': build_r3gan_conditional,
}

# Models whose G and D take labels: G(z, labels, train), D(x, labels, train).
CONDITIONAL = frozenset({'cgan', 'acgan', 'projection', 'sngan_projection',
                         'r3gan_conditional'})


def check_conditioning(m: ml_collections.ConfigDict) -> None:
  """Conditional models need model.num_classes > 0; the others need it to be 0."""
  num_classes = m.get('num_classes', 0)  # Configs saved before conditioning existed lack it.
  if m.name in CONDITIONAL and num_classes <= 0:
    raise ValueError(f'model.name={m.name!r} is class-conditional: set model.num_classes to '
                     f'the number of classes of the data (e.g. 10 for digits or cifar10).')
  if m.name not in CONDITIONAL and num_classes != 0:
    raise ValueError(f'model.name={m.name!r} is unconditional but model.num_classes='
                     f'{num_classes}: set model.num_classes=0 or pick one of '
                     f'{sorted(CONDITIONAL)}.')


def build_models(model_config: ml_collections.ConfigDict, rngs: nnx.Rngs):
  """Returns the (generator, discriminator) pair named by `model_config.name`."""
  if model_config.name not in MODELS:
    raise ValueError(f'Unknown model.name={model_config.name!r}; valid names: {sorted(MODELS)}.')
  check_conditioning(model_config)
  return MODELS[model_config.name](model_config, rngs)
