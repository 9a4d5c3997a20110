"""SRResNet 4x on the embedded scikit-image photos (offline; a few minutes on a 2-core CPU).

  python -m jaxgan.main --config=configs/srresnet_photos.py --workdir=runs/srresnet_photos

Trains on rocket, motorcycle, immunohistochemistry, retina and hubble_deep_field; scores the
held-out astronaut, chelsea and coffee against bicubic at the end (photos_eval.md). A narrower
generator than the paper's (8 blocks) and smaller crops keep it CPU-sized; the recipe (MSE,
Adam 1e-4 -> here a larger 1e-3 to converge in few steps, flips and rotations, MATLAB bicubic
LR) is otherwise the paper's.
"""

from configs import sr_default


def get_config():
  c = sr_default.get_config()
  c.name = 'srresnet_photos'
  c.num_steps = 600
  c.batch_size = 8
  c.log_every = 50
  c.checkpoint_every = 1_000
  c.keep_checkpoints = 1
  c.model.name = 'srresnet_bicubic_skip'  # Starts at bicubic quality (jaxgan/sr/models.py).
  c.model.image_size = 64
  c.model.num_blocks = 8
  c.model.g_features = 32
  c.optim.g_lr = 1e-3
  c.data.name = 'photos'
  c.sr.content_loss = 'mse'
  return c
