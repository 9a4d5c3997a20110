"""The pure SR training step: optionally one D update, then one G update on the same batch.

SRResNet pre-training minimises a content loss only; SRGAN adds `adversarial_weight` times the
non-saturating generator loss of a discriminator trained alongside (Ledig et al. 2017, eq. 3).
`train_step(state, batch, vgg_state) -> (state, metrics)`; `vgg_state` is the frozen VGG19's
pure-dict state for the perceptual loss ({} for pixel losses). It is an argument, not a
closure, so 20M weights are not baked into the compiled program as constants.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import nnx

from jaxgan import losses
from jaxgan.models import vgg as vgg_lib
from jaxgan.sr.state import SRModels, SRState, has_adversary
from jaxgan.run.state import apply


def mse(sr, hr, vgg):
  del vgg
  return jnp.mean((sr - hr) ** 2)


def l1(sr, hr, vgg):
  del vgg
  return jnp.mean(jnp.abs(sr - hr))


def perceptual(sr, hr, vgg):
  return vgg_lib.perceptual_loss(vgg, sr, hr)


# Content losses on generator output and HR target, both in [-1, 1].
CONTENT_LOSSES: dict[str, Callable] = {'mse': mse, 'l1': l1, 'vgg': perceptual}


def get_content_loss(name: str) -> Callable:
  if name not in CONTENT_LOSSES:
    raise ValueError(f'Unknown sr.content_loss={name!r}; valid names: {sorted(CONTENT_LOSSES)}.')
  return CONTENT_LOSSES[name]


def psnr_of_batch(sr, hr):
  """Mean PSNR in dB of [-1, 1] images (RGB, no crop): a cheap training-progress signal."""
  mse_01 = jnp.mean(((jnp.clip(sr, -1, 1) - hr) / 2) ** 2, axis=(1, 2, 3))
  return jnp.mean(-10.0 * jnp.log10(mse_01))


def make_train_step(config: ml_collections.ConfigDict, models: SRModels,
                    vgg_graph: nnx.GraphDef | None = None):
  content = get_content_loss(config.sr.content_loss)
  adversarial = losses.get_loss('non_saturating')
  adv_weight = config.sr.adversarial_weight
  adversary = has_adversary(config)

  def d_update(state: SRState, lr, hr):
    fake, _ = apply(models.g_graph, state.g_params, state.g_stats, lr, train=True)
    fake = jax.lax.stop_gradient(fake)

    def loss_fn(d_params):
      real_logits, stats = apply(models.d_graph, d_params, state.d_stats, hr, train=True)
      fake_logits, stats = apply(models.d_graph, d_params, stats, fake, train=True)
      return adversarial.d(real_logits, fake_logits), (stats, real_logits, fake_logits)

    (loss, (stats, real_logits, fake_logits)), grads = jax.value_and_grad(
        loss_fn, has_aux=True)(state.d_params)
    updates, d_opt = models.d_tx.update(grads, state.d_opt, state.d_params)
    state = state.replace(d_params=optax.apply_updates(state.d_params, updates),
                          d_stats=stats, d_opt=d_opt)
    return state, dict(d_loss=loss, d_real_prob=jnp.mean(jax.nn.sigmoid(real_logits)),
                       d_fake_prob=jnp.mean(jax.nn.sigmoid(fake_logits)))

  def g_update(state: SRState, lr, hr, vgg):
    def loss_fn(g_params):
      sr, g_stats = apply(models.g_graph, g_params, state.g_stats, lr, train=True)
      content_loss = content(sr, hr, vgg)
      adv_loss = jnp.zeros(())
      if adversary:  # D's running statistics are not updated by the G step.
        fake_logits, _ = apply(models.d_graph, state.d_params, state.d_stats, sr, train=True)
        adv_loss = adversarial.g(fake_logits)
      return content_loss + adv_weight * adv_loss, (g_stats, sr, content_loss, adv_loss)

    (loss, (g_stats, sr, content_loss, adv_loss)), grads = jax.value_and_grad(
        loss_fn, has_aux=True)(state.g_params)
    updates, g_opt = models.g_tx.update(grads, state.g_opt, state.g_params)
    state = state.replace(g_params=optax.apply_updates(state.g_params, updates),
                          g_stats=g_stats, g_opt=g_opt)
    metrics = dict(g_loss=loss, content_loss=content_loss, psnr=psnr_of_batch(sr, hr),
                   g_grad_norm=optax.global_norm(grads))
    if adversary:
      metrics['g_adv_loss'] = adv_loss
    return state, metrics

  def train_step(state: SRState, batch, vgg_state):
    lr, hr = batch['lr'], batch['hr']
    vgg = nnx.merge(vgg_graph, vgg_state) if vgg_graph is not None else None
    metrics = {}
    if adversary:
      state, metrics = d_update(state, lr, hr)
    state, g_metrics = g_update(state, lr, hr, vgg)
    return state.replace(step=state.step + 1), metrics | g_metrics

  return train_step
