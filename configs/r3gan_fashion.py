"""R3GAN (Huang et al. 2024) on Fashion-MNIST at 32 px: within 10 minutes on a 2-core CPU.

  python -m jaxgan.main --config=configs/r3gan_fashion.py --workdir=runs/r3gan_fashion

R3GAN's recipe (configs/r3gan_cifar.py) narrowed for the CPU: the RpGAN loss with R1 + R2
(gamma), its no-normalisation residual ConvNets (grouped 3x3 convolutions in an inverted
bottleneck, fix-up init, [1, 3, 3, 1] resampling) at 32 px with one channel, Adam with b1 0 and
their schedules (lr, b2, gamma, EMA half-life) cosine over this run's images instead of their
20 M, without their augmentation; G drawn through the data's native 28 px.
"""

from configs import fashion_default

NUM_STEPS = 2_400
EVAL_EVERY = 1_200
EMA_HALF_LIFE_SHARE = 0.1  # Of the run's images (see below).


def get_config():
  c = fashion_default.get_config('r3gan_fashion', NUM_STEPS, EVAL_EVERY)
  c.batch_size = 32
  c.steps_per_call = 5
  m = c.model
  m.name = 'r3gan'
  m.z_dim = 64
  m.g_features = m.d_features = 8
  # 4x4 .. 32x32 (D: reversed): 128, 64, 16, 8. Measured at 3,400 steps (benchmarks/
  # r3gan_ablation.py, main judge, 2,000 samples): (16, 8, 2, 1) FD 49.4 against (8, 4, 2, 1)'s
  # 70.5 ± 8.3 over 3 seeds, at 174 images/s against 270, hence fewer steps.
  m.r3gan_width_mults = (16, 8, 2, 1)
  m.r3gan_blocks = (1, 1, 1, 1)
  m.r3gan_group_width = 16
  m.r3gan_expansion = 2
  m.g_native_size = 28
  # Theirs: 5 M of 20 M images. A run of ~2 epochs still changes fast at its end: a tenth.
  m.ema_half_life_images = EMA_HALF_LIFE_SHARE * NUM_STEPS * c.batch_size
  m.ema_half_life_schedule = 'cosine'
  c.loss.name = 'rpgan'
  c.loss.penalty = 'r1_r2'
  c.loss.penalty_weight, c.loss.penalty_weight_end = 0.2, 0.02  # Theirs (CIFAR): 0.05, 0.005.
  c.loss.penalty_schedule = 'cosine'
  # Theirs: 2e-4 at batch 512. Measured (10,000 samples, both judges): 2e-3 with gamma 0.2 beat
  # 1e-3 with gamma 0.5 (main FD 67.8 vs 86.8); R1 + R2 cost 16% of the step (280 vs 333 img/s
  # without), so lazy regularisation could buy little.
  c.optim.g_lr = c.optim.d_lr = 2e-3
  c.optim.lr_schedule = 'cosine'
  c.optim.lr_end_factor = 0.25
  c.optim.b1, c.optim.b2 = 0.0, 0.9
  c.optim.b2_schedule, c.optim.b2_end = 'cosine', 0.99
  # No augmentation: ~2 epochs of 60,000 images leave D no time to memorise them (theirs ramps
  # it to 0.55 over 20 M images).
  return c
