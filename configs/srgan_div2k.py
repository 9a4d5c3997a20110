"""SRGAN 4x (stage 2): VGG phi_5,4 content loss + 1e-3 adversarial, from a trained SRResNet.

  python -m jaxgan.main --config=configs/srgan_div2k.py --workdir=runs/srgan_div2k \
      --config.sr.init_from=runs/srresnet_div2k --config.sr.vgg_weights=~/vgg19-dcbffe22.pth

Paper recipe: generator initialised from the MSE SRResNet, 1e5 updates at 1e-4 and 1e5 at
1e-5, content loss MSE of VGG19 phi_5,4 features rescaled by 1/12.75, adversarial weight
1e-3. VGG19 ImageNet weights come from a local file (torchvision vgg19-dcbffe22.pth or the
Keras notop .h5; converted once to .npz); a missing file fails with the download address.
"""

from configs import sr_default


def get_config():
  c = sr_default.get_config()
  c.name = 'srgan_div2k'
  c.num_steps = 200_000
  c.log_every = 100
  c.checkpoint_every = 10_000
  c.optim.lr_drop_step = 100_000
  c.data.name = 'div2k'
  c.data.num_workers = 8
  c.sr.content_loss = 'vgg'
  c.sr.adversarial_weight = 1e-3
  c.sr.init_from = 'runs/srresnet_div2k'
  return c
