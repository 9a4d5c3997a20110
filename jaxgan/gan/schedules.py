"""Hyperparameters that move with the images seen, by name (R3GAN's schedules).

R3GAN (Huang et al. 2024, training/training_loop.py) moves its learning rate, Adam's beta2, the
penalty weight gamma, the augmentation probability and the EMA half-life from a start to an end
value over a horizon of images seen, each by the same cosine ramp (their
cosine_decay_with_warmup without warm-up), and holds the end value after it. Here every such
hyperparameter names its shape from SCHEDULES ('constant' keeps the start value, as every config
did before), and config.schedule_images sets the horizon (0: the whole run, num_steps *
batch_size images).

Images seen are counted as R3GAN counts them: batch_size per full step (G update), so at step s
a schedule reads s * batch_size. A constant schedule returns its start value as a Python float,
so configs that keep every schedule constant trace exactly the computation they traced before.
"""

from typing import Callable

import jax.numpy as jnp
import ml_collections


def constant(start: float, end: float, fraction):
  del end, fraction
  return start


def linear(start: float, end: float, fraction):
  return start + (end - start) * fraction


def cosine(start: float, end: float, fraction):
  """R3GAN's ramp: start + (end - start) (1 - cos(pi t / T)) / 2, the end held after T."""
  return start + (end - start) * 0.5 * (1.0 - jnp.cos(jnp.pi * fraction))


SCHEDULES: dict[str, Callable] = {'constant': constant, 'linear': linear, 'cosine': cosine}


def horizon_images(config: ml_collections.ConfigDict) -> float:
  """config.schedule_images, or the whole run's images where it is 0 (or absent)."""
  images = config.get('schedule_images', 0)
  if images < 0:
    raise ValueError(f'schedule_images={images} must be > 0 (or 0: the whole run).')
  return float(images or config.num_steps * config.batch_size)


def check(name: str, field: str) -> Callable:
  if name not in SCHEDULES:
    raise ValueError(f'Unknown {field}={name!r}; valid: {sorted(SCHEDULES)}.')
  return SCHEDULES[name]


def of_step(config: ml_collections.ConfigDict, name: str, field: str, start: float,
            end: float) -> Callable:
  """step (int scalar, G updates done) -> the value at step * batch_size images seen."""
  shape = check(name, field)
  if shape is constant:
    return lambda step: start
  per_step = config.batch_size / horizon_images(config)
  return lambda step: shape(start, end, jnp.minimum(step * per_step, 1.0))


def of_update(config: ml_collections.ConfigDict, name: str, field: str, start: float,
              end: float, updates_per_step: int = 1) -> Callable:
  """The same schedule as a function of an optimizer's update count (optax's `count`): D makes
  updates_per_step (n_critic) updates per step, counted as count / n_critic steps."""
  of = of_step(config, name, field, start, end)
  if name == 'constant':
    return of
  return lambda count: of(count / updates_per_step)


def images_seen(config: ml_collections.ConfigDict, step: int) -> int:
  return step * config.batch_size
