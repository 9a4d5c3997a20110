"""The training state: one immutable pytree, plus the static graphs and optimizers it needs."""

from typing import Any, NamedTuple

import flax
import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import nnx

from jaxgan import models
from jaxgan.gan import schedules
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
  """`lr` times optim.lr_scale: constant, decayed linearly to 0 by the last step, or R3GAN's
  cosine to lr * optim.lr_end_factor over config.schedule_images (jaxgan.gan.schedules).

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
  if optim.lr_schedule == 'cosine':
    return schedules.of_update(config, 'cosine', 'optim.lr_schedule', lr,
                               lr * optim.get('lr_end_factor', 0.0), updates_per_step)
  raise ValueError(f"Unknown optim.lr_schedule={optim.lr_schedule!r}; valid: ['constant', "
                   f"'cosine', 'linear'].")


def beta2(config: ml_collections.ConfigDict, updates_per_step: int = 1):
  """Adam's b2: optim.b2 (a float), or a schedule (optim.b2_schedule) of the update count from
  it to optim.b2_end. Constant stays a float so the optimizer (and its state) is plain Adam's."""
  optim = config.optim
  name = optim.get('b2_schedule', 'constant')  # Configs saved before the field: constant.
  if schedules.check(name, 'optim.b2_schedule') is schedules.constant:
    return optim.b2
  return schedules.of_update(config, name, 'optim.b2_schedule', optim.b2,
                             optim.get('b2_end', optim.b2), updates_per_step)


def make_optimizer(optim: ml_collections.ConfigDict, lr, b2=None) -> optax.GradientTransformation:
  """optim.name's optimizer at learning rate `lr` (a float or a schedule of the update count).

  A callable `b2` (Adam's beta2 as a schedule of the update count) goes through
  optax.inject_hyperparams, which keeps the current hyperparameters in the optimizer state.
  """
  if optim.name == 'adam':
    if callable(b2):
      return optax.inject_hyperparams(optax.adam)(learning_rate=lr, b1=optim.b1, b2=b2)
    return optax.adam(lr, b1=optim.b1, b2=optim.b2 if b2 is None else b2)
  if optim.name == 'rmsprop':  # PyTorch's RMSprop defaults, as WGAN used (no momentum).
    if callable(b2):
      raise ValueError('optim.b2_schedule applies to Adam, not optim.name=rmsprop: set it to '
                       "'constant'.")
    return optax.rmsprop(lr, decay=0.99, eps=1e-8)
  raise ValueError(f"Unknown optim.name={optim.name!r}; valid names: ['adam', 'rmsprop'].")


def create(config: ml_collections.ConfigDict):
  """Returns (gan, init_fn) where init_fn() -> GANState can be traced (jit / eval_shape)."""
  init_key, train_key = init_keys(config.seed)
  n_critic = config.optim.n_critic
  g_tx = make_optimizer(config.optim, learning_rate(config, config.optim.g_lr), beta2(config))
  d_tx = make_optimizer(config.optim, learning_rate(config, config.optim.d_lr, n_critic),
                        beta2(config, n_critic))
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
