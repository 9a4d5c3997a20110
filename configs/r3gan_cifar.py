"""R3GAN on CIFAR-10 at 32 px (Huang et al. 2024): the authors' CIFAR10 preset (train.py).

  python -m jaxgan.main --config=configs/r3gan_cifar.py --workdir=runs/r3gan_cifar

Their command: `train.py --batch=512 --mirror=1 --aug=1 --cond=1 --preset=CIFAR10`. The preset:
class-conditional R3GAN ConvNets (jaxgan/models/r3gan.py), 4 stages of width 768 with 2 residual
blocks each, cardinality 96 (groups of 768 * 2 / 96 = 16 channels), expansion 2, z 64; the
RpGAN loss with R1 + R2; Adam with betas (0, beta2), eps 1e-8; batch 512, flips; and every
hyperparameter on a cosine schedule over 20 M images seen, held after: lr 2e-4 -> 5e-5, beta2
0.9 -> 0.99, gamma 0.05 -> 0.005, augmentation probability 0 -> 0.55, EMA half-life 0 -> 5 M
images. num_steps covers that horizon (39,063 steps of 512); their run has no fixed length.

Where jaxgan lacks what they use:
- Augmentation: their ADA pipeline (flips, 90-degree rotations, integer and fractional
  translation, scaling, rotation, anisotropy, colour, cutout, each applied with probability p)
  is DiffAugment's colour, translation and cutout here, each applied per image with the same p.
- Their G phase draws its own real batch for the relativistic comparison; jaxgan's compares with
  the D update's batch. Their penalties take the gradient at the images before augmentation,
  jaxgan's (as its R1) at the augmented images D sees.
- Their G and D run their three lowest-resolution stages in bfloat16; jaxgan's R3GAN computes
  in float32.
"""

from configs import default

BATCH = 512
SCHEDULE_IMAGES = 20_000_000  # Their decay_nimg.


def get_config():
  c = default.get_config()
  c.name = 'r3gan_cifar'
  c.batch_size = BATCH
  c.num_steps = -(-SCHEDULE_IMAGES // BATCH)  # 39,063 G updates: the schedules' horizon.
  c.schedule_images = SCHEDULE_IMAGES
  c.log_every = 100
  c.sample_every = 2_000
  c.checkpoint_every = 5_000
  m = c.model
  m.name = 'r3gan_conditional'
  m.num_classes = 10
  m.image_size, m.channels = 32, 3
  m.z_dim = 64
  m.g_features = m.d_features = 768
  m.r3gan_width_mults = (1, 1, 1, 1)
  m.r3gan_blocks = (2, 2, 2, 2)
  m.r3gan_group_width = 16  # Cardinality 96 of 768 * 2 channels.
  m.r3gan_expansion = 2
  m.ema_half_life_images = 5_000_000.0  # Their ema_nimg, reached at SCHEDULE_IMAGES.
  m.ema_half_life_schedule = 'cosine'
  c.loss.name = 'rpgan'
  c.loss.penalty = 'r1_r2'
  c.loss.penalty_weight, c.loss.penalty_weight_end = 0.05, 0.005  # gamma.
  c.loss.penalty_schedule = 'cosine'
  c.optim.g_lr = c.optim.d_lr = 2e-4
  c.optim.lr_schedule = 'cosine'
  c.optim.lr_end_factor = 0.25  # 5e-5.
  c.optim.b1, c.optim.b2 = 0.0, 0.9
  c.optim.b2_schedule, c.optim.b2_end = 'cosine', 0.99
  c.data.name = 'cifar10'
  c.data.flip = True
  c.data.diffaugment = 'color,translation,cutout'
  c.data.diffaugment_p, c.data.diffaugment_p_end = 0.0, 0.55
  c.data.diffaugment_p_schedule = 'cosine'
  return c
