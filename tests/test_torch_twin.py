"""The benchmark's PyTorch twin (benchmarks/torch_reference.py) computes jaxgan's training step.

For each config `python -m jaxgan.benchmark --compare_torch` times, narrowed so that a step
takes seconds (same layers, loss, penalty, n_critic, optimizer and schedule; XLA's compile takes
most of the test): jaxgan's initial weights, BatchNorm statistics and spectral-norm vectors are
copied into the twin, both get the same real batch, the same noise and the same penalty
interpolation weights, and one full step (n_critic D updates, one G update, EMA) of each must
give the same losses, gradients, parameters, statistics and EMA.

Tolerances (float32 on CPU; the two differ only in the order of floating-point sums; measured
differences are about 10x or more below them):
- losses: rtol 1e-5 (a handful of reductions over the batch; measured <= 7e-7).
- G's gradients in the G update: atol 1e-5 of the largest + rtol 1e-4 (measured <= 1.2e-6 of
  the largest).
- parameters, EMA, statistics (BatchNorm's, spectral norm's u): atol 2e-6 (1% of one Adam step
  of lr 2e-4) + rtol 1e-5 (measured <= 1.6e-7). Adam divides each gradient by its own
  magnitude, so the first updates are about lr * sign(g) and a float difference in g moves a
  parameter by far less than lr, while a mismatch in the computation (a loss, a padding, a
  kernel flip, a kept statistic, the schedule) moves it by about lr. Except where g itself is
  float noise: there Adam's step is noise of up to lr, and only the gradients are compared.
"""

import jax
import numpy as np
import optax
import pytest
import torch
from torch import nn

from benchmarks import torch_reference
from jaxgan import benchmark
from jaxgan.gan import steps
from jaxgan.run import sharding
from testlib import get_config

ATOL, RTOL, LOSS_RTOL = 2e-6, 1e-5, 1e-5

CONFIGS = {
    'dcgan_celeba': dict(g_features=8, d_features=8),  # 64 px, BatchNorm in G and D, BCE.
    'dcgan_cifar': dict(g_features=8, d_features=8),
    'wgan_gp_cifar': dict(g_features=8, d_features=8),  # Layer-norm critic, GP, n_critic 5.
    'sngan_cifar': dict(g_features=16, d_features=16),  # Spectral norm, hinge, n_critic 5.
    # RpGAN + R1 + R2, grouped convolutions (2 groups of 16), resampling, class embeddings,
    # Adam's beta2 schedule (inject_hyperparams), the cosine schedules and the EMA half-life.
    'r3gan_cifar': dict(g_features=16, d_features=16),
}
# Fields beyond the model's: the twin has no DiffAugment (R3GAN's probability starts at 0).
OTHER_FIELDS = {'r3gan_cifar': {'data': dict(diffaugment='')}}


def tiny_config(name: str):
  config = get_config(name)
  config.batch_size = 4
  config.model.update(CONFIGS[name])
  for section, fields in OTHER_FIELDS.get(name, {}).items():
    config[section].update(fields)
  # sngan_cifar's linear decay, shortened so that each of its 5 D updates has its own rate.
  config.num_steps = 2
  return config


# jaxgan -> PyTorch layouts ----------------------------------------------------------------------

def flat(tree) -> dict[str, np.ndarray]:
  """{'blocks.0.conv1.layer.kernel': array} of a pure-dict state."""
  leaves = jax.tree_util.tree_flatten_with_path(jax.device_get(tree))[0]
  return {'.'.join(str(k.key) for k in path): np.asarray(v) for path, v in leaves}


ATTRIBUTES = {'kernel': 'weight', 'scale': 'weight', 'bias': 'bias', 'mean': 'running_mean',
              'var': 'running_var', 'u': 'weight_u', 'embedding': 'weight', 'basis': 'basis'}


def torch_name(module: nn.Module, name: str) -> tuple[str, nn.Module]:
  """(the twin's parameter or buffer name, its layer) of a jaxgan leaf name.

  The twin's modules are named as jaxgan's; jaxgan's SpectralNorm wraps its layer as `.layer`,
  where torch's spectral_norm keeps the raw weight as `weight_orig` on the layer itself.
  """
  *path, leaf = name.split('.')
  sn = path[-1] == 'layer'
  path = path[:-1] if sn else path
  layer = module.get_submodule('.'.join(path))
  attribute = 'weight_orig' if sn and leaf == 'kernel' else ATTRIBUTES[leaf]
  return '.'.join(path + [attribute]), layer


def to_torch(value: np.ndarray, layer: nn.Module, leaf: str, image_width: int) -> np.ndarray:
  """A jaxgan leaf in the PyTorch layer's layout (NCHW activations, OIHW / IOHW kernels)."""
  if leaf == 'kernel' and isinstance(layer, nn.ConvTranspose2d):
    # Flax's ConvTranspose (HWIO) correlates the dilated input with the kernel as stored;
    # PyTorch's (IOHW) is the adjoint of a convolution, which flips it spatially.
    return value[::-1, ::-1].transpose(2, 3, 0, 1).copy()
  if leaf == 'kernel' and isinstance(layer, (nn.Conv2d, torch_reference.R3Conv)):
    return value.transpose(3, 2, 0, 1).copy()
  if leaf == 'basis':  # R3GAN's: G's (4, 4, C) -> (C, 4, 4), D's depthwise HWIO -> OIHW.
    return value.transpose((2, 0, 1) if value.ndim == 3 else (3, 2, 0, 1)).copy()
  if isinstance(layer, nn.Linear) and image_width:
    # G's input layer: jaxgan reshapes its output to (H, W, C), the twin to (C, H, W).
    hw = layer.out_features // image_width
    value = value.reshape(value.shape[:-1] + (hw, image_width))
    value = np.swapaxes(value, -1, -2).reshape(value.shape[:-2] + (-1,))
  return value.T.copy() if leaf == 'kernel' else value


def as_torch(module: nn.Module, tree, image_width: int = 0) -> dict[str, np.ndarray]:
  """{the twin's name: value} of a jaxgan params or stats tree."""
  out = {}
  for name, value in flat(tree).items():
    target, layer = torch_name(module, name)
    width = image_width if name.startswith('project.') else 0
    out[target] = to_torch(value, layer, name.rsplit('.', 1)[-1], width)
  return out


def tensors(module: nn.Module) -> dict[str, torch.Tensor]:
  return dict(module.named_parameters()) | dict(module.named_buffers())


def load(module: nn.Module, values: dict[str, np.ndarray]) -> None:
  targets = tensors(module)
  with torch.no_grad():
    for name, value in values.items():
      assert targets[name].shape == value.shape, name
      targets[name].copy_(torch.from_numpy(np.array(value)))


def track_bessel(module: nn.Module) -> None:
  """PyTorch's BatchNorm updates running_var with the unbiased batch variance, Flax's with the
  biased one (an evaluation-only difference): a `bessel` buffer per BatchNorm accumulates the
  difference, var / (n - 1) per update, so running_var - bessel is Flax's. Being a buffer, it is
  kept or undone with the other statistics."""
  def hook(bn, inputs, output):
    del output
    if bn.training:
      x = inputs[0].detach()
      var = x.var(dim=(0, 2, 3), unbiased=False)
      bn.bessel.mul_(1 - bn.momentum).add_(bn.momentum * var / (x.numel() // x.shape[1] - 1))
  for bn in module.modules():
    if isinstance(bn, nn.BatchNorm2d):
      bn.register_buffer('bessel', torch.zeros_like(bn.running_var))
      bn.register_forward_hook(hook)


def read(module: nn.Module, names) -> dict[str, np.ndarray]:
  values = {name: t.detach().numpy() for name, t in tensors(module).items()}
  for name in [n for n in values if n.endswith('running_var')]:
    values[name] = values[name] - values[name.replace('running_var', 'bessel')]
  return {name: values[name] for name in names}


# The step's inputs ------------------------------------------------------------------------------

def jax_noise(config, state) -> dict[str, torch.Tensor]:
  """The noise and penalty weights jaxgan's step draws (the keys of jaxgan.gan.steps)."""
  b, z_dim = config.batch_size, config.model.z_dim
  d_key, g_key = jax.random.split(jax.random.fold_in(state.key, state.step))
  d_z, eps = [], []
  for i in range(config.optim.n_critic):
    z_key, penalty_key = jax.random.split(jax.random.fold_in(d_key, i))
    d_z.append(steps.sample_noise(z_key, b, z_dim))
    eps.append(jax.random.uniform(penalty_key, (b, 1, 1, 1)))  # losses.gradient_penalty's.
  noise = dict(d_z=np.stack(d_z), eps=np.stack(eps), g_z=steps.sample_noise(g_key, b, z_dim))
  return {k: torch.from_numpy(np.array(v)) for k, v in noise.items()}


def assert_close(name, torch_value, jax_value, where=True):
  np.testing.assert_allclose(np.where(where, torch_value, 0), np.where(where, jax_value, 0),
                             rtol=RTOL, atol=ATOL, err_msg=name)


def g_gradients(config, state) -> dict:
  """G's gradient in the G update, from Adam's first moment after it: mu = (1 - b1) g (also
  inside optax.inject_hyperparams' state, with a beta2 schedule)."""
  mu = optax.tree_utils.tree_get(state.g_opt, 'mu')
  return jax.tree.map(lambda mu: mu / (1 - config.optim.b1), mu)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_one_step_of_the_twin_is_jaxgans(name):
  config = tiny_config(name)
  mesh = sharding.make_mesh(config)
  jitted, state = benchmark.build_step(config, mesh)
  batch = benchmark.synthetic_batch(config, mesh, steps_per_call=1)
  g, d = torch_reference.build(config)
  track_bessel(g)
  track_bessel(d)
  g_params = lambda s, tree=None: as_torch(g, s.g_params if tree is None else tree, g.width)
  for module, params, stats in ((g, g_params(state), as_torch(g, state.g_stats)),
                                (d, as_torch(d, state.d_params), as_torch(d, state.d_stats))):
    load(module, params | stats)
    # Everything else is recomputed before use (spectral norm's v, from u), unused
    # (num_batches_tracked: BatchNorm's momentum is set) or the test's own.
    left = set(tensors(module)) - set(params) - set(stats)
    assert all(n.endswith(('weight_v', 'num_batches_tracked', 'bessel')) for n in left), left
  noise = jax_noise(config, state)
  real = torch.from_numpy(np.asarray(batch['image'])).permute(0, 1, 4, 2, 3).contiguous()
  labels = (torch.from_numpy(np.asarray(batch['label'])).long() if 'label' in batch else None)
  step = torch_reference.make_train_step(config, g, d)

  new, metrics = jitted(state, batch)
  d_loss, g_loss = step(real, noise, labels)

  np.testing.assert_allclose(d_loss.item(), metrics['d_loss'], rtol=LOSS_RTOL)
  np.testing.assert_allclose(g_loss.item(), metrics['g_loss'], rtol=LOSS_RTOL)
  # G's gradients (the twin's .grad is still the G update's), to 1e-5 of the largest.
  grads = g_params(new, g_gradients(config, new))
  scale = max(np.abs(v).max() for v in grads.values())
  for key, p in g.named_parameters():
    np.testing.assert_allclose(p.grad.numpy(), grads[key], rtol=1e-4, atol=1e-5 * scale,
                               err_msg=f'gradient of {key}')
  # Where G's gradient is float noise (< 1e-6; in SNGAN's G the conv biases, which BatchNorm
  # cancels: ~1e-8), Adam's step g / (|g| + 1e-8) is noise of up to lr: there only the
  # gradients above are compared.
  signal = {key: np.abs(v) > 1e-6 for key, v in grads.items()}
  expected = g_params(new)
  got = read(g, expected)
  for key, value in expected.items():
    assert_close(key, got[key], value, signal[key])
  if config.model.ema_decay > 0:
    expected = g_params(new, new.ema_params)
    for (key, _), value in zip(g.named_parameters(), step.ema):
      assert_close(f'EMA {key}', value.numpy(), expected[key], signal[key])
  for module, tree in ((g, new.g_stats), (d, new.d_params), (d, new.d_stats)):
    expected = as_torch(module, tree)
    got = read(module, expected)
    for key, value in expected.items():
      assert_close(key, got[key], value)
