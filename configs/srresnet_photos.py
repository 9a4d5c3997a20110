"""SRResNet 4x on the embedded scikit-image photos (offline; about 14 minutes on one CPU core).

  python -m jaxgan.main --config=configs/srresnet_photos.py --workdir=runs/srresnet_photos

Trains on the bundled photographs except astronaut, chelsea and coffee (jaxgan/data/photos.py)
and scores those three against bicubic at the end (photos_eval.md). A narrower generator than
the paper's (8 blocks of 32 channels) and smaller crops keep it CPU-sized; the recipe (MSE,
Adam, flips and rotations, MATLAB bicubic LR, a 10x learning-rate drop late in training) is
otherwise the paper's, with a larger rate (1e-3, not 1e-4) to converge in few steps.
"""

from configs import sr_default


def get_config():
  c = sr_default.get_config()
  c.name = 'srresnet_photos'
  c.num_steps = 4_000
  c.batch_size = 8
  c.log_every = 50
  c.checkpoint_every = 1_000
  c.keep_checkpoints = 1
  c.model.name = 'srresnet_bicubic_skip'  # Starts at bicubic quality (jaxgan/sr/models.py).
  c.model.image_size = 64
  c.model.num_blocks = 8
  c.model.g_features = 32
  c.optim.g_lr = 1e-3
  c.optim.lr_drop_step = 3_200
  c.data.name = 'photos'
  c.sr.content_loss = 'mse'
  return c
