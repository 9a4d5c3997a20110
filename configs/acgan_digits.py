"""ACGAN (report 002) on the embedded digits at 16 px: ask for a digit, get it (CPU, minutes).

  python -m jaxgan.main --config=configs/acgan_digits.py --workdir=runs/acgan_digits

D has a second head classifying the digit; both D and G add its cross-entropy to their losses.
Judged by `class_agreement`: the share of samples the digits classifier confidently reads as
the asked digit, overall and for the worst digit (`class_agreement_min`, the best checkpoint's
metric); per digit as `eval_class_agreement/k`.
"""

from configs import dcgan_digits


def get_config():
  return dcgan_digits.conditional_config('acgan')
