"""What every Fashion-MNIST config shares: the data at 32 px, no flips, the Fashion evaluator.

Fashion-MNIST (jaxgan.data.fashion_mnist): TFDS's fashion_mnist if prepared, else the IDX files
in data.path (default Debian's folder: apt-get install dataset-fashion-mnist). 28 px garments
resized to 32 px with PIL bilinear, as PyTorch-GAN feeds them; no flips, since garments have an
orientation (every shoe points the same way). Judged by the `fashion` evaluator: FD, confident
share, class mix, precision/recall/density/coverage and class agreement in the features of the
package's Fashion-MNIST classifier, against the 10,000 test images (README, Fashion-MNIST).
Each config is meant to finish within 10 minutes on a 2-core CPU.
"""

import ml_collections

from configs import default

EVAL_SAMPLES = 2_000  # During training; the README's figures use 10,000 (jaxgan.sample).


def get_config(name: str, num_steps: int, eval_every: int) -> ml_collections.ConfigDict:
  c = default.get_config()
  c.name = name
  c.num_steps = num_steps
  c.log_every = 100
  c.sample_every = c.checkpoint_every = eval_every
  c.model.image_size = 32
  c.model.channels = 1
  c.data.name = 'fashion_mnist'
  c.data.flip = False
  c.evals.fashion = dict(every=eval_every, num_samples=EVAL_SAMPLES)
  c.best_metric = 'fashion_fd'
  return c
