"""Spectral normalisation (Miyato et al. 2018) of a layer's weight, as torch.nn.utils.spectral_norm.

The wrapped layer runs with W / sigma, where sigma estimates the largest singular value of W seen
as a (fan_in, out) matrix: an nnx Conv or ConvTranspose kernel (kh, kw, in, out), a Linear kernel
(in, out) or an Embed table (num_embeddings, features), reshaped to (-1, last axis). PyTorch's
matrices are the transposes of these, up to the order of the fan-in axes, so sigma is the same.
One power iteration per call refines a persistent vector u; u is an nnx.BatchStat, so it lands
in a model's batch statistics (checkpointed, resumed and sharded with BatchNorm's), and a pure
`apply` returns its update. As in PyTorch, the gradient reaches W both directly and through
sigma = v^T W u, with u and v held constant.

Not nnx.SpectralNorm: that one writes W / sigma over the layer's own Param on every call, so a
module called twice normalises an already normalised weight (its outputs drift) and, trained
statefully, its optimizer updates W / sigma instead of W. It also keys its statistics by tuples.
"""

import jax
import jax.numpy as jnp
from flax import nnx

EPS = 1e-12  # PyTorch's: F.normalize(x, eps) divides by max(|x|, eps).


def l2_normalize(x, eps: float = EPS):
  return x / jnp.maximum(jnp.linalg.norm(x), eps)


def as_matrix(weight):
  """The (fan_in, out) matrix whose largest singular value normalises `weight`."""
  return weight.reshape(-1, weight.shape[-1])


def power_iteration(matrix, u, eps: float = EPS):
  """One power-iteration step from u (out,): (new u, sigma = v^T W u), u and v constant."""
  v = jax.lax.stop_gradient(l2_normalize(matrix @ u, eps))
  u = jax.lax.stop_gradient(l2_normalize(matrix.T @ v, eps))
  return u, v @ matrix @ u


class SpectralNorm(nnx.Module):
  """Wraps an nnx Conv, ConvTranspose, Linear or Embed: `sn(x, update_stats)` is `layer(x)` with
  the weight divided by its spectral norm.

  update_stats=True (training) stores the refined u; False (evaluation) runs the same iteration
  without storing it, so both modes compute the same function of (W, u).
  """

  def __init__(self, layer: nnx.Module, *, rngs: nnx.Rngs, eps: float = EPS):
    self.layer = layer
    self.eps = eps
    self.weight_name = 'embedding' if isinstance(layer, nnx.Embed) else 'kernel'
    out = getattr(layer, self.weight_name).shape[-1]
    self.u = nnx.BatchStat(l2_normalize(jax.random.normal(rngs.params(), (out,), jnp.float32)))

  def sigma(self):
    """The spectral norm the next call divides by (without moving u)."""
    weight = getattr(self.layer, self.weight_name)[...]
    return power_iteration(as_matrix(weight), self.u[...], self.eps)[1]

  def __call__(self, x, update_stats: bool = True):
    weight = getattr(self.layer, self.weight_name)[...]
    u, sigma = power_iteration(as_matrix(weight), self.u[...], self.eps)
    if update_stats:
      self.u[...] = u
    # A copy of the layer runs on W / sigma: the layer's own Param keeps the raw W (PyTorch's
    # weight_orig), which the optimizer updates, and is never written, so evaluation mutates
    # nothing (and can run under any jax transform).
    graph, values = nnx.split(self.layer)
    values = nnx.to_pure_dict(values) | {self.weight_name: weight / sigma}
    return nnx.merge(graph, values)(x)
