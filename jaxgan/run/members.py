"""Many seeds in one program: `config.num_seeds` = N members on a leading axis of every leaf.

Member k is the run of `seed + k`, nothing shared but the compiled step: its own init (the
task's `create` of the member's config), its own data order (an iterator of the member's
config), its own step keys (the state's key comes from its seed). One jitted step updates them
all, so N seeds cost one compile, one checkpoint and one workdir. N = 1 adds no axis at all: a
single run's state, checkpoints and numbers are those of the code before members existed.

How one step reaches the members is `config.seed_batching`:
  'loop'  a Python loop over the members inside the same jit: each member's ops are a single
          run's, side by side in one program (XLA may overlap them);
  'vmap'  jax.vmap over the member axis: one op per layer for all members, but per-member
          weights turn convolutions into grouped ones, which XLA:CPU runs slowly.
Both compute each member's own step; `python -m jaxgan.benchmark --num_seeds=N` times them.
"""

from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxgan.run import guards

Pytree = Any
BATCHINGS = ('loop', 'vmap')
STD = 'std'  # Tag suffix of the spread over members: <tag>/std.


def count(config: ml_collections.ConfigDict) -> int:
  """config.num_seeds (1 for configs without the field: SR, runs saved before it existed)."""
  n = config.get('num_seeds', 1)
  if not isinstance(n, int) or n < 1:
    raise ValueError(f'num_seeds={n!r} must be an integer >= 1.')
  return n


def member_configs(config: ml_collections.ConfigDict) -> list[ml_collections.ConfigDict]:
  """Each member's config: the single run it equals (seed + k, num_seeds 1); [config] if N=1."""
  n = count(config)
  if n == 1:
    return [config]
  out = []
  for k in range(n):
    member = config.copy_and_resolve_references()
    with member.unlocked():
      member.seed = config.seed + k
      member.num_seeds = 1
    out.append(member)
  return out


def check_index(config: ml_collections.ConfigDict, index: int) -> None:
  n = count(config)
  if not 0 <= index < n:
    raise ValueError(f'--seed_index={index} is out of range: this run trained num_seeds={n} '
                     f'member(s), valid indices are 0..{n - 1}.')


def stack(trees: list[Pytree]) -> Pytree:
  return jax.tree.map(lambda *xs: jnp.stack(xs), *trees)


def member(tree: Pytree, k: int) -> Pytree:
  """Member k of a stacked tree (arrays or ShapeDtypeStructs' shapes are not handled)."""
  return jax.tree.map(lambda x: x[k], tree)


def split(tree: Pytree, config: ml_collections.ConfigDict) -> list[Pytree]:
  """The members of a state of `config`: [tree] itself when N = 1 (it has no member axis)."""
  n = count(config)
  return [tree] if n == 1 else [member(tree, k) for k in range(n)]


def join(trees: list[Pytree]) -> Pytree:
  """The inverse of `split`: one tree stays itself, several are stacked."""
  return trees[0] if len(trees) == 1 else stack(trees)


def current_step(state) -> int:
  """The step of a state, stacked or not (every member is at the same step)."""
  step = state.step
  return int(step if np.ndim(step) == 0 else step[0])


def create(create_fn: Callable, config: ml_collections.ConfigDict):
  """`create_fn(config)` -> (static, init_fn) for N members: the static part (graphs,
  optimizers) is member 0's, the same for all since only the seed differs; init stacks each
  member's own init."""
  configs = member_configs(config)
  if len(configs) == 1:
    return create_fn(config)
  made = [create_fn(c) for c in configs]
  inits = [init for _, init in made]
  return made[0][0], lambda: stack([init() for init in inits])


def batched(step: Callable, config: ml_collections.ConfigDict) -> Callable:
  """`step(state, batch, *args) -> (state, metrics)` over N members (unchanged when N = 1).

  State and batch leaves carry the member axis first; so do the float metrics that come back.
  The non-finite guard's flags (guards.FLAGS_KEY) are or-ed over the members, as the loop's
  guard reads one set per step; `skip` has already dropped each bad member's own update.
  """
  n, how = count(config), config.get('seed_batching', 'loop')
  if how not in BATCHINGS:
    raise ValueError(f'Unknown seed_batching={how!r}; valid: {list(BATCHINGS)}.')
  if n == 1:
    return step

  def over_members(state, batch, *args):
    if how == 'vmap':
      state, metrics = jax.vmap(lambda s, b: step(s, b, *args))(state, batch)
    else:
      outs = [step(member(state, k), member(batch, k), *args) for k in range(n)]
      state, metrics = stack([s for s, _ in outs]), stack([m for _, m in outs])
    if guards.FLAGS_KEY in metrics:
      metrics = metrics | {guards.FLAGS_KEY: jnp.any(metrics[guards.FLAGS_KEY], axis=0)}
    return state, metrics
  return over_members


class MemberIterator:
  """The members' data iterators as one: each batch is theirs stacked on a new leading axis.

  Its state, saved with each checkpoint, holds every member's position.
  """

  def __init__(self, iterators: list):
    self.iterators = iterators

  def __iter__(self):
    return self

  def __next__(self) -> dict[str, np.ndarray]:
    batches = [next(it) for it in self.iterators]
    return {key: np.stack([b[key] for b in batches]) for key in batches[0]}

  def get_state(self) -> dict:
    return {'members': [it.get_state() for it in self.iterators]}

  def set_state(self, state: dict) -> None:
    states = state['members']
    if len(states) != len(self.iterators):
      raise ValueError(f'The checkpoint holds the data positions of {len(states)} members; '
                       f'this run has num_seeds={len(self.iterators)}.')
    for it, s in zip(self.iterators, states):
      it.set_state(s)


def iterator(config: ml_collections.ConfigDict, make: Callable):
  """`make(config)`'s iterator, or with N members a MemberIterator of make(member config)."""
  configs = member_configs(config)
  return make(config) if len(configs) == 1 else MemberIterator([make(c) for c in configs])


def member_data_state(data_state: dict, config: ml_collections.ConfigDict, k: int) -> dict:
  """Member k's iterator state (what its single run would checkpoint)."""
  return data_state if count(config) == 1 else data_state['members'][k]


def summarise(per_member: list[dict[str, float]]) -> dict[str, float]:
  """{tag/seed_k: member k's value, tag: the mean over members, tag/std: their spread}.

  The spread is the sample standard deviation (ddof 1: an estimate of the seed-to-seed spread),
  0 for one member. '/std', not '_std': metrics such as kid_std and is_std exist.
  """
  out = {}
  for tag in per_member[0]:
    values = np.asarray([m[tag] for m in per_member], np.float64)
    out |= {f'{tag}/seed_{k}': float(v) for k, v in enumerate(values)}
    out[tag] = float(np.mean(values))
    out[f'{tag}/{STD}'] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
  return out


def is_member_tag(tag: str) -> bool:
  """Whether `tag` is one member's value or the spread (summarise), not a mean or a run's own."""
  last = tag.rpartition('/')[2]
  return last == STD or (last.startswith('seed_') and last[5:].isdigit())


def member_tags(series: dict, tag: str) -> list[str]:
  """The tags of `tag`'s members in `series`, in member order ([] for a single run)."""
  found, k = [], 0
  while f'{tag}/seed_{k}' in series:
    found.append(f'{tag}/seed_{k}')
    k += 1
  return found
