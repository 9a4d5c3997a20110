"""Fixtures shared by every test; helpers live in tests/testlib.py."""

import pytest

import testlib


@pytest.fixture
def workdir(tmp_path):
  return str(tmp_path / 'run')


@pytest.fixture(scope='session')
def tiny_digits_run(tmp_path_factory):
  """(config, workdir) of a finished 2-step tiny dcgan_digits run; tests only read it."""
  from jaxgan.gan import train
  config = testlib.tiny(testlib.get_config('dcgan_digits'), steps=2)
  workdir = str(tmp_path_factory.mktemp('digits') / 'run')
  train.train_and_evaluate(config, workdir)
  return config, workdir
