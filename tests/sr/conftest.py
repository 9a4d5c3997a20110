"""The shared tiny trained SRResNet run of the SR tests."""

import pytest

from testlib import tiny_sr


@pytest.fixture(scope='session')
def tiny_srresnet_run(tmp_path_factory):
  """(config, workdir) of a 2-step tiny SRResNet run on the embedded photos."""
  from jaxgan.sr import train
  config = tiny_sr('srresnet_photos')
  workdir = str(tmp_path_factory.mktemp('sr') / 'srresnet')
  train.train_and_evaluate(config, workdir)
  return config, workdir
