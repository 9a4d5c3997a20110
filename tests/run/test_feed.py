"""steps_per_call in the training loops and device prefetch (jaxgan.run.feed): same training, same
checkpointed data position, whatever the call size."""

import jax
import numpy as np
import pytest

from testlib import build_gan, get_config, restore, tiny
from jaxgan.gan import train
from jaxgan.run import feed, guards, sharding


@pytest.mark.parametrize('start, end, k', [(0, 10, 4), (3, 12, 4), (5, 6, 3), (0, 1, 2),
                                           (7, 7, 2), (2, 40, 5), (0, 9, 1)])
def test_schedule_runs_each_step_once_in_whole_calls_ending_on_multiples(start, end, k):
  calls = feed.schedule(start, end, k)
  steps = [s for c in calls for s in range(c.first, c.last + 1)]
  assert steps == list(range(start + 1, end + 1))
  assert all(c.size in (1, k) for c in calls)
  assert all(c.last % k == 0 for c in calls if c.size == k)
  # Single steps only where a whole call does not fit: before the first multiple, at the end.
  whole = [c for c in calls if c.size == k]
  if whole:
    assert whole[0].first - 1 - start < k and end - whole[-1].last < k


def test_periods_that_calls_would_skip_are_refused_by_name():
  config = tiny(get_config('dcgan_digits'))
  config.steps_per_call = 4
  feed.check_periods(config, dict(log_every=8, checkpoint_every=0))
  with pytest.raises(ValueError, match=r"steps_per_call=4 .*'log_every': 6"):
    feed.check_periods(config, dict(log_every=6, checkpoint_every=8))


def test_prefetch_keeps_order_and_produces_ahead():
  produced = []

  def items():
    for i in range(6):
      produced.append(i)
      yield i
  consumed = []
  for item in feed.prefetch(items(), 2):
    consumed.append(item)
    assert len(produced) == min(item + 3, 6)  # The item in use and two more.
  assert consumed == list(range(6))


class CountingIterator:
  """A checkpointable host iterator of numbered (n_critic=1, B=2) batches."""

  def __init__(self):
    self.position = 0

  def __next__(self):
    self.position += 1
    return {'image': np.full((1, 2, 3), self.position, np.float32)}

  def get_state(self):
    return {'position': self.position}


def test_device_batches_stack_calls_and_pair_each_with_the_iterator_state_after_it():
  mesh = sharding.make_mesh()
  calls = feed.schedule(1, 6, 2)  # (2), (3, 4), (5, 6)
  out = list(feed.device_batches(CountingIterator(), calls, mesh, batch_axis=1,
                                 prefetch_size=2))
  assert [c for c, _, _ in out] == calls
  assert [b['image'].shape for _, b, _ in out] == [(1, 2, 3), (2, 1, 2, 3), (2, 1, 2, 3)]
  assert [float(b['image'][(0,) * 4]) for _, b, _ in out[1:]] == [2, 4]
  assert [s['position'] for _, _, s in out] == [1, 3, 5]


def toy_config(steps, **fields):
  config = tiny(get_config('gan_grid25'), steps)
  config.data.num_points = 2000
  config.log_every = 2
  config.sample_every = 0
  config.checkpoint_every = 1_000
  config.update(fields)
  return config


def test_two_steps_per_call_trains_as_single_steps_and_resumes_with_either(tmp_path):
  """k=2 from scratch to step 3 (a call and a single step), resumed with k=2 to 6 (a single
  step to realign, then a call) == 6 single steps; then k=1 resumes that run to 8."""
  single, multi = str(tmp_path / 'single'), str(tmp_path / 'multi')
  train.train_and_evaluate(toy_config(8), single)
  train.train_and_evaluate(toy_config(3, steps_per_call=2), multi)
  train.train_and_evaluate(toy_config(6, steps_per_call=2), multi)
  train.train_and_evaluate(toy_config(8), multi)
  (state_a, data_a), (state_b, data_b) = restore(single, data=True), restore(multi, data=True)
  assert int(state_a.step) == int(state_b.step) == 8
  assert data_a == data_b
  moved = 0.0
  initial = build_gan(toy_config(8))[2]()
  for a, b, init in zip(jax.tree.leaves(state_a), jax.tree.leaves(state_b),
                        jax.tree.leaves(initial)):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    # Float tolerance: XLA may fuse the inlined steps of a call in another order.
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    if a.dtype.kind == 'f':
      moved = max(moved, float(np.max(np.abs(a - np.asarray(init, np.float64)))))
  assert moved > 1e-3  # The runs trained: a tolerance this size would catch a lost step.


def test_a_nan_inside_a_call_is_reported_at_its_own_step(tmp_path):
  config = toy_config(4, steps_per_call=2, nonfinite='fail', debug_nan_step=4)
  with pytest.raises(guards.NonFiniteError, match=r'non-finite .*d_loss.* at step 4 '):
    train.train_and_evaluate(config, str(tmp_path / 'fail'))
  config = toy_config(4, steps_per_call=2, nonfinite='skip', debug_nan_step=3)
  state = train.train_and_evaluate(config, str(tmp_path / 'skip'))
  assert int(state.step) == 4
  assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state))


def test_steps_per_call_must_divide_the_periods(tmp_path):
  with pytest.raises(ValueError, match='steps_per_call=3'):
    train.train_and_evaluate(toy_config(6, steps_per_call=3), str(tmp_path / 'w'))
