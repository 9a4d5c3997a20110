"""WGAN (weight clipping) on Fashion-MNIST at 32 px, report 002's recipe: within 10 minutes on 2 CPU cores.

  python -m jaxgan.main --config=configs/wgan_fashion.py --workdir=runs/wgan_fashion

The seed report's WGAN as it is (Arjovsky et al. 2017): a DCGAN critic with BatchNorm and no
sigmoid, the Wasserstein loss, weights clipped to [-0.01, 0.01], RMSProp 5e-5, 5 critic updates
per G update. Only the networks are narrowed and the steps shortened to fit the CPU budget; no
recipe of ours is added, so its row in the README shows what the original method reaches here.
"""

from configs import fashion_default

NUM_STEPS = 1_500
EVAL_EVERY = 500


def get_config():
  c = fashion_default.get_config('wgan_fashion', NUM_STEPS, EVAL_EVERY)
  c.batch_size = 64
  c.model.z_dim = 100
  c.model.g_features = 32
  c.model.d_features = 32
  c.model.ema_decay = 0.0  # The report samples the generator itself.
  c.loss.name = 'wasserstein'
  c.loss.clip_value = 0.01
  c.optim.name = 'rmsprop'
  c.optim.g_lr = c.optim.d_lr = 5e-5
  c.optim.n_critic = 5
  return c
