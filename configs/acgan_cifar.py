"""ACGAN on CIFAR-10 at 32 px (report 002: batch 32, 50 epochs of 1,563 batches).

  python -m jaxgan.main --config=configs/acgan_cifar.py --workdir=runs/acgan_cifar

D has a real/fake head and a 10-way class head on the same features; D's loss adds the class
cross-entropy on real and fake images, G's the cross-entropy of its fakes against the labels
they were drawn for (weights loss.aux_weight_real/_fake/_g). One-sided label smoothing (real
targets 0.9) keeps D's adversarial head from saturating.
"""

from configs import dcgan_cifar


def get_config():
  c = dcgan_cifar.get_config()
  c.name = 'acgan_cifar'
  c.model.name = 'acgan'
  c.model.num_classes = 10
  c.model.embed_dim = 50
  c.loss.real_targets = (0.9, 0.9)
  c.loss.one_sided = True
  return c
