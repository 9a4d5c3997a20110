"""MLP generator and discriminator for 2-D toy mixtures (ring of 8, grid of 25)."""

from flax import nnx


class MLP(nnx.Module):

  def __init__(self, din: int, hidden: tuple[int, ...], dout: int, *, rngs: nnx.Rngs):
    dims = (din, *hidden)
    self.hidden = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in zip(dims[:-1], dims[1:])])
    self.out = nnx.Linear(dims[-1], dout, rngs=rngs)

  def __call__(self, x):
    for layer in self.hidden:
      x = nnx.relu(layer(x))
    return self.out(x)


class Generator(nnx.Module):
  """z (B, z_dim) -> points (B, 2)."""

  def __init__(self, z_dim: int, hidden: tuple[int, ...], *, rngs: nnx.Rngs):
    self.mlp = MLP(z_dim, hidden, 2, rngs=rngs)

  def __call__(self, z, train: bool = True):
    del train  # No BatchNorm: the same function in training and sampling.
    return self.mlp(z)


class Discriminator(nnx.Module):
  """points (B, 2) -> logits (B,)."""

  def __init__(self, hidden: tuple[int, ...], *, rngs: nnx.Rngs):
    self.mlp = MLP(2, hidden, 1, rngs=rngs)

  def __call__(self, x, train: bool = True):
    del train
    return self.mlp(x)[:, 0]
