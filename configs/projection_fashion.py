"""Projection-conditional DCGAN on Fashion-MNIST at 32 px (2-core CPU, <= 10 minutes).

  python -m jaxgan.main --config=configs/projection_fashion.py --workdir=runs/projection_fashion

Miyato & Koyama 2018's projection discriminator (logit + <class embedding, pooled features>)
and class-conditional BatchNorm in G, with dcgan_fashion's recipe; judged as cgan_fashion.
"""

from configs import dcgan_fashion


def get_config():
  return dcgan_fashion.conditional_config('projection')
