"""PyTorch (eager) twin of jaxgan's training step, for speed: DCGAN / WGAN / WGAN-GP and SNGAN.

Same architectures as jaxgan/models/dcgan.py (kernel sizes, paddings, widths, BatchNorm placement,
bias usage; the layer-norm critic is GroupNorm(1, C): statistics over C, H, W with a per-channel
affine, like Flax's LayerNorm(reduction_axes=(-3, -2, -1))) and jaxgan/models/resnet.py (SNGAN's
32 and 64 px ResNets, D spectrally normalised), same losses, penalty, n_critic, optimizers,
learning-rate schedule and generator EMA as jaxgan/gan/steps.py. Modules are named as jaxgan's,
so its weights copy over by name. It is written as a PyTorch user would write it well: NCHW, D
frozen during the G update, `zero_grad(set_to_none=True)`, fused foreach EMA.

One full step is the same computation as jaxgan's from the same weights, data and noise
(tests/test_torch_twin.py): the step takes its noise as arguments (`draw_noise`), and follows
jaxgan where a plain PyTorch loop would differ:
- Statistics: jaxgan keeps BatchNorm statistics and spectral-norm vectors only from D's real and
  fake passes of each D update and from G's pass in the G update; G's pass in the D update, D's
  pass in the G update and the penalty's pass run in training mode but keep none
  (`kept_statistics`).
- Spectral norm is torch.nn.utils.spectral_norm, whose power iteration is jaxgan's (and the SNGAN
  authors'): v = W^T u, u = W v from the stored u, sigma = u^T W v. The newer
  torch.nn.utils.parametrizations.spectral_norm iterates the other way round (u from a stored v)
  and so estimates another sigma from the same u; the work per forward is the same.
Used by `python -m jaxgan.benchmark --compare_torch`; needs `pip install -e ".[torch]"`.
"""

import contextlib
import math
import time

import torch
from torch import nn
from torch.nn import functional as F


def num_doublings(image_size: int) -> tuple[int, int]:
  for base in (4, 3):
    n = math.log2(image_size / base) if image_size % base == 0 else -1
    if n >= 1 and n == int(n):
      return base, int(n)
  raise ValueError(f'model.image_size={image_size} is not 4 * 2**n or 3 * 2**n.')


# DCGAN ----------------------------------------------------------------------------------------

def dcgan_init(module: nn.Module) -> None:
  for m in module.modules():
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
      nn.init.normal_(m.weight, 0.0, 0.02)
      if m.bias is not None:
        nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
      nn.init.normal_(m.weight, 1.0, 0.02)
      nn.init.zeros_(m.bias)


class Upsample(nn.Module):

  def __init__(self, cin: int, cout: int, kernel_size: int, mode: str):
    super().__init__()
    if mode == 'subpixel':
      self.conv = nn.Conv2d(cin, 4 * cout, 3, 1, 1, bias=False)
      self.shuffle = nn.PixelShuffle(2)
    else:
      pad = (kernel_size - 2) // 2 if kernel_size % 2 == 0 else kernel_size // 2
      self.conv = nn.ConvTranspose2d(cin, cout, kernel_size, 2, pad,
                                     output_padding=kernel_size % 2, bias=False)
      self.shuffle = nn.Identity()

  def forward(self, x):
    return self.shuffle(self.conv(x))


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
    self.norms = nn.ModuleList(nn.BatchNorm2d(w, eps=1e-5, momentum=0.1) for w in widths)
    self.ups = nn.ModuleList(Upsample(cin, cout, m.g_kernel_size, m.g_upsample)
                             for cin, cout in zip(widths[:-1], widths[1:]))
    self.to_image = Upsample(widths[-1], m.channels, m.g_kernel_size, m.g_upsample)

  def forward(self, z):
    if self.linear:
      x = self.project(z).view(z.shape[0], self.width, self.base, self.base)
    else:
      x = self.project(z[:, :, None, None])
    x = F.relu(self.norms[0](x), inplace=True)
    for up, bn in zip(self.ups, self.norms[1:]):
      x = F.relu(bn(up(x)), inplace=True)
    return torch.tanh(self.to_image(x))


class Discriminator(nn.Module):

  def __init__(self, m):
    super().__init__()
    base, n = num_doublings(m.image_size)
    widths = [m.d_features * 2 ** i for i in range(n)]
    k = m.d_kernel_size
    pad = (k - 1) // 2 if k % 2 == 0 else k // 2
    use_bias = m.d_norm != 'batch'
    self.convs = nn.ModuleList(nn.Conv2d(cin, cout, k, 2, pad, bias=use_bias)
                               for cin, cout in zip([m.channels] + widths[:-1], widths))
    # No normalisation on the first block (DCGAN).
    self.norms = nn.ModuleList([nn.Identity()] + [norm(m.d_norm, w) for w in widths[1:]])
    self.to_logit = nn.Conv2d(widths[-1], 1, base, 1, 0, bias=use_bias)

  def forward(self, x):
    h = x
    for conv, nrm in zip(self.convs, self.norms):
      h = F.leaky_relu(nrm(conv(h)), 0.2, inplace=True)
    return self.to_logit(h).reshape(x.shape[0])


# SNGAN ----------------------------------------------------------------------------------------

# image_size -> (G widths from 4x4 up, D blocks as (width, downsample)), in units of g and d
# features, as jaxgan.models.resnet.LAYOUTS.
SNGAN_LAYOUTS = {
    32: ((1, 1, 1, 1), ((1, True), (1, True), (1, False), (1, False))),
    64: ((16, 8, 4, 2, 1), ((1, True), (2, True), (4, True), (8, True), (16, True))),
}


def xavier_conv(cin: int, cout: int, k: int, gain: float, sn: bool = False) -> nn.Module:
  """Conv k x k, 'same' padding, Glorot uniform with `gain` and zero bias (chainer's init)."""
  conv = nn.Conv2d(cin, cout, k, 1, k // 2)
  nn.init.xavier_uniform_(conv.weight, gain)
  nn.init.zeros_(conv.bias)
  # One power iteration per training forward, as jaxgan's SpectralNorm (module docstring).
  return nn.utils.spectral_norm(conv) if sn else conv


def upsample2x(x):
  return F.interpolate(x, scale_factor=2, mode='nearest')


class GBlock(nn.Module):
  """BN, ReLU, upsample, conv3x3, BN, ReLU, conv3x3; shortcut: upsample, conv1x1."""

  def __init__(self, cin: int, cout: int):
    super().__init__()
    self.norm1 = nn.BatchNorm2d(cin)
    self.conv1 = xavier_conv(cin, cout, 3, math.sqrt(2))
    self.norm2 = nn.BatchNorm2d(cout)
    self.conv2 = xavier_conv(cout, cout, 3, math.sqrt(2))
    self.shortcut = xavier_conv(cin, cout, 1, 1.0)

  def forward(self, x):
    h = self.conv1(upsample2x(F.relu(self.norm1(x), inplace=True)))
    h = self.conv2(F.relu(self.norm2(h), inplace=True))
    return h + self.shortcut(upsample2x(x))


class ResNetGenerator(nn.Module):

  def __init__(self, m):
    super().__init__()
    widths = [m.g_features * k for k in sngan_layout(m)[0]]
    self.width = widths[0]
    self.project = nn.Linear(m.z_dim, 4 * 4 * widths[0])
    nn.init.xavier_uniform_(self.project.weight)
    nn.init.zeros_(self.project.bias)
    self.blocks = nn.ModuleList(GBlock(cin, cout) for cin, cout in zip(widths, widths[1:]))
    self.norm = nn.BatchNorm2d(widths[-1])
    self.to_image = xavier_conv(widths[-1], m.channels, 3, 1.0)

  def forward(self, z):
    x = self.project(z).view(z.shape[0], self.width, 4, 4)
    for block in self.blocks:
      x = block(x)
    return torch.tanh(self.to_image(F.relu(self.norm(x), inplace=True)))


class OptimizedDBlock(nn.Module):
  """conv3x3, ReLU, conv3x3, pool (no ReLU on the image); shortcut: pool, conv1x1."""

  def __init__(self, cin: int, cout: int):
    super().__init__()
    self.conv1 = xavier_conv(cin, cout, 3, math.sqrt(2), sn=True)
    self.conv2 = xavier_conv(cout, cout, 3, math.sqrt(2), sn=True)
    self.shortcut = xavier_conv(cin, cout, 1, 1.0, sn=True)

  def forward(self, x):
    h = self.conv2(F.relu(self.conv1(x), inplace=True))
    return F.avg_pool2d(h, 2) + self.shortcut(F.avg_pool2d(x, 2))


class DBlock(nn.Module):
  """ReLU, conv3x3, ReLU, conv3x3 (, pool); shortcut: conv1x1 (, pool) if the shape changes."""

  def __init__(self, cin: int, cout: int, downsample: bool):
    super().__init__()
    self.downsample = downsample
    self.conv1 = xavier_conv(cin, cin, 3, math.sqrt(2), sn=True)
    self.conv2 = xavier_conv(cin, cout, 3, math.sqrt(2), sn=True)
    self.shortcut = (xavier_conv(cin, cout, 1, 1.0, sn=True) if cin != cout or downsample else
                     None)

  def forward(self, x):
    h = self.conv2(F.relu(self.conv1(F.relu(x)), inplace=True))
    skip = x if self.shortcut is None else self.shortcut(x)
    if self.downsample:
      h, skip = F.avg_pool2d(h, 2), F.avg_pool2d(skip, 2)
    return h + skip


class ResNetDiscriminator(nn.Module):

  def __init__(self, m):
    super().__init__()
    blocks = sngan_layout(m)[1]
    widths = [m.d_features * k for k, _ in blocks]
    self.blocks = nn.ModuleList(
        [OptimizedDBlock(m.channels, widths[0])] +
        [DBlock(cin, cout, down) for cin, cout, (_, down) in zip(widths, widths[1:], blocks[1:])])
    head = nn.Linear(widths[-1], 1)
    nn.init.xavier_uniform_(head.weight)
    nn.init.zeros_(head.bias)
    self.head = nn.utils.spectral_norm(head)

  def forward(self, x):
    for block in self.blocks:
      x = block(x)
    return self.head(F.relu(x).sum(dim=(2, 3)))[:, 0]


def sngan_layout(m):
  if m.image_size not in SNGAN_LAYOUTS or m.get('attention_resolution', 0):
    raise ValueError(f'The PyTorch reference covers the SNGAN ResNets at image_size '
                     f'{sorted(SNGAN_LAYOUTS)} without self-attention, not image_size='
                     f'{m.image_size}, attention_resolution={m.get("attention_resolution", 0)}.')
  return SNGAN_LAYOUTS[m.image_size]


def build(config) -> tuple[nn.Module, nn.Module]:
  m = config.model
  if m.name == 'dcgan':
    g, d = Generator(m), Discriminator(m)
    dcgan_init(g)
    dcgan_init(d)
    return g, d
  if m.name == 'sngan':
    return ResNetGenerator(m), ResNetDiscriminator(m)
  raise ValueError(f'The PyTorch reference covers model.name="dcgan" and "sngan", not '
                   f'{m.name!r}.')


def num_params(module: nn.Module) -> int:
  return sum(p.numel() for p in module.parameters())


# The step -------------------------------------------------------------------------------------

bce = F.binary_cross_entropy_with_logits

D_LOSSES = {
    'non_saturating': lambda r, f: bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f)),
    'minimax': lambda r, f: bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f)),
    'wasserstein': lambda r, f: f.mean() - r.mean(),
    'hinge': lambda r, f: torch.relu(1 - r).mean() + torch.relu(1 + f).mean(),
}
G_LOSSES = {
    'non_saturating': lambda f: bce(f, torch.ones_like(f)),
    'minimax': lambda f: -F.softplus(f).mean(),
    'wasserstein': lambda f: -f.mean(),
    'hinge': lambda f: -f.mean(),
}


def gradient_penalty(d, real, fake, eps):
  x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
  grads, = torch.autograd.grad(d(x_hat).sum(), x_hat, create_graph=True)
  return ((grads.flatten(1).square().sum(1) + 1e-12).sqrt() - 1).square().mean()


def r1_penalty(d, real, fake, eps):
  del fake, eps
  real = real.detach().requires_grad_(True)
  grads, = torch.autograd.grad(d(real).sum(), real, create_graph=True)
  return 0.5 * grads.flatten(1).square().sum(1).mean()


PENALTIES = {'gradient_penalty': gradient_penalty, 'r1': r1_penalty}


def optimizer(optim, params, lr):
  if optim.name == 'adam':
    return torch.optim.Adam(params, lr * optim.lr_scale, betas=(optim.b1, optim.b2), eps=1e-8)
  return torch.optim.RMSprop(params, lr * optim.lr_scale, alpha=0.99, eps=1e-8)


def lr_factor(config, updates_per_step: int):
  """jaxgan.gan.state.learning_rate's schedule as a factor of the optimizer's update count."""
  optim = config.optim
  if optim.lr_schedule == 'constant':
    return lambda count: 1.0
  if optim.lr_schedule == 'linear':  # optax.linear_schedule(lr, 0, total, begin).
    begin = optim.decay_start * updates_per_step
    total = (config.num_steps - optim.decay_start) * updates_per_step
    return lambda count: 1.0 - min(max(count - begin, 0), total) / total
  raise ValueError(f'Unknown optim.lr_schedule={optim.lr_schedule!r}.')


@contextlib.contextmanager
def kept_statistics(module: nn.Module, enabled: bool = True):
  """Training-mode passes (batch statistics, power iterations) whose updates of the module's
  buffers (BatchNorm's running statistics, spectral norm's u and v) are undone on exit, as
  jaxgan drops them. Exit after the backward pass: BatchNorm saves its buffers for it."""
  buffers = list(module.buffers()) if enabled else []
  saved = [b.clone() for b in buffers]
  yield
  if buffers:
    with torch.no_grad():
      torch._foreach_copy_(buffers, saved)


def draw_noise(config, batch_size: int, device='cpu') -> dict:
  """One step's random inputs: G's noise for each D update and for the G update, and the
  gradient penalty's interpolation weights."""
  n, z_dim = config.optim.n_critic, config.model.z_dim
  return dict(d_z=torch.randn(n, batch_size, z_dim, device=device),
              eps=torch.rand(n, batch_size, 1, 1, 1, device=device),
              g_z=torch.randn(batch_size, z_dim, device=device))


def make_train_step(config, g: nn.Module, d: nn.Module):
  """step(real (n_critic, B, C, H, W), noise (draw_noise)) -> (last D loss, G loss):
  n_critic D updates, one G update, EMA."""
  optim = config.optim
  g_opt = optimizer(optim, g.parameters(), optim.g_lr)
  d_opt = optimizer(optim, d.parameters(), optim.d_lr)
  # Stepped after every update, as optax counts them: D makes n_critic per step.
  g_schedule = torch.optim.lr_scheduler.LambdaLR(g_opt, lr_factor(config, 1))
  d_schedule = torch.optim.lr_scheduler.LambdaLR(d_opt, lr_factor(config, optim.n_critic))
  d_loss, g_loss = D_LOSSES[config.loss.name], G_LOSSES[config.loss.name]
  penalty = PENALTIES.get(config.loss.penalty)
  weight, clip = config.loss.penalty_weight, config.loss.clip_value
  ema = [p.detach().clone() for p in g.parameters()]
  decay = config.model.ema_decay

  def step(real, noise):
    for x, z, eps in zip(real, noise['d_z'], noise['eps']):
      with torch.no_grad(), kept_statistics(g):
        fake = g(z)
      loss = d_loss(d(x), d(fake))
      with kept_statistics(d, penalty is not None):
        if penalty is not None:
          loss = loss + weight * penalty(d, x, fake, eps)
        d_opt.zero_grad(set_to_none=True)
        loss.backward()
      d_opt.step()
      d_schedule.step()
      if clip > 0:
        with torch.no_grad():
          torch._foreach_clamp_min_(list(d.parameters()), -clip)
          torch._foreach_clamp_max_(list(d.parameters()), clip)
    d.requires_grad_(False)
    with kept_statistics(d):
      g_loss_value = g_loss(d(g(noise['g_z'])))
      g_opt.zero_grad(set_to_none=True)
      g_loss_value.backward()
    g_opt.step()
    g_schedule.step()
    d.requires_grad_(True)
    if decay > 0:
      with torch.no_grad():
        torch._foreach_lerp_(ema, [p.detach() for p in g.parameters()], 1.0 - decay)
    return loss.detach(), g_loss_value.detach()

  step.ema = ema
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
        step(real, draw_noise(config, batch_size, device))
    sync()
    return time.perf_counter() - start
  return run
