"""Shared defaults of the super-resolution experiments (SRResNet / SRGAN, Ledig et al. 2017).

Built on configs/default.run_config(), the fields every task reads, plus the SR task's own
(`model.scale`, `model.num_blocks`, ..., the `sr` section); no GAN-only field (sample grids,
evaluators, losses, n_critic) is present, so overriding one fails as an unknown field.
`task = 'sr'` routes `python -m jaxgan.main` to jaxgan.sr.train. The `model` fields mean: image_size = the HR training crop, scale = the upscaling factor,
num_blocks / g_features = the generator's residual blocks and width, d_features = the
discriminator's first width. Not a runnable experiment itself.
"""

import ml_collections

from configs import default


def get_config():
  c = default.run_config()
  c.task = 'sr'
  c.batch_size = 16  # The paper's mini-batch of 16 HR crops.

  c.model.name = 'srresnet'  # 'srresnet' (paper) or 'srresnet_bicubic_skip' (jaxgan.sr.models).
  c.model.image_size = 96  # HR crop side (LR crops are image_size / scale).
  c.model.scale = 4  # 2, 4 or 8.
  c.model.num_blocks = 16  # Residual blocks of the generator (paper: 16).
  c.model.g_features = 64
  c.model.g_norm = 'batch'  # Generator BatchNorm (paper) or 'none' (EDSR).
  c.model.d_features = 64
  c.model.d_pool = 'flatten'  # 'flatten' (paper; fixes the D input to image_size) or 'mean'.

  c.optim.g_lr = 1e-4
  c.optim.d_lr = 1e-4
  c.optim.b1 = 0.9
  c.optim.b2 = 0.999
  c.optim.lr_drop_step = 0  # > 0: multiply both learning rates by 0.1 after this many steps.

  c.data.name = 'photos'  # See jaxgan.sr.data.HR_SOURCES: 'photos', 'folder', 'div2k'.
  c.data.flip = True  # Always: random flips and 90-degree rotations of each HR crop.

  c.sr = ml_collections.ConfigDict()
  c.sr.content_loss = 'mse'  # 'mse', 'l1' or 'vgg' (VGG19 phi_5,4, features / 12.75).
  c.sr.adversarial_weight = 0.0  # > 0 trains a discriminator: SRGAN uses 1e-3.
  c.sr.vgg_weights = ''  # VGG19 .npz/.pth/.h5; '' searches $JAXGAN_CACHE (~/.cache/jaxgan).
  c.sr.vgg_pre_activation = True  # phi_5,4 before the ReLU (ESRGAN); False: after (paper).
  c.sr.init_from = ''  # Workdir of a trained SRResNet run whose generator SRGAN starts from.
  c.sr.eval_photos = True  # At the end: PSNR/SSIM on the held-out photos, comparison.png.
  return c
