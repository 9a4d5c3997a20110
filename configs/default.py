"""Shared defaults of the jaxgan experiments.

Each `configs/<name>.py` starts from `get_config()` here (GANs) or from configs/sr_default.py
(super-resolution) and overrides a few fields. Any field can be overridden on the command line,
e.g. `--config.optim.d_lr=1e-4`; unknown fields and wrong types fail at start-up (the config is
locked).

Two layers, so that a config holds only the fields its task reads:
- `run_config()`: what every task's loop reads (jaxgan.run: steps, logging, checkpoints, mesh,
  robustness), plus the fields both tasks share (data input, the optimizers, the model's size).
- `get_config()`: run_config() plus the GAN task's own fields (jaxgan.gan: sample grids,
  evaluators, the G/D networks, losses, n_critic, schedules, DiffAugment).
configs/sr_default.py adds the SR task's own fields (jaxgan.sr) to run_config() instead.
"""

import ml_collections


def run_config() -> ml_collections.ConfigDict:
  """The fields every task reads."""
  c = ml_collections.ConfigDict()
  c.name = 'default'
  c.task = 'gan'  # 'gan': noise -> image (jaxgan.gan); 'sr': super-resolution (jaxgan.sr).
  c.seed = 0
  c.num_steps = 10_000
  c.batch_size = 64  # Global batch, summed over all devices and hosts.
  c.log_every = 100
  c.eval_every = 0  # 0: no evaluation during training.
  c.checkpoint_every = 1_000
  # Training steps per dispatch (lax.scan; unrolled on CPU), for small models whose step is
  # shorter than the dispatch overhead. It must divide the periods (jaxgan.run.feed).
  c.steps_per_call = 1
  c.device_prefetch = 2  # Batches transferred to the devices ahead of the step.
  c.keep_checkpoints = 3

  # Devices: a 1-D `data` mesh; parameters replicated, or sharded along `data` ('fsdp').
  c.mesh = ml_collections.ConfigDict()
  c.mesh.num_devices = -1  # -1: every device of every process.
  # 'replicated', or 'fsdp': state leaves of >= 2**14 elements split along `data`
  # (jaxgan.run.sharding.FSDP_MIN_SIZE), the rest replicated.
  c.param_sharding = 'replicated'

  c.model = ml_collections.ConfigDict()
  c.model.name = 'dcgan'  # GAN: jaxgan.models.MODELS; SR: jaxgan.sr.models.
  c.model.image_size = 32
  c.model.channels = 3

  c.optim = ml_collections.ConfigDict()
  c.optim.name = 'adam'  # 'adam', or 'rmsprop' (GAN only).
  c.optim.g_lr = 2e-4
  c.optim.d_lr = 2e-4  # g_lr != d_lr: two time-scale update rule (TTUR).
  c.optim.b1 = 0.5
  c.optim.b2 = 0.999
  c.optim.lr_scale = 1.0  # Multiplies both learning rates; each rollback lowers it (saved).

  c.data = ml_collections.ConfigDict()
  c.data.name = 'digits'  # GAN: jaxgan.data.DATASETS; SR: jaxgan.sr.data.HR_SOURCES.
  c.data.split = 'train'
  # Image folder for data.name == 'folder'; class subfolders (torchvision ImageFolder layout)
  # give labels, images directly in it make it unlabelled.
  c.data.path = ''
  c.data.tfds_dir = ''  # TFDS data_dir; '' uses TFDS's default (~/tensorflow_datasets).
  c.data.flip = True  # Random horizontal flips.
  # Grain threads decoding ahead of the step; 0 decodes in the main thread when a batch is
  # needed. Any count gives the same batches and resumes.
  c.data.num_workers = 0
  c.data.max_examples = 0  # > 0: train on the first N examples only (0: all).
  c.data.bad_images = 'skip'  # Unreadable image files: 'skip' (counted warning) or 'fail'.

  # Robustness (jaxgan.run.guards, jaxgan.run.run_record). A NaN/Inf loss or gradient: 'skip'
  # the update, 'rollback' to the last checkpoint with the learning rates times
  # rollback_lr_factor, or 'fail' naming the step and the term.
  c.nonfinite = 'fail'
  c.rollback_lr_factor = 0.5
  c.debug_nan_step = 0  # Tests only: > 0 feeds NaN images at this step (once per process).
  # Resuming with changed learning rates, betas, loss weights, EMA or flips needs this; model
  # and data fields can never change under a checkpoint.
  c.allow_config_change = False
  return c


def get_config() -> ml_collections.ConfigDict:
  """A GAN experiment (task 'gan'): run_config() and the fields of jaxgan.gan."""
  c = run_config()
  c.sample_every = 1_000
  # Evaluators by name (modules of jaxgan/gan/evaluators/), each with its own period and
  # sample count, e.g. c.evals.fid = dict(every=5_000, num_samples=10_000); `every` defaults to
  # eval_every. Scores land in TensorBoard as eval_<metric> (EMA) and eval_<metric>_raw.
  c.evals = ml_collections.ConfigDict()
  c.best_metric = ''  # An eval metric, e.g. 'fid': keep the best checkpoint in <workdir>/best.
  c.num_grid_samples = 64  # Fixed-noise samples drawn into each sample grid.
  # N > 1 trains seeds seed, ..., seed + N - 1 as N members of one state in one compiled step
  # (one checkpoint, one workdir); member k equals the run of seed + k (jaxgan.run.members).
  # seed_batching: how the step reaches them, 'loop' (over members inside the jit) or 'vmap'.
  c.num_seeds = 1
  c.seed_batching = 'loop'
  # True: a (seeds, data) mesh, each member on its own num_devices / N devices (one process,
  # seed_batching 'loop'); False: the members share the `data` axis.
  c.mesh.seed_axis = False
  # Horizon of the schedules over images seen (optim.lr_schedule='cosine', optim.b2_schedule,
  # loss.penalty_schedule, data.diffaugment_p_schedule, model.ema_half_life_schedule; R3GAN's
  # decay_nimg), in images (batch_size per step); 0: the whole run. See jaxgan.gan.schedules.
  c.schedule_images = 0

  m = c.model
  m.z_dim = 100
  m.g_features = 64  # Width of the last G block; doubles towards the 4x4 input.
  m.d_features = 64  # Width of the first D block; doubles towards the 4x4 output.
  m.g_input = 'conv_transpose'  # 'conv_transpose' (report 000) or 'linear' (report 004).
  m.g_upsample = 'conv_transpose'  # 'conv_transpose' or 'subpixel' (conv + depth-to-space).
  m.g_kernel_size = 4
  # > 0: G's output is averaged down to this size and upsampled back bilinearly, for data
  # upsampled from a smaller native size (digits: 8). See dcgan.through_native_size.
  m.g_native_size = 0
  m.d_kernel_size = 4
  m.d_norm = 'batch'  # 'batch', 'layer' or 'none' (critics of WGAN-GP have no BatchNorm).
  # Kernel-4 stride-2 (transposed) convolutions, all the same function of the same parameters:
  # 'fast' (phase-form G, hand-written derivatives of every order), 'phase' (G's as stride-1
  # convolutions, autodiff), 'phase_all' (D's too), 'xla' (lax.conv_transpose and strided
  # lax.conv). 'auto': 'fast' on CPU, 'xla' on GPU/TPU (jaxgan.models.conv_impl). See
  # jaxgan/models/dcgan.py and jaxgan/models/phase_conv.py.
  m.conv_impl = 'auto'
  # Compute dtype of the DCGAN layers: 'bfloat16' runs convolutions and norms in bf16 with f32
  # parameters, optimizer and losses (for GPU/TPU; XLA:CPU has no fast bf16 convolutions).
  m.dtype = 'float32'
  m.hidden = (400, 400, 400, 400)  # Toy MLP generator widths.
  m.d_hidden = (200, 200, 200)  # Toy MLP discriminator widths.
  m.ema_decay = 0.999  # Generator EMA used for sampling; 0 turns it off.
  # > 0: the EMA's decay per step is 0.5 ** (batch_size / half-life) (R3GAN's ema_nimg) instead
  # of ema_decay (which must stay > 0: EMA on). The half-life is this many images throughout
  # ('constant'), or grows from 0 to it over schedule_images ('cosine', 'linear': R3GAN's).
  m.ema_half_life_images = 0.0
  m.ema_half_life_schedule = 'constant'
  # > 0: before sampling or evaluating the EMA generator, its BatchNorm statistics are
  # recomputed over this many batches of fixed noise (BigGAN's standing statistics; the running
  # statistics belong to the raw generator). See jaxgan.gan.generate.standing_stats.
  m.ema_standing_batches = 0
  m.num_classes = 0  # > 0 for class-conditional models (cgan, acgan, projection).
  m.embed_dim = 50  # Label embedding width of cgan/acgan (report 003).
  # sngan/sngan_projection (jaxgan.models.resnet): self-attention (SAGAN) in G and D at this
  # feature-map resolution, e.g. 32 for 64 px images; 0: none.
  m.attention_resolution = 0
  # r3gan/r3gan_conditional (jaxgan.models.r3gan): per stage from 4x4 up, G's width is
  # g_features * r3gan_width_mults[i] with r3gan_blocks[i] residual blocks; D mirrors both with
  # d_features. 4 stages: 32 px, 5: 64 px. The grouped 3x3 convolution has groups of
  # r3gan_group_width channels of the width times r3gan_expansion (R3GAN's presets: 16, 2).
  m.r3gan_width_mults = (1, 1, 1, 1)
  m.r3gan_blocks = (2, 2, 2, 2)
  m.r3gan_group_width = 16
  m.r3gan_expansion = 2
  # Grouped convolutions as XLA's ('xla'), one dense convolution per group ('split') or one
  # with a block-diagonal kernel ('dense'); the same function (XLA:CPU's grouped ones are
  # ~10-25x slower: jaxgan.models.r3gan). 'auto': 'split' on CPU, else 'xla'.
  m.r3gan_group_conv = 'auto'

  c.loss = ml_collections.ConfigDict()
  c.loss.name = 'non_saturating'  # See jaxgan.losses.LOSSES.
  # 'none', 'gradient_penalty', 'r1' or 'r1_r2' (R1 on real and R2 on fake data, R3GAN's).
  c.loss.penalty = 'none'
  c.loss.penalty_weight = 10.0
  # The weight's schedule over images seen (jaxgan.gan.schedules: 'constant', 'linear',
  # 'cosine'), from penalty_weight to penalty_weight_end (R3GAN's gamma schedule).
  c.loss.penalty_schedule = 'constant'
  c.loss.penalty_weight_end = 10.0
  c.loss.clip_value = 0.0  # > 0: clip every critic weight to [-c, c] after each update (WGAN).
  # Soft and noisy D targets (BCE losses only): drawn per sample, uniform in [lo, hi].
  # Report 003: real (0.7, 1.2), fake (0.0, 0.3). (1, 1) and (0, 0) are the hard targets.
  c.loss.real_targets = (1.0, 1.0)
  c.loss.fake_targets = (0.0, 0.0)
  c.loss.one_sided = False  # True: smooth the real targets only; fake targets stay 0.
  c.loss.flip_prob = 0.0  # Probability that a sample's real and fake targets are swapped.
  # ACGAN auxiliary classification (cross-entropy) weights: D on real, D on fake, G on fake.
  c.loss.aux_weight_real = 1.0
  c.loss.aux_weight_fake = 1.0
  c.loss.aux_weight_g = 1.0

  c.optim.n_critic = 1  # D updates per G update, each on its own real batch.
  # 'constant', 'linear': from step decay_start, both rates fall linearly to 0 at num_steps
  # (WGAN-GP's CIFAR recipe decays from step 0), or 'cosine': R3GAN's, to lr_end_factor times
  # each rate over schedule_images, then held. Fixed for a run: it shapes the optimizer state.
  c.optim.lr_schedule = 'constant'
  c.optim.decay_start = 0
  c.optim.lr_end_factor = 0.0
  # Adam's b2 over images seen ('constant', 'linear', 'cosine'), from optim.b2 to b2_end
  # (R3GAN: 0.9 -> 0.99). Non-constant, the optimizer state holds its hyperparameters
  # (optax.inject_hyperparams). Fixed for a run: it shapes the optimizer state.
  c.optim.b2_schedule = 'constant'
  c.optim.b2_end = 0.999

  # DiffAugment (jaxgan.gan.augment) of every image D sees, e.g. 'color,translation,cutout';
  # '' off.
  c.data.diffaugment = ''
  # The probability that each policy is applied to each image (1: always, DiffAugment's), and
  # its schedule over images seen ('constant', 'linear', 'cosine') to diffaugment_p_end, as
  # R3GAN ramps ADA's p (their CIFAR-10 preset: 0 -> 0.55).
  c.data.diffaugment_p = 1.0
  c.data.diffaugment_p_schedule = 'constant'
  c.data.diffaugment_p_end = 1.0
  c.data.num_points = 100_000  # Training points drawn from a 2-D mixture.
  return c
