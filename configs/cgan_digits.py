"""CGAN (report 003) on the embedded digits at 16 px: the label as an extra D input channel.

  python -m jaxgan.main --config=configs/cgan_digits.py --workdir=runs/cgan_digits

Judged by `class_agreement`: the share of samples the digits classifier confidently reads as
the asked digit, overall and for the worst digit (`class_agreement_min`, the best checkpoint's
metric); per digit as `eval_class_agreement/k`.
"""

from configs import dcgan_digits


def get_config():
  return dcgan_digits.conditional_config('cgan')
