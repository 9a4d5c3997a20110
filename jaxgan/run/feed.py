"""From the host iterator to the step: calls of `steps_per_call` steps, and device prefetch.

`config.steps_per_call` = k runs k training steps per dispatch (jaxgan.run.loop.make_multi_step):
the loop stacks k host batches along a new leading axis. A run resumed at a step that is not a
multiple of k first runs single steps up to the next multiple, and so does the tail past the
last whole call; every k-step call therefore ends on a multiple of k, where logging, samples,
evaluations and checkpoints happen (their periods must be multiples of k; `check_periods`).
The host stream is the same for every k, so a run can resume with another k.

`config.device_prefetch` = n keeps n calls' batches already transferred (asynchronously) to
the devices ahead of the one the step is using, so a GPU/TPU never waits on the copy.
"""

from __future__ import annotations

import collections
from typing import Callable, Iterator, NamedTuple

import ml_collections
import numpy as np

from jaxgan.run import sharding


class Call(NamedTuple):
  first: int  # First step of the call (1-based, as the loop counts).
  size: int  # Steps in the call: steps_per_call, or 1 while aligning.

  @property
  def last(self) -> int:
    return self.first + self.size - 1


def schedule(start_step: int, num_steps: int, steps_per_call: int) -> list[Call]:
  """The calls that take a run from `start_step` (done) to `num_steps`."""
  k, calls, step = steps_per_call, [], start_step
  while step < num_steps:
    size = k if step % k == 0 and step + k <= num_steps else 1
    calls.append(Call(step + 1, size))
    step += size
  return calls


def check_periods(config: ml_collections.ConfigDict, periods: dict[str, int]) -> None:
  """Refuses periods (log_every, ..., an evaluator's every) that k-step calls would skip over."""
  k = config.steps_per_call
  if k < 1:
    raise ValueError(f'steps_per_call={k} must be at least 1.')
  bad = {name: every for name, every in periods.items() if every and every % k}
  if bad:
    raise ValueError(
        f'steps_per_call={k} must divide every logging, sampling, evaluation and checkpoint '
        f'period, so that they fall at the end of a call; not {bad}. Change those periods '
        f'or --config.steps_per_call.')


def host_batches(iterator, calls: list[Call],
                 transform: Callable[[int, dict], dict] = lambda step, batch: batch):
  """Yields (host batch of each call, the iterator state after it), `transform(step, batch)`
  applied to each step's batch (the non-finite guard's test hook)."""
  for call in calls:
    batches = [transform(call.first + i, next(iterator)) for i in range(call.size)]
    batch = batches[0] if call.size == 1 else {
        key: np.stack([b[key] for b in batches]) for key in batches[0]}
    yield batch, iterator.get_state()


def prefetch(items: Iterator, size: int) -> Iterator:
  """Yields `items`, keeping up to `size` more of them produced (here: transferred) ahead."""
  queue = collections.deque()
  for item in items:
    queue.append(item)
    if len(queue) > size:
      yield queue.popleft()
  while queue:
    yield queue.popleft()


def device_batches(iterator, calls: list[Call], mesh, batch_axis: int, prefetch_size: int,
                   transform=lambda step, batch: batch) -> Iterator[tuple[Call, dict, dict]]:
  """Yields (call, global device batch, iterator state to checkpoint with its result).

  `batch_axis` is the batch axis of one step's host batch; stacked calls add one in front.
  """
  def put():
    for call, (batch, state) in zip(calls, host_batches(iterator, calls, transform)):
      axis = batch_axis + (call.size > 1)
      yield call, sharding.to_global(batch, mesh, axis), state
  return prefetch(put(), prefetch_size)


def run_batches(config: ml_collections.ConfigDict, iterator, mesh, batch_axis: int,
                start_step: int, guard) -> Iterator[tuple[Call, dict, dict]]:
  """device_batches for a training loop from `start_step` to config.num_steps, each step's
  batch passed through the non-finite guard's test hook (config.debug_nan_step)."""
  return device_batches(
      iterator, schedule(start_step, config.num_steps, config.steps_per_call), mesh,
      batch_axis, config.device_prefetch,
      transform=lambda step, batch: guard.poison(step, batch, config.debug_nan_step))
