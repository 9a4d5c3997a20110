"""PyTorch (eager) implementation of jaxgan's DCGAN / WGAN / WGAN-GP training step, for speed.

Same architecture as jaxgan/models/dcgan.py (kernel sizes, paddings, widths, BatchNorm placement,
bias usage; the layer-norm critic is GroupNorm(1, C): statistics over C, H, W with a per-channel
affine, like Flax's LayerNorm(reduction_axes=(-3, -2, -1))), same losses, penalty, n_critic,
optimizers and generator EMA as jaxgan/gan/steps.py. It is written as a PyTorch user would write it
well: NCHW, D frozen during the G update, `zero_grad(set_to_none=True)`, fused foreach EMA.
Used by `python -m jaxgan.benchmark --compare_torch`; needs `pip install -e ".[torch]"`.
"""

import math
import time

import torch
from torch import nn


def num_doublings(image_size: int) -> tuple[int, int]:
  for base in (4, 3):
    n = math.log2(image_size / base) if image_size % base == 0 else -1
    if n >= 1 and n == int(n):
      return base, int(n)
  raise ValueError(f'model.image_size={image_size} is not 4 * 2**n or 3 * 2**n.')


def dcgan_init(module: nn.Module) -> None:
  for m in module.modules():
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
      nn.init.normal_(m.weight, 0.0, 0.02)
      if m.bias is not None:
        nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
      nn.init.normal_(m.weight, 1.0, 0.02)
      nn.init.zeros_(m.bias)


def upsample(cin: int, cout: int, kernel_size: int, mode: str) -> nn.Module:
  if mode == 'subpixel':
    return nn.Sequential(nn.Conv2d(cin, 4 * cout, 3, 1, 1, bias=False), nn.PixelShuffle(2))
  pad = (kernel_size - 2) // 2 if kernel_size % 2 == 0 else kernel_size // 2
  return nn.ConvTranspose2d(cin, cout, kernel_size, 2, pad, output_padding=kernel_size % 2,
                            bias=False)


def norm(kind: str, features: int) -> nn.Module:
  return {'batch': lambda: nn.BatchNorm2d(features, eps=1e-5, momentum=0.1),
          'layer': lambda: nn.GroupNorm(1, features, eps=1e-5),
          'none': nn.Identity}[kind]()


class Generator(nn.Module):

  def __init__(self, m):
    super().__init__()
    base, n = num_doublings(m.image_size)
    widths = [m.g_features * 2 ** (n - 1 - i) for i in range(n)]
    self.base, self.width, self.linear = base, widths[0], m.g_input == 'linear'
    self.project = (nn.Linear(m.z_dim, base * base * widths[0], bias=False) if self.linear else
                    nn.ConvTranspose2d(m.z_dim, widths[0], base, 1, 0, bias=False))
    layers = [nn.BatchNorm2d(widths[0], eps=1e-5, momentum=0.1), nn.ReLU(True)]
    for cin, cout in zip(widths[:-1], widths[1:]):
      layers += [upsample(cin, cout, m.g_kernel_size, m.g_upsample),
                 nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1), nn.ReLU(True)]
    layers += [upsample(widths[-1], m.channels, m.g_kernel_size, m.g_upsample), nn.Tanh()]
    self.body = nn.Sequential(*layers)

  def forward(self, z):
    if self.linear:
      x = self.project(z).view(z.shape[0], self.width, self.base, self.base)
    else:
      x = self.project(z[:, :, None, None])
    return self.body(x)


class Discriminator(nn.Module):

  def __init__(self, m):
    super().__init__()
    base, n = num_doublings(m.image_size)
    widths = [m.d_features * 2 ** i for i in range(n)]
    k = m.d_kernel_size
    pad = (k - 1) // 2 if k % 2 == 0 else k // 2
    use_bias = m.d_norm != 'batch'
    layers = []
    for i, (cin, cout) in enumerate(zip([m.channels] + widths[:-1], widths)):
      layers += [nn.Conv2d(cin, cout, k, 2, pad, bias=use_bias),
                 nn.Identity() if i == 0 else norm(m.d_norm, cout), nn.LeakyReLU(0.2, True)]
    layers += [nn.Conv2d(widths[-1], 1, base, 1, 0, bias=use_bias)]
    self.body = nn.Sequential(*layers)

  def forward(self, x):
    return self.body(x).reshape(x.shape[0])


def build(config) -> tuple[nn.Module, nn.Module]:
  if config.model.name != 'dcgan':
    raise ValueError(f'The PyTorch reference covers model.name="dcgan", not '
                     f'{config.model.name!r}.')
  g, d = Generator(config.model), Discriminator(config.model)
  dcgan_init(g)
  dcgan_init(d)
  return g, d


def num_params(module: nn.Module) -> int:
  return sum(p.numel() for p in module.parameters())


bce = nn.functional.binary_cross_entropy_with_logits

D_LOSSES = {
    'non_saturating': lambda r, f: bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f)),
    'minimax': lambda r, f: bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f)),
    'wasserstein': lambda r, f: f.mean() - r.mean(),
    'hinge': lambda r, f: torch.relu(1 - r).mean() + torch.relu(1 + f).mean(),
}
G_LOSSES = {
    'non_saturating': lambda f: bce(f, torch.ones_like(f)),
    'minimax': lambda f: -nn.functional.softplus(f).mean(),
    'wasserstein': lambda f: -f.mean(),
    'hinge': lambda f: -f.mean(),
}


def gradient_penalty(d, real, fake):
  eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
  x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
  grads, = torch.autograd.grad(d(x_hat).sum(), x_hat, create_graph=True)
  return ((grads.flatten(1).square().sum(1) + 1e-12).sqrt() - 1).square().mean()


def r1_penalty(d, real, fake):
  del fake
  real = real.detach().requires_grad_(True)
  grads, = torch.autograd.grad(d(real).sum(), real, create_graph=True)
  return 0.5 * grads.flatten(1).square().sum(1).mean()


PENALTIES = {'gradient_penalty': gradient_penalty, 'r1': r1_penalty}


def optimizer(optim, params, lr):
  if optim.name == 'adam':
    return torch.optim.Adam(params, lr, betas=(optim.b1, optim.b2), eps=1e-8)
  return torch.optim.RMSprop(params, lr, alpha=0.99, eps=1e-8)


def make_train_step(config, g: nn.Module, d: nn.Module):
  """step(real (n_critic, B, C, H, W)) -> None: n_critic D updates, one G update, EMA."""
  g_opt = optimizer(config.optim, g.parameters(), config.optim.g_lr)
  d_opt = optimizer(config.optim, d.parameters(), config.optim.d_lr)
  d_loss, g_loss = D_LOSSES[config.loss.name], G_LOSSES[config.loss.name]
  penalty = PENALTIES.get(config.loss.penalty)
  weight, clip, z_dim = config.loss.penalty_weight, config.loss.clip_value, config.model.z_dim
  ema = [p.detach().clone() for p in g.parameters()]
  decay = config.model.ema_decay

  def step(real):
    batch = real.shape[1]
    for x in real:
      with torch.no_grad():
        fake = g(torch.randn(batch, z_dim, device=x.device))
      loss = d_loss(d(x), d(fake))
      if penalty is not None:
        loss = loss + weight * penalty(d, x, fake)
      d_opt.zero_grad(set_to_none=True)
      loss.backward()
      d_opt.step()
      if clip > 0:
        with torch.no_grad():
          torch._foreach_clamp_min_(list(d.parameters()), -clip)
          torch._foreach_clamp_max_(list(d.parameters()), clip)
    d.requires_grad_(False)
    loss = g_loss(d(g(torch.randn(batch, z_dim, device=real.device))))
    g_opt.zero_grad(set_to_none=True)
    loss.backward()
    g_opt.step()
    d.requires_grad_(True)
    if decay > 0:
      with torch.no_grad():
        torch._foreach_lerp_(ema, [p.detach() for p in g.parameters()], 1.0 - decay)

  return step


def make_runner(config, batch_size: int, device: str = 'cpu', compile_step: bool = False):
  """run(num_steps) -> seconds of that many full steps on synthetic data (after a warm-up)."""
  torch.manual_seed(config.seed)
  g, d = build(config)
  g, d = g.to(device), d.to(device)
  step = make_train_step(config, g, d)
  if compile_step:
    step = torch.compile(step)
  m = config.model
  real = torch.rand(config.optim.n_critic, batch_size, m.channels, m.image_size, m.image_size,
                    device=device) * 2 - 1
  sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
  # model.dtype='bfloat16': autocast, as jaxgan's bf16 (bf16 compute, f32 params/optimizer).
  autocast = torch.autocast(device.split(':')[0], dtype=torch.bfloat16,
                            enabled=m.get('dtype', 'float32') == 'bfloat16')

  def run(num_steps: int) -> float:
    sync()
    start = time.perf_counter()
    with autocast:
      for _ in range(num_steps):
        step(real)
    sync()
    return time.perf_counter() - start
  return run
