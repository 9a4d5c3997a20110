"""SR configs, data pairs, losses and the training loop (SRResNet, SRGAN from SRResNet)."""

import os

import jax
import numpy as np
import pytest
from PIL import Image

from testlib import get_config, tiny_sr
from jaxgan.data.errors import DataError
from jaxgan.data.imresize import bicubic_downsample
from jaxgan.models import vgg as vgg_lib
from jaxgan.run import checkpoint
from jaxgan.sr import data, state as sr_state, steps, train

SR_CONFIGS = ['srresnet_div2k', 'srgan_div2k', 'srresnet_photos', 'srgan_photos']


@pytest.mark.parametrize('name', SR_CONFIGS)
def test_configs_follow_the_two_stage_recipe(name):
  c = get_config(name)
  assert c.task == 'sr' and c.model.scale == 4 and c.optim.name == 'adam'
  if name.startswith('srresnet'):
    assert c.sr.content_loss == 'mse' and c.sr.adversarial_weight == 0 and not c.sr.init_from
  else:
    assert c.sr.adversarial_weight > 0 and c.sr.init_from.endswith(name.replace('srgan',
                                                                                  'srresnet'))
  if name.endswith('div2k'):
    assert c.data.name == 'div2k' and c.model.image_size == 96 and c.model.num_blocks == 16
    assert c.optim.g_lr == 1e-4
  if name == 'srgan_div2k':
    assert c.sr.content_loss == 'vgg' and c.sr.adversarial_weight == 1e-3


def test_gan_configs_default_to_the_gan_task():
  assert get_config('dcgan_digits').task == 'gan'


def test_pairs_are_matlab_bicubic_downsamples_of_the_crops():
  config = tiny_sr()
  config.batch_size = 4
  ds = data.build_dataset(config, data.build_source(config))
  batch = ds[3]
  assert batch['lr'].shape == (4, 4, 4, 3) and batch['hr'].shape == (4, 16, 16, 3)
  assert batch['hr'].min() >= -1 and batch['hr'].max() <= 1
  for lr, hr in zip(batch['lr'], batch['hr']):
    hr_uint8 = np.round((hr + 1) * 127.5).astype(np.uint8)
    np.testing.assert_allclose(lr, bicubic_downsample(hr_uint8, 4) / 255.0, atol=1e-6)
  again = data.build_dataset(config, data.build_source(config))[3]
  np.testing.assert_array_equal(again['hr'], batch['hr'])  # Derived from the seed alone.
  assert not np.array_equal(ds[4]['hr'], batch['hr'])


def test_folder_source_and_its_errors(tmp_path):
  config = tiny_sr()
  config.data.name, config.data.path = 'folder', str(tmp_path / 'none')
  with pytest.raises(DataError, match='does not exist'):
    data.build_source(config)
  os.makedirs(tmp_path / 'hr')
  Image.fromarray(np.zeros((20, 30), np.uint8)).save(tmp_path / 'hr' / 'gray.png')
  Image.fromarray(np.zeros((8, 30, 3), np.uint8)).save(tmp_path / 'hr' / 'small.png')
  config.data.path = str(tmp_path / 'hr')
  ds = data.build_dataset(config, data.build_source(config))
  sizes = set()
  for i in range(4):
    try:
      sizes.add(ds[i]['hr'].shape)
    except DataError as e:
      assert 'smaller than the 16x16 crop' in str(e)
  assert sizes <= {(2, 16, 16, 3)}


def test_missing_div2k_names_the_tfds_command(tmp_path):
  config = tiny_sr('srresnet_div2k')
  config.data.tfds_dir = str(tmp_path)
  with pytest.raises(DataError, match='tfds build div2k/bicubic_x4'):
    data.build_source(config)


def test_content_losses_on_hand_computed_values():
  sr, hr = np.zeros((1, 2, 2, 1)), np.array([1.0, -1.0, 0.5, 0.0]).reshape(1, 2, 2, 1)
  assert float(steps.get_content_loss('mse')(sr, hr, None)) == pytest.approx(2.25 / 4)
  assert float(steps.get_content_loss('l1')(sr, hr, None)) == pytest.approx(2.5 / 4)
  with pytest.raises(ValueError, match='valid names'):
    steps.get_content_loss('ssim')


def test_missing_vgg_weights_fail_with_the_fix(tmp_path, monkeypatch):
  monkeypatch.setenv('JAXGAN_CACHE', str(tmp_path))
  config = tiny_sr('srgan_div2k')
  with pytest.raises(vgg_lib.WeightsNotFoundError, match='sr.vgg_weights'):
    train.load_vgg(config)


def test_srresnet_run_writes_checkpoint_and_metrics(tiny_srresnet_run):
  _, workdir = tiny_srresnet_run
  assert checkpoint.Checkpointer(workdir, 1).latest_step() == 2
  assert any(f.startswith('events.out.tfevents') for f in os.listdir(workdir))


def test_srgan_starts_from_the_srresnet_generator(tiny_srresnet_run, tmp_path):
  """With a zero G learning rate the SRGAN generator stays the SRResNet one, bit for bit."""
  from jaxgan.sr import evaluate
  _, srresnet_dir = tiny_srresnet_run
  config = tiny_sr('srgan_photos', steps=1)
  config.sr.init_from = srresnet_dir
  config.optim.g_lr = 0.0
  state = train.train_and_evaluate(config, str(tmp_path / 'srgan'))
  _, _, init_state = evaluate.restore_state(srresnet_dir)
  for a, b in zip(jax.tree.leaves(state.g_params), jax.tree.leaves(init_state.g_params)):
    np.testing.assert_array_equal(a, b)
  assert jax.tree.leaves(state.d_params)  # SRGAN trains a discriminator.


def test_comparison_picture_columns():
  """bicubic | each upscaler | HR, per held-out crop, each enlarged 2x."""
  from jaxgan.sr import evaluate
  nearest = lambda lr: np.repeat(np.repeat(lr * 2 - 1, 4, axis=1), 4, axis=2)
  picture = train.comparison_picture({'a': nearest, 'b': nearest}, 4)
  size = 2 * train.COMPARISON_SIZE
  assert picture.shape == (3 * (size + 2) + 2, 4 * (size + 2) + 2, 3)
  name, image = evaluate.photo_images()[0]
  top, left = train.COMPARISON_CROPS[name]
  hr = image[top:top + 96, left:left + 96]
  lr = bicubic_downsample(hr, 4)
  tile = lambda col: picture[2:2 + size:2, 2 + col * (size + 2):2 + col * (size + 2) + size:2]
  np.testing.assert_array_equal(tile(0), evaluate.bicubic_upscale(lr, 4))
  np.testing.assert_array_equal(tile(1), np.repeat(np.repeat(lr, 4, 0), 4, 1))
  np.testing.assert_array_equal(tile(3), hr)


def test_srgan_without_a_pretrained_srresnet_names_the_command(tmp_path):
  config = tiny_sr('srgan_photos', steps=1)
  config.sr.init_from = str(tmp_path / 'missing')
  with pytest.raises(FileNotFoundError, match='configs/srresnet_photos.py'):
    train.train_and_evaluate(config, str(tmp_path / 'srgan'))


@pytest.mark.slow
def test_short_srresnet_photos_run_beats_bicubic(tmp_path):
  """A few hundred steps of srresnet_photos beat bicubic on held-out astronaut (Y, border 4)."""
  from jaxgan.sr import evaluate
  config = get_config('srresnet_photos')
  config.num_steps = 300
  config.log_every = 50
  config.checkpoint_every = 300
  config.sr.eval_photos = False
  state = train.train_and_evaluate(config, str(tmp_path / 'run'))
  models, _ = sr_state.create(config)
  upscaler = evaluate.make_upscaler(models.g_graph, state.g_params, state.g_stats)
  astronaut = [p for p in evaluate.photo_images() if p[0] == 'astronaut']
  bicubic, model = evaluate.evaluate_images(astronaut, {'model': upscaler}, 4)
  assert model['psnr'] > bicubic['psnr'] + 0.3, (model, bicubic)


def test_resuming_with_another_model_is_refused(tiny_srresnet_run, tmp_path):
  import shutil
  from jaxgan.run import run_record
  _, workdir = tiny_srresnet_run
  copy = str(tmp_path / 'copy')
  shutil.copytree(workdir, copy)
  config = tiny_sr('srresnet_photos')
  config.model.num_blocks = 2
  with pytest.raises(run_record.ConfigChangeError, match='model.num_blocks: 1 -> 2'):
    train.train_and_evaluate(config, copy)


def test_nan_batch_fails_naming_the_step_or_is_skipped(tmp_path):
  from jaxgan.run import guards
  config = tiny_sr('srresnet_photos', steps=3)
  config.debug_nan_step = 2
  with pytest.raises(guards.NonFiniteError, match='at step 2'):
    train.train_and_evaluate(config, str(tmp_path / 'fail'))
  # Nothing non-finite was saved: the only checkpoint would have been step 3.
  assert checkpoint.Checkpointer(str(tmp_path / 'fail'), 1).latest_step() is None
  config.nonfinite = 'skip'
  state = train.train_and_evaluate(config, str(tmp_path / 'skip'))
  assert int(state.step) == 3
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(state.g_params))


def test_a_stop_signal_saves_and_resuming_finishes(tmp_path, monkeypatch):
  import signal
  from jaxgan.run import preemption
  config, workdir = tiny_sr('srresnet_photos', steps=4), str(tmp_path / 'run')
  config.checkpoint_every = 4
  stop = preemption.StopSignal()
  stop.signum = signal.SIGTERM  # As if the signal arrived during the first step.
  with pytest.raises(preemption.Preempted, match='after step 1'):
    train.train_run(config, workdir, stop, set())
  assert checkpoint.Checkpointer(workdir, 1).latest_step() == 1
  state = train.train_and_evaluate(config, workdir)
  assert int(state.step) == 4
