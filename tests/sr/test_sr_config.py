"""The SR config holds only fields the SR task reads, its resume rules cover sr.*, and the SR
loop refuses GAN evaluators instead of ignoring them."""

import ml_collections
import pytest

from configs import default, sr_default, srresnet_photos
from jaxgan.run import run_record
from jaxgan.sr import train as sr_train


def sr_config():
  return srresnet_photos.get_config()


def test_sr_configs_carry_no_gan_only_field():
  config = sr_config()
  for field in ('sample_every', 'evals', 'best_metric', 'num_grid_samples', 'loss'):
    assert field not in config, field
  for field in ('z_dim', 'ema_decay', 'conv_impl', 'd_norm'):
    assert field not in config.model, field
  assert 'n_critic' not in config.optim and 'diffaugment' not in config.data
  # Every field of the shared layer is there, with the same defaults as the GAN configs'.
  shared = run_record.flat(default.run_config().to_dict())
  gan = run_record.flat(default.get_config().to_dict())
  assert all(gan[k] == v for k, v in shared.items())
  assert set(shared) <= set(run_record.flat(sr_default.get_config().to_dict()))


def resume_error(change, allow=False):
  saved, config = sr_config().to_dict(), sr_config()
  change(config)
  config.allow_config_change = allow
  try:
    run_record.check_resume(saved, config, 'runs/x')
  except run_record.ConfigChangeError as e:
    return str(e)
  return None


def test_resume_rules_cover_sr_fields():
  def set_(path, value):
    def change(config):
      section, field = path.split('.')
      config[section][field] = value
    return change
  assert resume_error(set_('sr.eval_photos', False)) is None  # Free: what is scored.
  assert resume_error(set_('sr.init_from', 'runs/other')) is None  # Read at step 0 only.
  for tunable, value in (('optim.lr_drop_step', 100), ('sr.vgg_weights', '/w/vgg19.npz')):
    assert 'allow_config_change' in resume_error(set_(tunable, value)), tunable
    assert resume_error(set_(tunable, value), allow=True) is None, tunable
  for fixed, value in (('sr.content_loss', 'l1'), ('sr.adversarial_weight', 1e-3),
                       ('model.scale', 2), ('sr.vgg_pre_activation', False)):
    message = resume_error(set_(fixed, value), allow=True)
    assert message is not None and fixed in message and 'different model' in message, fixed


def test_sr_loop_refuses_gan_evaluators(tmp_path):
  config = sr_config()
  config.evals = ml_collections.ConfigDict({'fid': {'every': 10}})
  with pytest.raises(ValueError, match=r"config.evals=\['fid'\].*SR loop does not run them"):
    sr_train.train_and_evaluate(config, str(tmp_path / 'run'))
  assert not (tmp_path / 'run').exists()  # Refused before anything was written.
