"""PyTorch (eager) twin of jaxgan's training step, for speed: DCGAN / WGAN / WGAN-GP, SNGAN and
R3GAN.

Same architectures as jaxgan/models/dcgan.py (kernel sizes, paddings, widths, BatchNorm placement,
bias usage; the layer-norm critic is GroupNorm(1, C): statistics over C, H, W with a per-channel
affine, like Flax's LayerNorm(reduction_axes=(-3, -2, -1))) and jaxgan/models/resnet.py (SNGAN's
32 and 64 px ResNets, D spectrally normalised) and jaxgan/models/r3gan.py (R3GAN's ConvNets,
grouped convolutions, resampling as the authors' reference resamplers: a depthwise (transposed)
convolution with the [1, 3, 3, 1] filter), same losses (RpGAN's too), penalties (R1 + R2), n_critic,
optimizers, schedules (learning rate, Adam's beta2, penalty weight, EMA half-life) and generator
EMA as jaxgan/gan/steps.py. The R3GAN D update computes R1 and R2 as the authors' Trainer.py
does; their G update compares with the last real micro-batch, as jaxgan's. Modules are named as jaxgan's,
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


# R3GAN ----------------------------------------------------------------------------------------

R3GAN_SLOPE = 0.2
R3GAN_GAIN = math.sqrt(2 / (1 + R3GAN_SLOPE ** 2))


def msr_(weight: torch.Tensor, gain: float = 1.0) -> None:
  """N(0, gain^2 / fan_in), fan_in = weight.size(1) * kernel area (their MSRInitializer)."""
  with torch.no_grad():
    weight.normal_(0, gain / math.sqrt(weight[0].numel())) if gain else weight.zero_()


class R3Conv(nn.Module):
  """Bias-free k x k convolution, 'same' padding, grouped; `weight` as nn.Conv2d's."""

  def __init__(self, cin: int, cout: int, k: int, gain: float = 1.0, groups: int = 1):
    super().__init__()
    self.groups, self.padding = groups, k // 2
    self.weight = nn.Parameter(torch.empty(cout, cin // groups, k, k))
    msr_(self.weight, gain)

  def forward(self, x):
    return F.conv2d(x, self.weight, padding=self.padding, groups=self.groups)


class R3BiasedActivation(nn.Module):

  def __init__(self, features: int):
    super().__init__()
    self.bias = nn.Parameter(torch.zeros(features))

  def forward(self, x):
    return F.leaky_relu(x + self.bias.view(1, -1, 1, 1), R3GAN_SLOPE)


class R3ResidualBlock(nn.Module):

  def __init__(self, width: int, group_width: int, expansion: int, total_blocks: int):
    super().__init__()
    expanded = width * expansion
    gain = R3GAN_GAIN * total_blocks ** (-1 / 4)  # 3 linear layers: L^(-1 / (2 * 3 - 2)).
    self.conv1 = R3Conv(width, expanded, 1, gain)
    self.act1 = R3BiasedActivation(expanded)
    self.conv2 = R3Conv(expanded, expanded, 3, gain, expanded // group_width)
    self.act2 = R3BiasedActivation(expanded)
    self.conv3 = R3Conv(expanded, width, 1, 0.0)

  def forward(self, x):
    return x + self.conv3(self.act2(self.conv2(self.act1(self.conv1(x)))))


def lowpass_kernel(x: torch.Tensor) -> torch.Tensor:
  """Their CreateLowpassKernel([1, 2, 1], Inplace=False): outer([1, 3, 3, 1]) / 64, as a
  depthwise (C, 1, 4, 4) kernel."""
  taps = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=x.dtype, device=x.device)
  kernel = torch.outer(taps, taps) / 64
  return kernel.expand(x.shape[1], 1, 4, 4)


def r3_upsample(x):
  """Their InterpolativeUpsamplerReference: a transposed convolution by 4 x the kernel."""
  return F.conv_transpose2d(x, 4 * lowpass_kernel(x), stride=2, padding=1, groups=x.shape[1])


def r3_downsample(x):
  """Their InterpolativeDownsamplerReference."""
  return F.conv2d(x, lowpass_kernel(x), stride=2, padding=1, groups=x.shape[1])


class R3Stage(nn.Module):

  def __init__(self, width, blocks, group_width, expansion, total, transition):
    super().__init__()
    self.blocks = nn.ModuleList(R3ResidualBlock(width, group_width, expansion, total)
                                for _ in range(blocks))
    self.transition = (R3Conv(*transition, 1) if transition and transition[0] != transition[1]
                       else None)

  def run_blocks(self, x):
    for block in self.blocks:
      x = block(x)
    return x

  def change_width(self, x):
    return x if self.transition is None else self.transition(x)


class R3GenerativeBasis(nn.Module):

  def __init__(self, in_features: int, width: int):
    super().__init__()
    self.basis = nn.Parameter(torch.randn(width, 4, 4))
    self.linear = nn.Linear(in_features, width, bias=False)
    msr_(self.linear.weight)

  def forward(self, z):
    return self.basis[None] * self.linear(z)[:, :, None, None]


class R3DiscriminativeBasis(nn.Module):

  def __init__(self, width: int, out_features: int):
    super().__init__()
    self.basis = nn.Parameter(torch.empty(width, 1, 4, 4))
    msr_(self.basis)
    self.linear = nn.Linear(width, out_features, bias=False)
    msr_(self.linear.weight)

  def forward(self, x):
    return self.linear(F.conv2d(x, self.basis, groups=x.shape[1]).flatten(1))


def r3gan_lists(m):
  if m.get('g_native_size', 0):
    raise ValueError('The PyTorch reference draws R3GAN without model.g_native_size.')
  return list(m.r3gan_width_mults), list(m.r3gan_blocks)


class R3GANGenerator(nn.Module):

  def __init__(self, m):
    super().__init__()
    mults, blocks = r3gan_lists(m)
    widths = [m.g_features * k for k in mults]
    self.width = widths[0]
    num_classes = m.get('num_classes', 0)
    self.embed = None
    if num_classes:
      self.embed = nn.Embedding(num_classes, m.z_dim)
      nn.init.normal_(self.embed.weight, 0, 1 / math.sqrt(num_classes))
    self.basis = R3GenerativeBasis(m.z_dim * (2 if num_classes else 1), widths[0])
    transitions = [None] + list(zip(widths, widths[1:]))
    self.stages = nn.ModuleList(
        R3Stage(w, n, m.r3gan_group_width, m.r3gan_expansion, sum(blocks), t)
        for w, n, t in zip(widths, blocks, transitions))
    self.to_image = R3Conv(widths[-1], m.channels, 1)

  def forward(self, z, labels=None):
    if self.embed is not None:
      z = torch.cat([z, self.embed(labels)], dim=1)
    x = self.stages[0].run_blocks(self.basis(z))
    for stage in self.stages[1:]:
      x = stage.run_blocks(r3_upsample(stage.change_width(x)))
    return self.to_image(x)


class R3GANDiscriminator(nn.Module):

  def __init__(self, m):
    super().__init__()
    mults, blocks = r3gan_lists(m)
    widths = [m.d_features * k for k in reversed(mults)]
    blocks = blocks[::-1]
    num_classes = m.get('num_classes', 0)
    self.from_image = R3Conv(m.channels, widths[0], 1)
    transitions = list(zip(widths, widths[1:])) + [None]
    self.stages = nn.ModuleList(
        R3Stage(w, n, m.r3gan_group_width, m.r3gan_expansion, sum(blocks), t)
        for w, n, t in zip(widths, blocks, transitions))
    out = widths[-1] if num_classes else 1
    self.head = R3DiscriminativeBasis(widths[-1], out)
    self.embed = None
    if num_classes:
      self.embed = nn.Embedding(num_classes, out)
      nn.init.normal_(self.embed.weight, 0, 1 / math.sqrt(out * num_classes))

  def forward(self, x, labels=None):
    x = self.from_image(x)
    for stage in self.stages[:-1]:
      x = stage.change_width(r3_downsample(stage.run_blocks(x)))
    h = self.head(self.stages[-1].run_blocks(x))
    return h[:, 0] if self.embed is None else (h * self.embed(labels)).sum(1)


def build(config) -> tuple[nn.Module, nn.Module]:
  m = config.model
  if m.name == 'dcgan':
    g, d = Generator(m), Discriminator(m)
    dcgan_init(g)
    dcgan_init(d)
    return g, d
  if m.name == 'sngan':
    return ResNetGenerator(m), ResNetDiscriminator(m)
  if m.name in ('r3gan', 'r3gan_conditional'):
    return R3GANGenerator(m), R3GANDiscriminator(m)
  raise ValueError(f'The PyTorch reference covers model.name "dcgan", "sngan", "r3gan" and '
                   f'"r3gan_conditional", not {m.name!r}.')


def num_params(module: nn.Module) -> int:
  return sum(p.numel() for p in module.parameters())


# The step -------------------------------------------------------------------------------------

bce = F.binary_cross_entropy_with_logits

D_LOSSES = {
    'non_saturating': lambda r, f: bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f)),
    'minimax': lambda r, f: bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f)),
    'wasserstein': lambda r, f: f.mean() - r.mean(),
    'hinge': lambda r, f: torch.relu(1 - r).mean() + torch.relu(1 + f).mean(),
    'rpgan': lambda r, f: F.softplus(f - r).mean(),
}
G_LOSSES = {
    'non_saturating': lambda f: bce(f, torch.ones_like(f)),
    'minimax': lambda f: -F.softplus(f).mean(),
    'wasserstein': lambda f: -f.mean(),
    'hinge': lambda f: -f.mean(),
}
# Relativistic: the G loss also compares with real logits.
RELATIVISTIC_G_LOSSES = {'rpgan': lambda f, r: F.softplus(r - f).mean()}


def gradient_penalty(d, real, fake, eps):
  x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
  grads, = torch.autograd.grad(d(x_hat).sum(), x_hat, create_graph=True)
  return ((grads.flatten(1).square().sum(1) + 1e-12).sqrt() - 1).square().mean()


def r1_penalty(d, real, fake, eps):
  del fake, eps
  real = real.detach().requires_grad_(True)
  grads, = torch.autograd.grad(d(real).sum(), real, create_graph=True)
  return 0.5 * grads.flatten(1).square().sum(1).mean()


def r1_r2_penalty(d, real, fake, eps):
  """As R3GAN's Trainer: per-sample squared input gradients on real (R1) and fake (R2) data,
  0.5 E[R1 + R2] (their gamma / 2 (R1 + R2) with weight gamma)."""
  del eps
  squares = []
  for x in (real, fake):
    x = x.detach().requires_grad_(True)
    grads, = torch.autograd.grad(d(x).sum(), x, create_graph=True)
    squares.append(grads.square().sum([1, 2, 3]))
  return 0.5 * (squares[0] + squares[1]).mean()


PENALTIES = {'gradient_penalty': gradient_penalty, 'r1': r1_penalty, 'r1_r2': r1_r2_penalty}


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
  if optim.lr_schedule == 'cosine':
    ramp = ramp_of_step(config, 'cosine', 1.0, optim.lr_end_factor)
    return lambda count: ramp(count / updates_per_step)
  raise ValueError(f'Unknown optim.lr_schedule={optim.lr_schedule!r}.')


def ramp_of_step(config, name: str, start: float, end: float):
  """jaxgan.gan.schedules.of_step: step -> value at step * batch_size of the horizon."""
  horizon = config.get('schedule_images', 0) or config.num_steps * config.batch_size
  def ramp(step):
    t = min(step * config.batch_size / horizon, 1.0)
    shape = {'constant': 0.0, 'linear': t, 'cosine': 0.5 * (1 - math.cos(math.pi * t))}[name]
    return start + (end - start) * shape
  return ramp


def ema_decay_of_step(config):
  """jaxgan.gan.steps.ema_decay: model.ema_decay, or R3GAN's 0.5 ** (batch / half-life)."""
  m = config.model
  half_life = m.get('ema_half_life_images', 0)
  if not half_life:
    return lambda step: m.ema_decay
  name = m.get('ema_half_life_schedule', 'constant')
  images = ramp_of_step(config, name, half_life if name == 'constant' else 0.0, half_life)
  return lambda step: 0.5 ** (config.batch_size / max(images(step), 1e-8))


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
  """step(real (n_critic, B, C, H, W), noise (draw_noise), labels (n_critic, B) or None) ->
  (last D loss, G loss): n_critic D updates, one G update, EMA."""
  optim = config.optim
  g_opt = optimizer(optim, g.parameters(), optim.g_lr)
  d_opt = optimizer(optim, d.parameters(), optim.d_lr)
  # Stepped after every update, as optax counts them: D makes n_critic per step.
  g_schedule = torch.optim.lr_scheduler.LambdaLR(g_opt, lr_factor(config, 1))
  d_schedule = torch.optim.lr_scheduler.LambdaLR(d_opt, lr_factor(config, optim.n_critic))
  b2 = ramp_of_step(config, optim.get('b2_schedule', 'constant'), optim.b2,
                    optim.get('b2_end', optim.b2))
  d_loss = D_LOSSES[config.loss.name]
  relativistic = config.loss.name in RELATIVISTIC_G_LOSSES
  g_loss = (RELATIVISTIC_G_LOSSES if relativistic else G_LOSSES)[config.loss.name]
  penalty = PENALTIES.get(config.loss.penalty)
  weight = ramp_of_step(config, config.loss.get('penalty_schedule', 'constant'),
                        config.loss.penalty_weight,
                        config.loss.get('penalty_weight_end', config.loss.penalty_weight))
  clip = config.loss.clip_value
  ema = [p.detach().clone() for p in g.parameters()]
  decay = ema_decay_of_step(config)
  counts = {'step': 0}

  def set_beta2(opt, updates_per_step, count):
    for group in opt.param_groups:  # As R3GAN's loop sets (0, beta2) before each step.
      group['betas'] = (optim.b1, b2(count / updates_per_step))

  def step(real, noise, labels=None):
    n = counts['step']
    with_labels = (lambda x, y: (x,)) if labels is None else (lambda x, y: (x, y))
    labels_of = (lambda i: None) if labels is None else (lambda i: labels[i])
    for i, (x, z, eps) in enumerate(zip(real, noise['d_z'], noise['eps'])):
      y = labels_of(i)
      critic = lambda images, y=y: d(*with_labels(images, y))
      with torch.no_grad(), kept_statistics(g):
        fake = g(*with_labels(z, y))
      loss = d_loss(critic(x), critic(fake))
      with kept_statistics(d, penalty is not None):
        if penalty is not None:
          loss = loss + weight(n) * penalty(critic, x, fake, eps)
        d_opt.zero_grad(set_to_none=True)
        loss.backward()
      set_beta2(d_opt, optim.n_critic, n * optim.n_critic + i)
      d_opt.step()
      d_schedule.step()
      if clip > 0:
        with torch.no_grad():
          torch._foreach_clamp_min_(list(d.parameters()), -clip)
          torch._foreach_clamp_max_(list(d.parameters()), clip)
    d.requires_grad_(False)
    y = labels_of(len(real) - 1)
    with kept_statistics(d):
      fake_logits = d(*with_labels(g(*with_labels(noise['g_z'], y)), y))
      if relativistic:  # Compared with the last critic micro-batch, as jaxgan.
        g_loss_value = g_loss(fake_logits, d(*with_labels(real[-1], y)))
      else:
        g_loss_value = g_loss(fake_logits)
      g_opt.zero_grad(set_to_none=True)
      g_loss_value.backward()
    set_beta2(g_opt, 1, n)
    g_opt.step()
    g_schedule.step()
    d.requires_grad_(True)
    if config.model.ema_decay > 0:  # EMA on (its decay may follow a half-life schedule).
      with torch.no_grad():
        torch._foreach_lerp_(ema, [p.detach() for p in g.parameters()], 1.0 - decay(n))
    counts['step'] = n + 1
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
  labels = (torch.randint(0, m.num_classes, (config.optim.n_critic, batch_size), device=device)
            if m.get('num_classes', 0) else None)
  sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
  # model.dtype='bfloat16': autocast, as jaxgan's bf16 (bf16 compute, f32 params/optimizer).
  autocast = torch.autocast(device.split(':')[0], dtype=torch.bfloat16,
                            enabled=m.get('dtype', 'float32') == 'bfloat16')

  def run(num_steps: int) -> float:
    sync()
    start = time.perf_counter()
    with autocast:
      for _ in range(num_steps):
        step(real, draw_noise(config, batch_size, device), labels)
    sync()
    return time.perf_counter() - start
  return run
