"""Fixtures shared by every test; helpers live in tests/testlib.py."""

import pytest

import testlib  # noqa: F401  (puts the repository root on sys.path)


@pytest.fixture
def workdir(tmp_path):
  return str(tmp_path / 'run')
