"""The grain input pipeline: shuffle per epoch, flip, slice per host, batch for n_critic.

Shuffling and flips happen on the global, unsliced stream, and each host then takes every
`process_count`-th example. So the examples of a global step do not depend on how many hosts
or devices share it: the same seed trains on the same data on 1 CPU or a pod slice.
"""

import grain
import ml_collections
import numpy as np

from jaxgan.data import sources, transforms


def build_dataset(config: ml_collections.ConfigDict, source: sources.Source,
                  process_index: int = 0, process_count: int = 1) -> grain.MapDataset:
  """An infinite MapDataset of host-local batches {'image': (n_critic, B_local, ...), 'label'}."""
  local_batch = config.batch_size // process_count
  n_critic = config.optim.n_critic
  ds = grain.MapDataset.source(source)
  if config.data.max_examples:
    ds = ds[:config.data.max_examples]
  ds = ds.seed(config.seed).shuffle().repeat()
  if config.data.flip and config.data.name not in ('ring8', 'grid25'):
    ds = ds.random_map(transforms.random_flip)
  ds = ds[process_index::process_count]
  ds = ds.batch(n_critic * local_batch, drop_remainder=True)
  return ds.map(lambda b: {k: v.reshape((n_critic, local_batch) + v.shape[1:])
                           for k, v in b.items()})


def make_iterator(config: ml_collections.ConfigDict, dataset: grain.MapDataset):
  """A checkpointable iterator over `dataset`, decoded by data.num_workers threads.

  N > 0 grain threads decode and batch up to 4N batches ahead of the step (PIL and numpy
  release the GIL while decoding); 0 decodes in the calling thread when a batch is asked for.
  Threads rather than grain's worker processes (mp_prefetch): the iterator state is then one
  index whatever the thread count, so a run resumes with any num_workers on the same batches,
  whereas mp_prefetch's state records its worker layout and restores wrongly under another count.
  """
  workers = config.data.num_workers
  if workers < 0:
    raise ValueError(f'data.num_workers={workers} must be >= 0 (0: decode in the main thread).')
  return iter(dataset.to_iter_dataset(grain.ReadOptions(num_threads=workers,
                                                        prefetch_buffer_size=4 * workers)))


def first_batch(dataset: grain.MapDataset) -> dict[str, np.ndarray]:
  return dataset[0]
