"""SRGAN 4x on the embedded photos, from a trained srresnet_photos run (offline, CPU).

  python -m jaxgan.main --config=configs/srresnet_photos.py --workdir=runs/srresnet_photos
  python -m jaxgan.main --config=configs/srgan_photos.py --workdir=runs/srgan_photos

Content loss: pixel MSE, not the paper's VGG phi_5,4 loss, so that it runs offline: ImageNet
VGG19 weights cannot ship with the package, and VGG features with random weights are not a
perceptual measure. MSE + adversarial is the paper's "SRGAN-MSE" variant (Ledig et al. 2017,
table 1). With VGG19 weights on disk, use the paper's loss instead:
--config.sr.content_loss=vgg --config.sr.vgg_weights=PATH.
The adversarial weight is 1e-2 rather than the paper's 1e-3: against the MSE of [-1, 1]
images (not VGG features) and in a few hundred steps, 1e-3 barely moves the generator.
The run ends with comparison.png (bicubic | SRResNet | SRGAN | HR) on held-out crops.
"""

from configs import sr_default


def get_config():
  c = sr_default.get_config()
  c.name = 'srgan_photos'
  c.num_steps = 200
  c.batch_size = 8
  c.log_every = 50
  c.checkpoint_every = 200
  c.keep_checkpoints = 1
  # Generator as in srresnet_photos (it is loaded from there).
  c.model.name = 'srresnet_bicubic_skip'  # Starts at bicubic quality (jaxgan/sr/models.py).
  c.model.image_size = 64
  c.model.num_blocks = 8
  c.model.g_features = 32
  c.model.d_features = 16  # Narrower than the paper (64) to fit a CPU.
  # Global average pooling before D's dense layers, not the paper's flatten: against the
  # flattening D, G learned a regular dot grid on flat areas (the coffee cup) within 200 steps;
  # with pooling the grid mostly goes and hair and skin get more detail (README, SR section).
  c.model.d_pool = 'mean'
  c.optim.g_lr = 1e-4
  c.optim.d_lr = 1e-4
  c.data.name = 'photos'
  c.sr.content_loss = 'mse'
  c.sr.adversarial_weight = 1e-2
  c.sr.init_from = 'runs/srresnet_photos'
  return c
