"""Class-conditional SNGAN on CIFAR-10: projection discriminator (Miyato & Koyama 2018).

  python -m jaxgan.main --config=configs/sngan_projection_cifar.py \
      --workdir=runs/sngan_projection_cifar

sngan_cifar's networks and recipe, with class-conditional BatchNorm in G (a scale and a shift
per class) and D's logit plus the inner product of a spectrally normalised class embedding with
D's pooled features. Sample a class with `python -m jaxgan.sample --labels=3,3,7`.
"""

from configs import sngan_cifar


def get_config():
  c = sngan_cifar.get_config()
  c.name = 'sngan_projection_cifar'
  c.model.name = 'sngan_projection'
  c.model.num_classes = 10
  return c
