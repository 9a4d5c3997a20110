"""SR training state: the generator (and, for SRGAN, the discriminator) as one pytree."""

from typing import Any, NamedTuple

import flax
import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import nnx

from jaxgan.models.srresnet import SRGANDiscriminator
from jaxgan.sr.models import build_generator
from jaxgan.run.state import init_keys, split

Pytree = Any


@flax.struct.dataclass
class SRState:
  """Everything that changes during SR training. The D fields are {} without an adversary."""
  step: jax.Array  # int32 scalar: number of completed updates.
  key: jax.Array  # Base PRNG key; step keys are fold_in(key, step).
  g_params: Pytree
  g_stats: Pytree
  d_params: Pytree
  d_stats: Pytree
  g_opt: Pytree
  d_opt: Pytree


class SRModels(NamedTuple):
  """Static graphs and optimizers (not checkpointed). d_graph is None without an adversary."""
  g_graph: nnx.GraphDef
  d_graph: nnx.GraphDef | None
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation | None


def has_adversary(config: ml_collections.ConfigDict) -> bool:
  return config.sr.adversarial_weight > 0


def build_discriminator(m: ml_collections.ConfigDict, rngs: nnx.Rngs) -> SRGANDiscriminator:
  return SRGANDiscriminator(features=m.d_features, channels=m.channels, pool=m.d_pool,
                            input_size=m.image_size, rngs=rngs)


def make_optimizer(optim: ml_collections.ConfigDict, lr: float) -> optax.GradientTransformation:
  """Adam; SRGAN drops the learning rate 10x after `lr_drop_step` updates (0: never)."""
  if optim.name != 'adam':
    raise ValueError(f"optim.name={optim.name!r}: SR training supports 'adam' only.")
  lr = lr * optim.lr_scale  # Lowered by non-finite rollbacks.
  schedule = (optax.piecewise_constant_schedule(lr, {optim.lr_drop_step: 0.1})
              if optim.lr_drop_step else lr)
  return optax.adam(schedule, b1=optim.b1, b2=optim.b2)


def create(config: ml_collections.ConfigDict):
  """Returns (models, init_fn) where init_fn() -> SRState can be traced (jit / eval_shape)."""
  init_key, train_key = init_keys(config.seed)
  adversary = has_adversary(config)
  g_tx = make_optimizer(config.optim, config.optim.g_lr)
  d_tx = make_optimizer(config.optim, config.optim.d_lr) if adversary else None
  g_graph = split(nnx.eval_shape(lambda: build_generator(config.model, nnx.Rngs(0))))[0]
  d_graph = (split(nnx.eval_shape(lambda: build_discriminator(config.model, nnx.Rngs(0))))[0]
             if adversary else None)
  models = SRModels(g_graph, d_graph, g_tx, d_tx)

  def init_fn() -> SRState:
    g_key, d_key = jax.random.split(init_key)
    _, g_params, g_stats = split(build_generator(config.model, nnx.Rngs(g_key)))
    d_params = d_stats = d_opt = {}
    if adversary:
      _, d_params, d_stats = split(build_discriminator(config.model, nnx.Rngs(d_key)))
      d_opt = d_tx.init(d_params)
    return SRState(step=jnp.zeros((), jnp.int32), key=train_key, g_params=g_params,
                   g_stats=g_stats, d_params=d_params, d_stats=d_stats,
                   g_opt=g_tx.init(g_params), d_opt=d_opt)

  return models, init_fn
