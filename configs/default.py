"""Shared defaults of every jaxgan experiment.

Each `configs/<name>.py` starts from `get_config()` here and overrides a few fields. Any field
can be overridden on the command line, e.g. `--config.optim.d_lr=1e-4`; unknown fields and
wrong types fail at start-up (the config is locked).
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.name = 'default'
  c.seed = 0
  c.num_steps = 10_000
  c.batch_size = 64  # Global batch, summed over all devices and hosts.
  c.log_every = 100
  c.sample_every = 1_000
  c.eval_every = 0  # 0: no evaluation during training.
  c.checkpoint_every = 1_000
  c.keep_checkpoints = 3
  c.num_grid_samples = 64  # Fixed-noise samples drawn into each sample grid.

  c.model = ml_collections.ConfigDict()
  c.model.name = 'dcgan'  # See jaxgan.models.MODELS.
  c.model.image_size = 32
  c.model.channels = 3
  c.model.z_dim = 100
  c.model.g_features = 64  # Width of the last G block; doubles towards the 4x4 input.
  c.model.d_features = 64  # Width of the first D block; doubles towards the 4x4 output.
  c.model.g_input = 'conv_transpose'  # 'conv_transpose' (report 000) or 'linear' (report 004).
  c.model.g_upsample = 'conv_transpose'  # 'conv_transpose' or 'subpixel' (conv + depth-to-space).
  c.model.g_kernel_size = 4
  c.model.d_kernel_size = 4
  c.model.d_norm = 'batch'  # 'batch', 'layer' or 'none' (critics of WGAN-GP have no BatchNorm).
  c.model.hidden = (400, 400, 400, 400)  # Toy MLP generator widths.
  c.model.d_hidden = (200, 200, 200)  # Toy MLP discriminator widths.
  c.model.ema_decay = 0.999  # Generator EMA used for sampling; 0 turns it off.

  c.loss = ml_collections.ConfigDict()
  c.loss.name = 'non_saturating'  # See jaxgan.losses.LOSSES.
  c.loss.penalty = 'none'  # 'none', 'gradient_penalty' or 'r1'.
  c.loss.penalty_weight = 10.0
  c.loss.clip_value = 0.0  # > 0: clip every critic weight to [-c, c] after each update (WGAN).

  c.optim = ml_collections.ConfigDict()
  c.optim.name = 'adam'  # 'adam' or 'rmsprop'.
  c.optim.g_lr = 2e-4
  c.optim.d_lr = 2e-4
  c.optim.b1 = 0.5
  c.optim.b2 = 0.999
  c.optim.n_critic = 1  # D updates per G update, each on its own real batch.

  c.data = ml_collections.ConfigDict()
  c.data.name = 'digits'  # See jaxgan.data.DATASETS.
  c.data.split = 'train'
  c.data.path = ''  # Image folder for data.name == 'folder'.
  c.data.tfds_dir = ''  # TFDS data_dir; '' uses TFDS's default (~/tensorflow_datasets).
  c.data.flip = True  # Random horizontal flips.
  c.data.num_workers = 0  # grain worker processes; 0 decodes in the main process.
  c.data.num_points = 100_000  # Training points drawn from a 2-D mixture.
  c.data.max_examples = 0  # > 0: train on the first N examples only (0: all).
  return c
