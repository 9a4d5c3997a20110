"""The training state: one immutable pytree, plus the static graphs and optimizers it needs."""

from typing import Any, NamedTuple

import flax
import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import nnx

from jaxgan import models
from jaxgan.run.state import init_keys, split

Pytree = Any


@flax.struct.dataclass
class GANState:
  """Everything that changes during training. Params and stats are pure nested dicts."""
  step: jax.Array  # int32 scalar: number of completed G updates.
  key: jax.Array  # Base PRNG key; step keys are fold_in(key, step).
  g_params: Pytree
  g_stats: Pytree  # BatchNorm running statistics ({} when the model has none).
  d_params: Pytree
  d_stats: Pytree
  g_opt: Pytree
  d_opt: Pytree
  ema_params: Pytree  # Exponential moving average of g_params, used for sampling.


class GAN(NamedTuple):
  """What stays fixed during training: module graphs and optimizers (not checkpointed)."""
  g_graph: nnx.GraphDef
  d_graph: nnx.GraphDef
  g_tx: optax.GradientTransformation
  d_tx: optax.GradientTransformation


def learning_rate(config: ml_collections.ConfigDict, lr: float, updates_per_step: int = 1):
  """`lr` times optim.lr_scale, constant or decayed linearly to 0 by the last step.

  Optax counts optimizer updates: D makes `updates_per_step` (n_critic) of them per step.
  """
  optim = config.optim
  lr = lr * optim.lr_scale  # Lowered by non-finite rollbacks.
  if optim.lr_schedule == 'constant':
    return lr
  if optim.lr_schedule == 'linear':
    start = optim.decay_start
    if not 0 <= start < config.num_steps:
      raise ValueError(f'optim.decay_start={start} must lie in [0, num_steps={config.num_steps}).')
    return optax.linear_schedule(lr, 0.0, (config.num_steps - start) * updates_per_step,
                                 transition_begin=start * updates_per_step)
  raise ValueError(f"Unknown optim.lr_schedule={optim.lr_schedule!r}; valid: ['constant', "
                   f"'linear'].")


def make_optimizer(optim: ml_collections.ConfigDict, lr) -> optax.GradientTransformation:
  if optim.name == 'adam':
    return optax.adam(lr, b1=optim.b1, b2=optim.b2)
  if optim.name == 'rmsprop':  # PyTorch's RMSprop defaults, as WGAN used (no momentum).
    return optax.rmsprop(lr, decay=0.99, eps=1e-8)
  raise ValueError(f"Unknown optim.name={optim.name!r}; valid names: ['adam', 'rmsprop'].")


def create(config: ml_collections.ConfigDict):
  """Returns (gan, init_fn) where init_fn() -> GANState can be traced (jit / eval_shape)."""
  init_key, train_key = init_keys(config.seed)
  g_tx = make_optimizer(config.optim, learning_rate(config, config.optim.g_lr))
  d_tx = make_optimizer(config.optim, learning_rate(config, config.optim.d_lr,
                                                    config.optim.n_critic))
  # The graphs are static; building the models abstractly gets them without allocating.
  g, d = nnx.eval_shape(lambda: models.build_models(config.model, nnx.Rngs(0)))
  gan = GAN(split(g)[0], split(d)[0], g_tx, d_tx)

  def init_fn() -> GANState:
    g, d = models.build_models(config.model, nnx.Rngs(init_key))
    _, g_params, g_stats = split(g)
    _, d_params, d_stats = split(d)
    return GANState(
        step=jnp.zeros((), jnp.int32), key=train_key,
        g_params=g_params, g_stats=g_stats, d_params=d_params, d_stats=d_stats,
        g_opt=g_tx.init(g_params), d_opt=d_tx.init(d_params),
        ema_params=jax.tree.map(jnp.copy, g_params))

  return gan, init_fn
