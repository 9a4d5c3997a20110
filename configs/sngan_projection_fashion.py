"""SNGAN with a projection discriminator and class-conditional BatchNorm in G (Miyato & Koyama
2018) on Fashion-MNIST at 32 px: <= 10 minutes on 2 CPU cores.

  python -m jaxgan.main --config=configs/sngan_projection_fashion.py \
      --workdir=runs/sngan_projection_fashion

sngan_fashion's networks and recipe, conditioned on the garment class; judged by per-class
agreement as cgan_fashion.
"""

from configs import sngan_fashion


def get_config():
  c = sngan_fashion.get_config()
  c.name = 'sngan_projection_fashion'
  c.model.name = 'sngan_projection'
  c.model.num_classes = 10
  c.best_metric = 'fashion_agreement_min'
  return c
