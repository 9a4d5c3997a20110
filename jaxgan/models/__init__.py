"""Model registry: `config.model.name` -> a function building (generator, discriminator)."""

from typing import Callable

import ml_collections
from flax import nnx

from jaxgan.models import dcgan, toy


def build_dcgan(m: ml_collections.ConfigDict, rngs: nnx.Rngs):
  g = dcgan.Generator(m.image_size, m.channels, m.z_dim, m.g_features, m.g_input, m.g_upsample,
                      m.g_kernel_size, rngs=rngs)
  d = dcgan.Discriminator(m.image_size, m.channels, m.d_features, m.d_norm, m.d_kernel_size,
                          rngs=rngs)
  return g, d


def build_toy(m: ml_collections.ConfigDict, rngs: nnx.Rngs):
  return (toy.Generator(m.z_dim, tuple(m.hidden), rngs=rngs),
          toy.Discriminator(tuple(m.d_hidden), rngs=rngs))


MODELS: dict[str, Callable] = {
    'dcgan': build_dcgan,
    'toy': build_toy,
}


def build_models(model_config: ml_collections.ConfigDict, rngs: nnx.Rngs):
  """Returns the (generator, discriminator) pair named by `model_config.name`."""
  if model_config.name not in MODELS:
    raise ValueError(f'Unknown model.name={model_config.name!r}; valid names: {sorted(MODELS)}.')
  return MODELS[model_config.name](model_config, rngs)
