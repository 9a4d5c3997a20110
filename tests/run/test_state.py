"""Restoring a run (jaxgan.run.state.restore_run), as every tool does: a workdir without a
checkpoint, or of the other task, is refused with the fix, for GAN and SR alike."""

import re

import pytest

from testlib import get_config, tiny, tiny_sr
from jaxgan.gan import generate
from jaxgan.run import checkpoint
from jaxgan.run.workdir import write_config
from jaxgan.sr import evaluate as sr_evaluate


def started(tmp_path, config):
  """A workdir as a run leaves it before its first checkpoint: config.json only."""
  workdir = str(tmp_path / config.name)
  (tmp_path / config.name).mkdir()
  write_config(workdir, config)
  return workdir


@pytest.mark.parametrize('task', ['gan', 'sr'])
def test_a_run_without_a_checkpoint_says_how_to_train_it(task, tmp_path):
  config = tiny(get_config('dcgan_digits')) if task == 'gan' else tiny_sr('srresnet_photos')
  workdir = started(tmp_path, config)
  restore = generate.load_run if task == 'gan' else sr_evaluate.restore_state
  expected = (f'No checkpoint in {workdir}/checkpoints: train it first with python -m '
              f'jaxgan.main --config=configs/{config.name}.py --workdir={workdir}')
  with pytest.raises(checkpoint.CheckpointError, match=f'^{re.escape(expected)}$'):
    restore(workdir)


def test_a_tool_refuses_a_run_of_the_other_task(tmp_path):
  gan_run = started(tmp_path, tiny(get_config('dcgan_digits')))
  sr_run = started(tmp_path, tiny_sr('srresnet_photos'))
  for tool, workdir, run_task, needed in ((generate.load_run, sr_run, 'sr', 'gan'),
                                          (sr_evaluate.restore_state, gan_run, 'gan', 'sr')):
    expected = (f"'{workdir}' is a '{run_task}' run, this tool needs a '{needed}' one "
                f"(config.task).")
    with pytest.raises(ValueError, match=f'^{re.escape(expected)}$'):
      tool(workdir)


def test_a_directory_that_is_no_run_is_named(tmp_path):
  with pytest.raises(FileNotFoundError, match='is .* the --workdir of a training run'):
    generate.load_run(str(tmp_path / 'nothing'))
