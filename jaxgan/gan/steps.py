"""The pure training step: n_critic D updates, one G update, the generator EMA.

`train_step(state, batch) -> (state, metrics)` is a pure function of its inputs. All randomness
comes from fold_in(state.key, state.step), so a resumed run draws exactly the numbers an
uninterrupted one would, on any number of devices.
"""

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import optax

from jaxgan import losses
from jaxgan.gan import augment, schedules
from jaxgan.gan.state import GAN, GANState
from jaxgan.run.state import apply

Pytree = Any

TARGETS_SALT = 0x7A6E  # Soft-target key of a D update: fold_in(update key, salt).
AUGMENT_SALT = 0xA06  # DiffAugment key of an update: fold_in(update key, salt).
# DiffAugment key of the real batch a relativistic G update compares with.
REAL_AUGMENT_SALT = 0xA07


def global_norm(tree) -> jax.Array:
  return optax.global_norm(tree)


def sample_noise(key, batch_size: int, z_dim: int) -> jax.Array:
  return jax.random.normal(key, (batch_size, z_dim), jnp.float32)


def conditioned(x, labels):
  """Positional inputs of a module: conditional models also take labels (None: unconditional)."""
  return (x,) if labels is None else (x, labels)


def generate(gan: GAN, params, stats, z, train: bool, labels=None):
  return apply(gan.g_graph, params, stats, *conditioned(z, labels), train=train)


def discriminate(gan: GAN, params, stats, x, labels=None):
  """((adversarial logits (B,), class logits (B, C) or None), updated statistics).

  ACGAN's D returns both heads; every other D returns adversarial logits only.
  """
  out, stats = apply(gan.d_graph, params, stats, *conditioned(x, labels), train=True)
  return (out if isinstance(out, tuple) else (out, None)), stats


def layer_grad_norms(prefix: str, grads) -> dict[str, jax.Array]:
  """Gradient norm of every layer (a leaf's parent path), for gradient-scale monitoring."""
  squares = {}
  for path, g in jax.tree_util.tree_flatten_with_path(grads)[0]:
    layer = '/'.join(str(getattr(k, 'key', getattr(k, 'idx', k))) for k in path[:-1])
    squares[layer] = squares.get(layer, 0.0) + jnp.sum(jnp.square(g))
  return {f'{prefix}/{layer}': jnp.sqrt(sq) for layer, sq in squares.items()}


def per_class_accuracy(real_logits, fake_logits, labels, num_classes: int):
  """D's real/fake accuracy (logit > 0 is "real") per conditioning class, and overall.

  A class absent from the batch reports the overall accuracy, so averages stay finite.
  """
  correct = jnp.concatenate([real_logits > 0, fake_logits < 0]).astype(jnp.float32)
  one_hot = jax.nn.one_hot(jnp.concatenate([labels, labels]), num_classes)
  hits, counts = correct @ one_hot, jnp.sum(one_hot, axis=0)
  overall = jnp.mean(correct)
  per_class = jnp.where(counts > 0, hits / jnp.maximum(counts, 1.0), overall)
  return {'d_accuracy': overall} | {f'd_accuracy/class_{k}': per_class[k]
                                    for k in range(num_classes)}


def make_d_adversarial(loss: ml_collections.ConfigDict):
  """(real_logits, fake_logits, key) -> D's adversarial loss, with soft targets if configured."""
  adversarial = losses.get_loss(loss.name)
  hard = tuple(loss.real_targets) == (1.0, 1.0) and (
      loss.one_sided or tuple(loss.fake_targets) == (0.0, 0.0)) and loss.flip_prob == 0.0
  if hard:
    return lambda real, fake, key: adversarial.d(real, fake)
  if loss.name not in losses.BCE_LOSSES:
    raise ValueError(
        f'loss.real_targets/fake_targets/flip_prob (soft or noisy targets) apply to BCE losses '
        f'{sorted(losses.BCE_LOSSES)}, not loss.name={loss.name!r}: reset them to (1.0, 1.0), '
        f'(0.0, 0.0) and 0.0, or pick a BCE loss.')

  def d_loss(real, fake, key):
    real_t, fake_t = losses.soft_targets(key, real.shape[0], loss.real_targets,
                                         loss.fake_targets, loss.one_sided, loss.flip_prob)
    return losses.bce(real, real_t) + losses.bce(fake, fake_t)
  return d_loss


# Models whose D has no BatchNorm whatever model.d_norm says: the toy MLP, the spectrally
# normalised ResNets and R3GAN's (no normalisation at all).
D_WITHOUT_NORM = frozenset({'toy', 'sngan', 'sngan_projection', 'r3gan',
                            'r3gan_conditional'})


def check_penalty_norm(config: ml_collections.ConfigDict) -> None:
  """Refuses a gradient penalty or R1 on a BatchNorm critic, which would be silently wrong.

  The penalty is per sample; with BatchNorm each sample's input gradient also runs through the
  batch statistics (Gulrajani et al. 2017, sec. 4: use no BatchNorm in the critic).
  """
  penalty = config.loss.penalty
  if (penalty != 'none' and penalty in losses.PENALTIES and config.model.d_norm == 'batch'
      and config.model.name not in D_WITHOUT_NORM):
    raise ValueError(
        f"loss.penalty={penalty!r} needs a critic without BatchNorm (the penalty's gradient "
        f'would run through batch statistics; Gulrajani et al. say not to): set '
        f'--config.model.d_norm=layer or none, or --config.loss.penalty=none.')


class DLoss(NamedTuple):
  """What D's loss returns beside its value: updated statistics and the terms, for logging."""
  stats: Pytree  # D's batch statistics after the real and fake passes.
  adversarial: jax.Array
  penalty: jax.Array
  wasserstein: jax.Array  # mean real logit - mean fake logit: the critic's estimate.
  metrics: dict[str, jax.Array]  # ACGAN's class terms, per-class accuracy (conditional).


class GLoss(NamedTuple):
  stats: Pytree  # G's batch statistics after the training-mode pass.
  metrics: dict[str, jax.Array]  # ACGAN's class loss on fakes.


@dataclasses.dataclass(frozen=True)
class Objective:
  """The static pieces of the D and G updates, read once from the config."""
  adversarial: losses.AdversarialLoss
  d_adversarial: Callable  # (real logits, fake logits, key) -> loss, soft targets included.
  penalty: Callable  # (critic, real, fake, key) -> gradient penalty / R1 (0 for 'none').
  penalty_weight: Callable  # step -> weight (a float where constant; R3GAN's gamma schedule).
  clip_value: float  # > 0: WGAN weight clipping after each D update.
  aux_real: float  # ACGAN class-loss weights: D on real, D on fake, G on fake.
  aux_fake: float
  aux_g: float
  num_classes: int  # 0: unconditional (labels are None).
  z_dim: int
  ema_decay: Callable  # step -> decay (a float where constant; R3GAN's half-life schedule).
  diffaugment: Callable  # (key, images, step) -> images; the identity when off.

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict) -> 'Objective':
    loss = config.loss
    return cls(losses.get_loss(loss.name), make_d_adversarial(loss),
               losses.get_penalty(loss.penalty), penalty_weight(config), loss.clip_value,
               loss.aux_weight_real, loss.aux_weight_fake, loss.aux_weight_g,
               config.model.get('num_classes', 0), config.model.z_dim, ema_decay(config),
               augment.make_diffaugment(config.data.get('diffaugment', ''),
                                        augment_probability(config)))


# Schedules over the images seen (jaxgan.gan.schedules); configs saved before a field existed
# read it as constant.

def penalty_weight(config: ml_collections.ConfigDict) -> Callable:
  """step -> loss.penalty_weight, or its schedule (loss.penalty_schedule) to
  loss.penalty_weight_end."""
  loss = config.loss
  return schedules.of_step(config, loss.get('penalty_schedule', 'constant'),
                           'loss.penalty_schedule', loss.penalty_weight,
                           loss.get('penalty_weight_end', loss.penalty_weight))


def ema_decay(config: ml_collections.ConfigDict) -> Callable:
  """step -> the EMA decay: model.ema_decay, or with model.ema_half_life_images > 0 R3GAN's
  0.5 ** (batch_size / half-life), the half-life constant or (model.ema_half_life_schedule)
  growing from 0 to ema_half_life_images over the schedule's horizon."""
  m = config.model
  half_life = m.get('ema_half_life_images', 0)
  if not half_life:
    return lambda step: m.ema_decay
  if m.ema_decay <= 0:
    raise ValueError(f'model.ema_half_life_images={half_life} sets the decay of an EMA that '
                     f'model.ema_decay={m.ema_decay} turns off: set model.ema_decay > 0 (it then '
                     f'only marks the EMA as on) or model.ema_half_life_images=0.')
  name = m.get('ema_half_life_schedule', 'constant')
  start = half_life if name == 'constant' else 0.0
  images = schedules.of_step(config, name, 'model.ema_half_life_schedule', start, half_life)
  return lambda step: 0.5 ** (config.batch_size / jnp.maximum(images(step), 1e-8))


def augment_probability(config: ml_collections.ConfigDict) -> Callable | None:
  """None (every policy on every image, DiffAugment's) or step -> p: data.diffaugment_p, or
  its schedule (data.diffaugment_p_schedule) to data.diffaugment_p_end."""
  data = config.data
  p, name = data.get('diffaugment_p', 1.0), data.get('diffaugment_p_schedule', 'constant')
  if name == 'constant' and p == 1.0:
    schedules.check(name, 'data.diffaugment_p_schedule')
    return None
  return schedules.of_step(config, name, 'data.diffaugment_p_schedule', p,
                           data.get('diffaugment_p_end', p))


def d_class_terms(obj: Objective, real_cls, fake_cls, labels):
  """ACGAN's auxiliary loss on real and fake (fakes are drawn for the real labels)."""
  real_ce = losses.classification(real_cls, labels)
  fake_ce = losses.classification(fake_cls, labels)
  accuracy = jnp.mean(jnp.argmax(real_cls, axis=-1) == labels)
  metrics = dict(d_class_loss_real=real_ce, d_class_loss_fake=fake_ce, d_class_accuracy=accuracy)
  return obj.aux_real * real_ce + obj.aux_fake * fake_ce, metrics


def d_loss(obj: Objective, gan: GAN, d_params, d_stats, real, fake, labels, target_key,
           penalty_key, step) -> tuple[jax.Array, DLoss]:
  """D's loss on a real and a fake batch: adversarial + penalty (+ ACGAN's class terms)."""
  (real_logits, real_cls), stats = discriminate(gan, d_params, d_stats, real, labels)
  (fake_logits, fake_cls), stats = discriminate(gan, d_params, stats, fake, labels)
  adversarial = obj.d_adversarial(real_logits, fake_logits, target_key)
  critic = lambda x: discriminate(gan, d_params, stats, x, labels)[0][0]
  penalty = obj.penalty(critic, real, fake, penalty_key)
  loss = adversarial + obj.penalty_weight(step) * penalty
  metrics = {}
  if real_cls is not None:
    class_loss, metrics = d_class_terms(obj, real_cls, fake_cls, labels)
    loss = loss + class_loss
  if labels is not None:
    metrics |= per_class_accuracy(real_logits, fake_logits, labels, obj.num_classes)
  wasserstein = jnp.mean(real_logits) - jnp.mean(fake_logits)
  return loss, DLoss(stats, adversarial, penalty, wasserstein, metrics)


def d_update(obj: Objective, gan: GAN, state: GANState, real, labels, key):
  """One critic update on a real micro-batch: (state with new D params/stats/opt, metrics)."""
  z_key, penalty_key = jax.random.split(key)
  target_key = jax.random.fold_in(key, TARGETS_SALT)
  z = sample_noise(z_key, real.shape[0], obj.z_dim)
  # G runs in training mode (batch statistics) as in the G step; its stat updates are dropped.
  fake, _ = generate(gan, state.g_params, state.g_stats, z, train=True, labels=labels)
  fake = jax.lax.stop_gradient(fake)
  augment_key = jax.random.fold_in(key, AUGMENT_SALT)  # Real and fake get their own draws.
  real = obj.diffaugment(jax.random.fold_in(augment_key, 0), real, state.step)
  fake = obj.diffaugment(jax.random.fold_in(augment_key, 1), fake, state.step)
  (loss, aux), grads = jax.value_and_grad(d_loss, argnums=2, has_aux=True)(
      obj, gan, state.d_params, state.d_stats, real, fake, labels, target_key, penalty_key,
      state.step)
  updates, d_opt = gan.d_tx.update(grads, state.d_opt, state.d_params)
  d_params = losses.clip_weights(optax.apply_updates(state.d_params, updates), obj.clip_value)
  metrics = dict(d_loss=loss, d_adv_loss=aux.adversarial, d_penalty=aux.penalty,
                 wasserstein_estimate=aux.wasserstein, d_grad_norm=global_norm(grads))
  weight = obj.penalty_weight(state.step)
  if not isinstance(weight, float):  # Scheduled (a constant stays a Python float): logged.
    metrics['penalty_weight'] = weight
  if labels is not None:  # Per-layer gradient scales (report 003) for conditional models.
    metrics |= layer_grad_norms('d_grad_norm', grads)
  return state.replace(d_params=d_params, d_stats=aux.stats, d_opt=d_opt), metrics | aux.metrics


def g_loss(obj: Objective, gan: GAN, g_params, state: GANState, z, labels, key,
           real=None) -> tuple[jax.Array, GLoss]:
  """G's adversarial loss on its fakes (+ ACGAN's class loss), D held fixed; a relativistic
  loss compares them with D's logits of `real`, the i-th fake with the i-th real image."""
  fake, g_stats = generate(gan, g_params, state.g_stats, z, train=True, labels=labels)
  fake = obj.diffaugment(jax.random.fold_in(key, AUGMENT_SALT), fake, state.step)
  # D's running statistics are not updated by the G step (they only serve evaluation).
  (fake_logits, fake_cls), _ = discriminate(gan, state.d_params, state.d_stats, fake, labels)
  if obj.adversarial.relativistic:
    real = obj.diffaugment(jax.random.fold_in(key, REAL_AUGMENT_SALT), real, state.step)
    (real_logits, _), _ = discriminate(gan, state.d_params, state.d_stats, real, labels)
    loss, metrics = obj.adversarial.g(fake_logits, real_logits), {}
  else:
    loss, metrics = obj.adversarial.g(fake_logits), {}
  if fake_cls is not None:  # ACGAN: G also wants its fakes classified as their labels.
    metrics = dict(g_class_loss=losses.classification(fake_cls, labels))
    loss = loss + obj.aux_g * metrics['g_class_loss']
  return loss, GLoss(g_stats, metrics)


def g_update(obj: Objective, gan: GAN, state: GANState, key, batch_size: int, labels,
             real=None):
  """One generator update and its EMA: (state with new G params/stats/opt/EMA, metrics).

  `real`: the real batch a relativistic loss compares the fakes with (else unused).
  """
  z = sample_noise(key, batch_size, obj.z_dim)
  (loss, aux), grads = jax.value_and_grad(g_loss, argnums=2, has_aux=True)(
      obj, gan, state.g_params, state, z, labels, key, real)
  updates, g_opt = gan.g_tx.update(grads, state.g_opt, state.g_params)
  g_params = optax.apply_updates(state.g_params, updates)
  decay = obj.ema_decay(state.step)
  ema = jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, state.ema_params, g_params)
  metrics = dict(g_loss=loss, g_grad_norm=global_norm(grads)) | aux.metrics
  if not isinstance(decay, float):  # Scheduled: logged.
    metrics['ema_decay'] = decay
  if labels is not None:
    metrics |= layer_grad_norms('g_grad_norm', grads)
  return state.replace(g_params=g_params, g_stats=aux.stats, g_opt=g_opt,
                       ema_params=ema), metrics


def make_train_step(config: ml_collections.ConfigDict, gan: GAN):
  """Builds `train_step(state, batch)`; batch['image'] is (n_critic, B, ...) real data."""
  check_penalty_norm(config)
  obj = Objective.from_config(config)

  def train_step(state: GANState, batch):
    real = batch['image']  # (n_critic, B, ...)
    # Conditional models: fakes are drawn for the labels of the real micro-batch, so D sees
    # the same class frequencies on both sides; the G update reuses the last micro-batch's.
    labels = batch['label'] if obj.num_classes else None
    n_critic, batch_size = real.shape[:2]
    d_key, g_key = jax.random.split(jax.random.fold_in(state.key, state.step))
    # A Python loop, not lax.scan: XLA:CPU runs convolutions inside a while loop ~9x slower
    # (measured 1.58 s vs 0.17 s per dcgan_digits step). n_critic is small and static.
    labels_of = lambda i: None if labels is None else labels[i]  # Of micro-batch i.
    for i in range(n_critic):
      state, d_metrics = d_update(obj, gan, state, real[i], labels_of(i),
                                  jax.random.fold_in(d_key, i))
    # A relativistic G loss compares with the last critic micro-batch (R3GAN draws a fresh
    # real batch for its G phase; here the feed holds n_critic per step).
    state, g_metrics = g_update(obj, gan, state, g_key, batch_size, labels_of(n_critic - 1),
                                real[n_critic - 1])
    # Report the last critic update: it is the one the G update saw.
    return state.replace(step=state.step + 1), d_metrics | g_metrics

  return train_step
