"""DCGAN on anime faces (report 004): 96 px images centre-cropped and resized to 64 px.

Generator starts with a linear layer to 4x4x512 and uses 5x5 transposed convolutions (BN + ReLU,
tanh); the discriminator uses 5x5 stride-2 convolutions. Adam 2e-4 (0.5, 0.999), BCE, batch 64,
random horizontal flips; 50 epochs of the 33,431 images.

  python -m jaxgan.main --config=configs/dcgan_anime.py --workdir=runs/dcgan_anime \
      --config.data.path=/path/to/anime/faces
"""

from configs import default


def get_config():
  c = default.get_config()
  c.name = 'dcgan_anime'
  c.num_steps = 26_000  # ~50 epochs of 33,431 images at batch 64.
  c.batch_size = 64
  c.log_every = 100
  c.sample_every = 1_000
  c.checkpoint_every = 2_000
  c.model.image_size = 64
  c.model.channels = 3
  c.model.z_dim = 100
  c.model.g_input = 'linear'
  c.model.g_kernel_size = 5
  c.model.d_kernel_size = 5
  c.data.name = 'folder'
  c.data.path = 'data/anime_faces'
  c.data.flip = True
  return c
