"""CGAN on CIFAR-10 at 32 px (report 003): label channel in D, soft and noisy targets, TTUR.

  python -m jaxgan.main --config=configs/cgan_cifar.py --workdir=runs/cgan_cifar

The label is embedded (50), mapped by a dense layer to one 32x32 plane and concatenated to D's
input; G gets the embedding with its noise. D's BCE targets are drawn per sample from
[0.7, 1.2] (real) and [0.0, 0.3] (fake); D and G learn at different rates (report 003 tuned
them separately; the values here are TTUR's usual 2:1).
"""

from configs import dcgan_cifar


def get_config():
  c = dcgan_cifar.get_config()
  c.name = 'cgan_cifar'
  c.batch_size = 64
  c.num_steps = 39_075  # 50 epochs of 50,000 images.
  c.model.name = 'cgan'
  c.model.num_classes = 10
  c.model.embed_dim = 50
  c.loss.real_targets = (0.7, 1.2)
  c.loss.fake_targets = (0.0, 0.3)
  c.optim.d_lr = 4e-4
  c.optim.g_lr = 2e-4
  return c
