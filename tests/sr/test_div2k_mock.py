"""configs/srresnet_div2k.py and configs/srgan_div2k.py train under tfds.testing.mock_data.

Shrunk to 16 px crops and one narrow block, each config runs 2 steps on TFDS's mock
`div2k/bicubic_x4` and resumes to step 4. SRGAN's VGG19 perceptual loss reads random VGG19
weights from an .npz in the loader's format (jaxgan.models.vgg), its generator starts from the
mock SRResNet run (sr.init_from), and its resumed run equals an uninterrupted 4-step run bit for
bit (one CPU device: the same compiled step on the same batches; SRResNet's step is a subset of
SRGAN's, so its straight run is left out to save its compile time).
"""

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds
from flax import nnx

from testlib import read_scalars, tiny_sr
from jaxgan.models import vgg as vgg_lib
from jaxgan.run import checkpoint
from jaxgan.sr import data, evaluate, train

# TFDS's mock draws each unknown image side in [5, 50) from a seed per index; the first 3 HR
# images are at least 16 px on both sides (checked below), so every 16 px crop fits.
MOCK_EXAMPLES = 3


@pytest.fixture
def random_vgg19(tmp_path, monkeypatch):
  """Path and contents of random VGG19 weights saved as the loader reads them:
  {'conv1_1/kernel': HWIO, 'conv1_1/bias', ..., 'mean', 'std'} (He-scaled, random biases)."""
  monkeypatch.setenv('JAXGAN_CACHE', str(tmp_path / 'cache'))
  shapes = nnx.eval_shape(lambda: vgg_lib.VGG19Features(rngs=nnx.Rngs(0)))  # No allocation.
  rng = np.random.default_rng(0)
  params = {'mean': vgg_lib.IMAGENET_MEAN_RGB, 'std': vgg_lib.IMAGENET_STD_RGB}
  for name, conv in zip(vgg_lib.LAYER_NAMES, shapes.convs):
    kh, kw, cin, cout = conv.kernel.shape
    params[f'{name}/kernel'] = rng.normal(0, np.sqrt(2 / (kh * kw * cin)), (kh, kw, cin, cout))
    params[f'{name}/bias'] = rng.normal(0, 0.1, cout)
  params = {k: np.asarray(v, np.float32) for k, v in params.items()}
  path = tmp_path / 'vgg19_random.npz'
  np.savez(path, **params)
  return str(path), params


def div2k_config(name, steps, vgg_weights='', init_from=''):
  config = tiny_sr(name, steps)
  config.checkpoint_every = 2
  config.sr.vgg_weights = vgg_weights
  config.sr.init_from = init_from
  return config


def train_and_resume(name, tmp_path, straight=False, **kwargs):
  """Workdir of a run of 2 steps resumed to 4; with `straight`, checked equal bit for bit to an
  uninterrupted 4-step run."""
  resumed = str(tmp_path / name)
  assert int(train.train_and_evaluate(div2k_config(name, 2, **kwargs), resumed).step) == 2
  assert int(train.train_and_evaluate(div2k_config(name, 4, **kwargs), resumed).step) == 4
  assert checkpoint.Checkpointer(resumed, 3).manager.all_steps() == [2, 4]
  if straight:
    train.train_and_evaluate(div2k_config(name, 4, **kwargs), str(tmp_path / f'{name}_4'))
    (_, _, a), (_, _, b) = (evaluate.restore_state(str(tmp_path / n))
                            for n in (name, f'{name}_4'))
    assert int(a.step) == int(b.step) == 4
    for (path, x), y in zip(jax.tree_util.tree_leaves_with_path(a), jax.tree.leaves(b)):
      np.testing.assert_array_equal(np.asarray(x), np.asarray(y),
                                    err_msg=jax.tree_util.keystr(path))
  return resumed


@pytest.mark.slow
def test_div2k_srresnet_then_srgan_with_vgg_loss_train_and_resume(tmp_path, random_vgg19):
  vgg_path, vgg_params = random_vgg19
  with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):
    config = div2k_config('srresnet_div2k', 2)
    assert config.data.name == 'div2k' and config.data.num_workers == 8
    source = data.build_source(config)
    shapes = [source[i].shape for i in range(len(source))]
    assert len(source) == MOCK_EXAMPLES and min(min(s[:2]) for s in shapes) >= 16, shapes

    srresnet = train_and_resume('srresnet_div2k', tmp_path)

    srgan_config = div2k_config('srgan_div2k', 2, vgg_path, srresnet)
    assert srgan_config.sr.content_loss == 'vgg' and srgan_config.sr.adversarial_weight > 0
    graph, vgg_state = train.load_vgg(srgan_config)  # The random weights, as training loads them.
    vgg = nnx.merge(graph, vgg_state)
    np.testing.assert_array_equal(vgg.convs[15].kernel[...], vgg_params['conv5_4/kernel'])
    np.testing.assert_array_equal(vgg.convs[0].bias[...], vgg_params['conv1_1/bias'])
    srgan = train_and_resume('srgan_div2k', tmp_path, straight=True, vgg_weights=vgg_path,
                             init_from=srresnet)

  for tag in ('train_content_loss', 'train_g_adv_loss', 'train_d_loss'):
    values = [v for _, v in read_scalars(srgan, tag)]
    assert values and np.all(np.isfinite(values)) and values[-1] > 0, (tag, values)
