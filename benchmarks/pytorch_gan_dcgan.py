"""A PyTorch peer to measure quality against: PyTorch-GAN's DCGAN, written anew from its design.

eriklindernoren/PyTorch-GAN's `implementations/dcgan` is the DCGAN most people start from. This
module is our own implementation of what that script trains (its code is not copied here), so
that `python -m jaxgan.benchmark --versus_peer` can train it on the same images for the same
wall time as a jaxgan config and score both with the same judge:

- Generator: linear from the latent (100) to 128 x s x s (s = img_size / 4), BatchNorm2d(128);
  twice nearest-neighbour upsampling x2 and a 3x3 convolution (128 -> 128, then 128 -> 64), each
  followed by BatchNorm2d(c, 0.8) and LeakyReLU(0.2); a last 3x3 convolution to the channels and
  tanh. The 0.8 is BatchNorm2d's second positional argument, eps (not momentum), as their code
  passes it; the first BatchNorm keeps eps 1e-5.
- Discriminator: four blocks of a 3x3 stride-2 convolution (16, 32, 64, 128 channels),
  LeakyReLU(0.2) and Dropout2d(0.25), then BatchNorm2d(c, 0.8) in all blocks but the first
  (in that order: the norm comes after the dropout); a linear layer to one logit and a sigmoid.
- Initialisation: convolution weights N(0, 0.02) and BatchNorm weights N(1, 0.02) with zero
  biases, as their `weights_init_normal` does; it matches classes named "Conv" and
  "BatchNorm2d" only, so the convolution biases and the linear layers keep PyTorch's defaults.
- Loss: BCELoss on the sigmoid; each iteration first a G step (BCE of D(G(z)) against ones),
  then a D step on the same images detached, d_loss = (BCE(D(real), 1) + BCE(D(fake), 0)) / 2.
  As in their loop D is not frozen during the G step (its gradients are computed and then
  zeroed) and D runs in training mode throughout, so its BatchNorm statistics move three times
  per iteration.
- Defaults: batch 64, Adam lr 2e-4, betas (0.5, 0.999), latent 100, 32 px, 1 channel, the data
  reshuffled every epoch with the last, smaller batch kept (DataLoader(shuffle=True)), images
  normalised as ToTensor + Normalize(0.5, 0.5): x / 127.5 - 1.

Their script has no time budget and no evaluation. Its pictures (`save_image(gen_imgs[:25])`
every 400 batches) are the batch of the G step, drawn in training mode (BatchNorm on that
batch's statistics) and min-max normalised per grid. Here `sample` draws in eval mode
(BatchNorm's running statistics, dropout off; G has no dropout), as a trained model is used,
and maps [-1, 1] to uint8 without normalisation; `sample(..., train_mode=True)` draws as their
pictures were drawn, in batches of the training batch size.

Their DataLoader resizes and converts every image on every epoch (PIL, workers=0); here the
prepared images sit in memory as one tensor, and only training is timed. Threads: PyTorch's
default (nothing is set here); `TrainResult.threads` reports it. Like their script, it trains on
CUDA when asked (`device`); the noise is drawn on the CPU either way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

LATENT_DIM = 100
IMG_SIZE = 32
CHANNELS = 1
BATCH_SIZE = 64
LR = 2e-4
BETAS = (0.5, 0.999)
BN_EPS = 0.8  # BatchNorm2d(c, 0.8) in their code: the second positional argument is eps.
SOURCE = ('github.com/eriklindernoren/PyTorch-GAN implementations/dcgan/dcgan.py '
          '(reimplemented, not copied)')


class Generator(nn.Module):

  def __init__(self, latent_dim: int = LATENT_DIM, img_size: int = IMG_SIZE,
               channels: int = CHANNELS):
    super().__init__()
    if img_size % 16:
      raise ValueError(f'img_size={img_size}: the peer DCGAN needs a multiple of 16 (G starts '
                       f'at img_size / 4, D ends at img_size / 16).')
    self.start = img_size // 4
    self.project = nn.Linear(latent_dim, 128 * self.start * self.start)
    self.norm0 = nn.BatchNorm2d(128)
    self.conv1 = nn.Conv2d(128, 128, 3, stride=1, padding=1)
    self.norm1 = nn.BatchNorm2d(128, eps=BN_EPS)
    self.conv2 = nn.Conv2d(128, 64, 3, stride=1, padding=1)
    self.norm2 = nn.BatchNorm2d(64, eps=BN_EPS)
    self.to_image = nn.Conv2d(64, channels, 3, stride=1, padding=1)

  def forward(self, z: torch.Tensor) -> torch.Tensor:
    x = self.norm0(self.project(z).view(len(z), 128, self.start, self.start))
    for conv, norm in ((self.conv1, self.norm1), (self.conv2, self.norm2)):
      x = F.interpolate(x, scale_factor=2, mode='nearest')
      x = F.leaky_relu(norm(conv(x)), 0.2)
    return torch.tanh(self.to_image(x))


class Discriminator(nn.Module):

  def __init__(self, img_size: int = IMG_SIZE, channels: int = CHANNELS):
    super().__init__()
    widths = (channels, 16, 32, 64, 128)
    self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, stride=2, padding=1)
                               for a, b in zip(widths[:-1], widths[1:]))
    self.dropout = nn.Dropout2d(0.25)
    self.norms = nn.ModuleList([nn.Identity()] + [nn.BatchNorm2d(c, eps=BN_EPS)
                                                  for c in widths[2:]])
    side = img_size // 16
    self.head = nn.Linear(128 * side * side, 1)

  def forward(self, image: torch.Tensor) -> torch.Tensor:
    x = image
    for conv, norm in zip(self.convs, self.norms):
      x = norm(self.dropout(F.leaky_relu(conv(x), 0.2)))
    return torch.sigmoid(self.head(x.flatten(1)))


def init_weights(module: nn.Module) -> None:
  """Their weights_init_normal, applied to every submodule: convolutions and BatchNorms only."""
  for m in module.modules():
    if isinstance(m, nn.Conv2d):
      nn.init.normal_(m.weight, 0.0, 0.02)  # The bias keeps PyTorch's default uniform init.
    elif isinstance(m, nn.BatchNorm2d):
      nn.init.normal_(m.weight, 1.0, 0.02)
      nn.init.zeros_(m.bias)


def build(latent_dim: int = LATENT_DIM, img_size: int = IMG_SIZE, channels: int = CHANNELS,
          lr: float = LR, betas: tuple[float, float] = BETAS, device: str = 'cpu'):
  """(G, D, G's Adam, D's Adam), initialised from torch's global generator, on `device`."""
  g, d = Generator(latent_dim, img_size, channels), Discriminator(img_size, channels)
  init_weights(g)
  init_weights(d)
  g, d = g.to(device), d.to(device)
  return (g, d, torch.optim.Adam(g.parameters(), lr=lr, betas=betas),
          torch.optim.Adam(d.parameters(), lr=lr, betas=betas))


def to_tensor(images: np.ndarray) -> torch.Tensor:
  """uint8 (N, H, W, C) -> float32 (N, C, H, W) in [-1, 1]: ToTensor, then Normalize(0.5, 0.5)."""
  images = np.asarray(images)
  if images.dtype != np.uint8 or images.ndim != 4:
    raise ValueError(f'The peer trains on uint8 (N, H, W, C) images; got {images.dtype} '
                     f'{images.shape}.')
  return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0).contiguous()


def train_step(g, d, opt_g, opt_d, real: torch.Tensor, z: torch.Tensor) -> dict:
  """One iteration of their loop: the G step, then the D step on the same (detached) images.

  Returns the losses and what they were computed from: D's outputs in the G step
  (`p_gen`), on the real batch (`p_real`) and on the detached fakes (`p_fake`), and the fakes.
  """
  valid = torch.ones(len(real), 1, device=real.device)
  fake = torch.zeros(len(real), 1, device=real.device)
  opt_g.zero_grad()
  gen_imgs = g(z)
  p_gen = d(gen_imgs)
  g_loss = F.binary_cross_entropy(p_gen, valid)
  g_loss.backward()
  opt_g.step()

  opt_d.zero_grad()  # Also drops the D gradients that the G step's backward left.
  p_real = d(real)
  p_fake = d(gen_imgs.detach())
  d_loss = (F.binary_cross_entropy(p_real, valid) + F.binary_cross_entropy(p_fake, fake)) / 2
  d_loss.backward()
  opt_d.step()
  return dict(g_loss=g_loss.detach(), d_loss=d_loss.detach(), p_gen=p_gen.detach(),
              p_real=p_real.detach(), p_fake=p_fake.detach(), gen_imgs=gen_imgs.detach())


@dataclasses.dataclass
class TrainResult:
  generator: Generator
  discriminator: Discriminator
  steps: int  # Iterations (one G and one D step each).
  seconds: float  # Training only: from the first step to the end of the last.
  images_seen: int  # Real images D was shown.
  epochs: float
  threads: int  # torch.get_num_threads() during training.
  batch_size: int
  g_loss: float  # Of the last iteration.
  d_loss: float

  def facts(self) -> dict:
    return dict(steps=self.steps, wall_s=round(self.seconds, 3), images_seen=self.images_seen,
                epochs=round(self.epochs, 4),
                threads=self.threads, batch_size=self.batch_size,
                g_loss=round(self.g_loss, 4), d_loss=round(self.d_loss, 4))


@contextlib.contextmanager
def seeded(seed: int):
  """torch's global generator seeded inside, restored after (their script uses the global one
  for init, dropout and shuffling; this keeps the caller's stream untouched)."""
  with torch.random.fork_rng(devices=[]):
    torch.manual_seed(seed)
    yield


def shuffled_batches(num: int, batch_size: int):
  """Indices of each batch, epoch after epoch, reshuffled every epoch; the last batch of an
  epoch is smaller when batch_size does not divide num (DataLoader(shuffle=True))."""
  while True:
    order = torch.randperm(num)
    for first in range(0, num, batch_size):
      yield order[first:first + batch_size]


def train(images: np.ndarray, seconds: float | None = None, seed: int = 0,
          max_steps: int | None = None, batch_size: int = BATCH_SIZE,
          latent_dim: int = LATENT_DIM, lr: float = LR,
          betas: tuple[float, float] = BETAS, device: str = 'cpu') -> TrainResult:
  """Trains the peer on uint8 (N, H, W, C) images until `seconds` of training have passed (the
  step that crosses the budget completes) or `max_steps` iterations, whichever comes first.

  Building the networks and the data tensor is not timed. Init, dropout, shuffling and noise
  come from torch's generator seeded with `seed` (on CUDA, the GPU's generator is not forked,
  and each step ends in a synchronisation, as their loop's per-batch print of loss.item()).
  """
  if seconds is None and max_steps is None:
    raise ValueError('Give the peer a budget: seconds or max_steps.')
  data = to_tensor(images).to(device)
  num, channels, size = len(data), data.shape[1], data.shape[2]
  with seeded(seed):
    g, d, opt_g, opt_d = build(latent_dim, size, channels, lr, betas, device)
    cuda = data.is_cuda
    g.train()
    d.train()
    steps, seen, out = 0, 0, None
    start = time.perf_counter()
    for picks in shuffled_batches(num, batch_size):
      real = data[picks.to(device)]
      z = torch.randn(len(real), latent_dim).to(device)
      out = train_step(g, d, opt_g, opt_d, real, z)
      if cuda:
        torch.cuda.synchronize()
      steps, seen = steps + 1, seen + len(real)
      elapsed = time.perf_counter() - start
      if (seconds is not None and elapsed >= seconds) or steps == max_steps:
        break
  return TrainResult(g, d, steps, elapsed, seen, seen / num, torch.get_num_threads(),
                     batch_size, float(out['g_loss']), float(out['d_loss']))


def to_uint8(images: torch.Tensor) -> np.ndarray:
  """float (N, C, H, W) in [-1, 1] -> uint8 (N, H, W, C), rounding to nearest (as jaxgan's)."""
  x = images.permute(0, 2, 3, 1).cpu().numpy()
  return np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


@torch.no_grad()
def sample(g: Generator, num: int, seed: int = 0, batch_size: int = 500,
           train_mode: bool = False) -> np.ndarray:
  """`num` uint8 (N, H, W, C) samples from z ~ N(0, I) of torch's generator seeded `seed`.

  Eval mode (default): BatchNorm's running statistics, so a sample does not depend on its batch.
  train_mode=True: BatchNorm on each batch's statistics, as their training-time pictures; pass
  the training batch size. G's running statistics are left as they were either way.
  """
  latent_dim = g.project.in_features
  z = torch.randn(num, latent_dim, generator=torch.Generator().manual_seed(seed))
  z = z.to(next(g.parameters()).device)
  kept = {k: v.clone() for k, v in g.state_dict().items()}
  was_training = g.training
  g.train(train_mode)
  try:
    out = [to_uint8(g(z[i:i + batch_size])) for i in range(0, num, batch_size)]
  finally:
    g.load_state_dict(kept)
    g.train(was_training)
  return np.concatenate(out)
