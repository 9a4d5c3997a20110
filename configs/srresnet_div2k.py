"""SRResNet 4x, MSE pre-training on DIV2K HR crops (stage 1 of SRGAN; Ledig et al. 2017).

  tfds build div2k/bicubic_x4 --file_format=array_record   # once, ~4 GB
  python -m jaxgan.main --config=configs/srresnet_div2k.py --workdir=runs/srresnet_div2k
  python -m jaxgan.evaluate --workdir=runs/srresnet_div2k --sr_eval=data/Set5,data/Set14,data/BSD100

Paper recipe: 16 residual blocks, 96x96 HR crops (flips, 90-degree rotations), batch 16,
Adam 1e-4 (beta1 0.9), 1e6 updates, pixel MSE. LR crops are made with MATLAB's bicubic kernel.
Or train on a folder of HR images: --config.data.name=folder --config.data.path=DIR.
"""

from configs import sr_default


def get_config():
  c = sr_default.get_config()
  c.name = 'srresnet_div2k'
  c.num_steps = 1_000_000
  c.log_every = 100
  c.checkpoint_every = 10_000
  c.data.name = 'div2k'
  c.data.num_workers = 8  # 2K PNG decodes per crop: keep the accelerator fed.
  c.sr.content_loss = 'mse'
  c.sr.adversarial_weight = 0.0
  return c
