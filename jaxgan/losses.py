"""Adversarial losses and critic penalties, looked up by name.

Every loss takes discriminator logits (no sigmoid) and returns a scalar to minimise:
`d(real_logits, fake_logits)` for the discriminator and `g(fake_logits)` for the generator; a
relativistic loss's generator also compares with real logits, `g(fake_logits, real_logits)`
(the G update then runs D on a real batch too).
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax


class AdversarialLoss(NamedTuple):
  d: Callable[[jax.Array, jax.Array], jax.Array]
  g: Callable[..., jax.Array]  # g(fake) or, relativistic, g(fake, real).
  relativistic: bool = False


def bce(logits, target):
  """Mean binary cross-entropy of sigmoid(logits) against a target in [0, 1]."""
  return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, jnp.broadcast_to(target, logits.shape)))


def bce_d(real, fake):
  return bce(real, 1.0) + bce(fake, 0.0)


def minimax_g(fake):
  # min log(1 - D(G(z))) of Goodfellow et al.: -softplus(f) == log(1 - sigmoid(f)).
  return -jnp.mean(jax.nn.softplus(fake))


def non_saturating_g(fake):
  # max log D(G(z)): the variant every DCGAN implementation trains with.
  return bce(fake, 1.0)


def wasserstein_d(real, fake):
  return jnp.mean(fake) - jnp.mean(real)


def wasserstein_g(fake):
  return -jnp.mean(fake)


def hinge_d(real, fake):
  return jnp.mean(jax.nn.relu(1.0 - real)) + jnp.mean(jax.nn.relu(1.0 + fake))


def least_squares_d(real, fake):
  return 0.5 * jnp.mean((real - 1.0) ** 2) + 0.5 * jnp.mean(fake ** 2)


def least_squares_g(fake):
  return 0.5 * jnp.mean((fake - 1.0) ** 2)


def rpgan_d(real, fake):
  """RpGAN (Jolicoeur-Martineau 2019; R3GAN's loss): E softplus(D(fake) - D(real)), the i-th
  real paired with the i-th fake of the batch."""
  return jnp.mean(jax.nn.softplus(fake - real))


def rpgan_g(fake, real):
  return jnp.mean(jax.nn.softplus(real - fake))


LOSSES: dict[str, AdversarialLoss] = {
    'minimax': AdversarialLoss(bce_d, minimax_g),
    'non_saturating': AdversarialLoss(bce_d, non_saturating_g),
    'wasserstein': AdversarialLoss(wasserstein_d, wasserstein_g),
    'hinge': AdversarialLoss(hinge_d, wasserstein_g),
    'least_squares': AdversarialLoss(least_squares_d, least_squares_g),
    'rpgan': AdversarialLoss(rpgan_d, rpgan_g, relativistic=True),
}


def get_loss(name: str) -> AdversarialLoss:
  if name not in LOSSES:
    raise ValueError(f'Unknown loss.name={name!r}; valid names: {sorted(LOSSES)}.')
  return LOSSES[name]


def _per_sample_grad_norm(critic: Callable, x: jax.Array) -> jax.Array:
  # Samples are independent in the critic (no BatchNorm), so the gradient of the sum gives
  # every per-sample input gradient in one backward pass.
  grads = jax.grad(lambda x: jnp.sum(critic(x)))(x)
  return jnp.sqrt(jnp.sum(grads.reshape(x.shape[0], -1) ** 2, axis=-1) + 1e-12)


def _per_sample_squared_grad_norm(critic: Callable, x: jax.Array) -> jax.Array:
  grads = jax.grad(lambda x: jnp.sum(critic(x)))(x)
  return jnp.sum(grads.reshape(x.shape[0], -1) ** 2, axis=-1)


def gradient_penalty(critic: Callable, real: jax.Array, fake: jax.Array, key: jax.Array):
  """WGAN-GP (Gulrajani et al. 2017): E[(||grad D(x_hat)|| - 1)^2] on random interpolates."""
  eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1), real.dtype)
  x_hat = eps * real + (1.0 - eps) * fake
  return jnp.mean((_per_sample_grad_norm(critic, x_hat) - 1.0) ** 2)


def r1_penalty(critic: Callable, real: jax.Array, fake: jax.Array, key: jax.Array):
  """R1 (Mescheder et al. 2018): 0.5 E[||grad D(x)||^2] on real data."""
  del fake, key
  return 0.5 * jnp.mean(_per_sample_grad_norm(critic, real) ** 2)


def r1_r2_penalty(critic: Callable, real: jax.Array, fake: jax.Array, key: jax.Array):
  """R3GAN's zero-centred penalties on both sides: 0.5 (E ||grad D(x)||^2 on real data (R1)
  + E ||grad D(x)||^2 on the fakes (R2)); with weight gamma, their (gamma / 2) (R1 + R2)."""
  del key
  return 0.5 * (jnp.mean(_per_sample_squared_grad_norm(critic, real)) +
                jnp.mean(_per_sample_squared_grad_norm(critic, fake)))


def no_penalty(critic, real, fake, key):
  del critic, fake, key
  return jnp.zeros((), real.dtype)


PENALTIES: dict[str, Callable] = {
    'none': no_penalty,
    'gradient_penalty': gradient_penalty,
    'r1': r1_penalty,
    'r1_r2': r1_r2_penalty,
}


def get_penalty(name: str) -> Callable:
  if name not in PENALTIES:
    raise ValueError(f'Unknown loss.penalty={name!r}; valid names: {sorted(PENALTIES)}.')
  return PENALTIES[name]


def clip_weights(params, clip_value: float):
  """WGAN weight clipping of every critic parameter to [-c, c]; a no-op for c <= 0."""
  if clip_value <= 0:
    return params
  return jax.tree.map(lambda p: jnp.clip(p, -clip_value, clip_value), params)


# Losses whose D targets are probabilities, so soft and noisy targets make sense.
BCE_LOSSES = frozenset({'minimax', 'non_saturating'})


def soft_targets(key: jax.Array, n: int, real_range, fake_range, one_sided: bool = False,
                 flip_prob: float = 0.0) -> tuple[jax.Array, jax.Array]:
  """Per-sample D targets (real (n,), fake (n,)) for BCE: label smoothing and noisy labels.

  Real targets are uniform in `real_range`, fake ones in `fake_range` (0 when `one_sided`);
  with probability `flip_prob` a sample's two targets are swapped (noisy labels).
  """
  real_key, fake_key, flip_key = jax.random.split(key, 3)
  real = jax.random.uniform(real_key, (n,), minval=real_range[0], maxval=real_range[1])
  fake = jnp.zeros((n,)) if one_sided else jax.random.uniform(
      fake_key, (n,), minval=fake_range[0], maxval=fake_range[1])
  flip = jax.random.bernoulli(flip_key, flip_prob, (n,))
  return jnp.where(flip, fake, real), jnp.where(flip, real, fake)


def classification(logits: jax.Array, labels: jax.Array) -> jax.Array:
  """Mean softmax cross-entropy of (B, C) class logits against int labels (ACGAN's aux loss)."""
  return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))
