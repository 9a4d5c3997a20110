"""CGAN on Fashion-MNIST at 32 px: ask for a class, get that garment (2-core CPU, <= 10 minutes).

  python -m jaxgan.main --config=configs/cgan_fashion.py --workdir=runs/cgan_fashion
  python -m jaxgan.sample --workdir=runs/cgan_fashion --per_class=10 --out=grid.png

Report 003's conditioning (G: label embedding joined to z; D: the label as an extra channel)
with dcgan_fashion's recipe. Judged by class agreement: the share of samples the Fashion-MNIST
judge confidently reads as the asked class, per class, beside real images' own agreement.
"""

from configs import dcgan_fashion


def get_config():
  return dcgan_fashion.conditional_config('cgan')
