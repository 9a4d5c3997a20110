"""R3GAN (Huang et al. 2024) on Fashion-MNIST at 32 px: within 10 minutes on a 2-core CPU.

  python -m jaxgan.main --config=configs/r3gan_fashion.py --workdir=runs/r3gan_fashion

R3GAN's recipe (configs/r3gan_cifar.py) narrowed for the CPU: the RpGAN loss with R1 + R2
(gamma), its no-normalisation residual ConvNets (grouped 3x3 convolutions in an inverted
bottleneck, fix-up init, [1, 3, 3, 1] resampling) at 32 px with one channel, Adam with b1 0 and
every schedule of theirs (lr, b2, gamma, augmentation probability, EMA half-life) cosine over
this run's images instead of their 20 M; G drawn through the data's native 28 px.
"""

from configs import fashion_default

NUM_STEPS = 2_400
EVAL_EVERY = 800


def get_config():
  c = fashion_default.get_config('r3gan_fashion', NUM_STEPS, EVAL_EVERY)
  c.batch_size = 32
  c.steps_per_call = 5
  m = c.model
  m.name = 'r3gan'
  m.z_dim = 64
  m.g_features = m.d_features = 8
  m.r3gan_width_mults = (8, 4, 2, 1)  # 4x4 .. 32x32 (D: reversed): 64, 32, 16, 8.
  m.r3gan_blocks = (1, 1, 1, 1)
  m.r3gan_group_width = 16
  m.r3gan_expansion = 2
  m.g_native_size = 28
  m.ema_half_life_images = 0.25 * NUM_STEPS * c.batch_size  # Theirs: 5 M of 20 M.
  m.ema_half_life_schedule = 'cosine'
  c.loss.name = 'rpgan'
  c.loss.penalty = 'r1_r2'
  c.loss.penalty_weight, c.loss.penalty_weight_end = 2.0, 0.2
  c.loss.penalty_schedule = 'cosine'
  c.optim.g_lr = c.optim.d_lr = 5e-4
  c.optim.lr_schedule = 'cosine'
  c.optim.lr_end_factor = 0.25
  c.optim.b1, c.optim.b2 = 0.0, 0.9
  c.optim.b2_schedule, c.optim.b2_end = 'cosine', 0.99
  c.data.diffaugment = 'translation,cutout'
  c.data.diffaugment_p, c.data.diffaugment_p_end = 0.0, 0.3
  c.data.diffaugment_p_schedule = 'cosine'
  return c
