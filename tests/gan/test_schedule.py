"""Learning-rate schedules: constant, or linear decay to 0 counted in optimizer updates."""

import numpy as np
import optax
import pytest

from testlib import get_config
from jaxgan.gan import state as state_lib


def optim_config(schedule, num_steps=10, decay_start=4, lr_scale=1.0):
  config = get_config('wgan_gp_grid25')
  config.num_steps = num_steps
  config.optim.update(lr_schedule=schedule, decay_start=decay_start, lr_scale=lr_scale)
  return config


def test_constant_schedule_is_the_scaled_rate():
  assert state_lib.learning_rate(optim_config('constant', lr_scale=0.5), 1e-3) == 5e-4


def test_linear_schedule_holds_then_falls_to_zero_in_optimizer_updates():
  # 10 steps of 5 critic updates: constant for steps 0-3 (updates 0-19), then linear to 0
  # at update 50; the generator (1 update per step) reaches 0 at update 10.
  d = state_lib.learning_rate(optim_config('linear'), 1e-3, updates_per_step=5)
  expected = {0: 1e-3, 19: 1e-3, 20: 1e-3, 35: 5e-4, 50: 0.0, 60: 0.0}
  np.testing.assert_allclose([d(k) for k in expected], list(expected.values()), atol=1e-12)
  g = state_lib.learning_rate(optim_config('linear', lr_scale=0.5), 1e-3)
  np.testing.assert_allclose([g(4), g(7), g(10)], [5e-4, 2.5e-4, 0.0], atol=1e-12)


def test_linear_schedule_drives_adam_steps_to_zero():
  # Adam's first update is -lr * sign(g); with decay_start=0 and 1 step it is lr, then 0.
  config = optim_config('linear', num_steps=2, decay_start=0)
  tx = state_lib.make_optimizer(config.optim, state_lib.learning_rate(config, 1e-2))
  params = {'w': np.ones(3, np.float32)}
  opt = tx.init(params)
  sizes = []
  for _ in range(3):
    updates, opt = tx.update({'w': np.array([1.0, -2.0, 3.0], np.float32)}, opt, params)
    sizes.append(float(optax.global_norm(updates)) / np.sqrt(3))
  np.testing.assert_allclose(sizes, [1e-2, 5e-3, 0.0], rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize('schedule, start', [('exponential', 0), ('linear', 10), ('linear', -1)])
def test_bad_schedules_are_refused(schedule, start):
  with pytest.raises(ValueError, match='lr_schedule|decay_start'):
    state_lib.learning_rate(optim_config(schedule, decay_start=start), 1e-3)
