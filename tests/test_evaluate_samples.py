"""`python -m jaxgan.evaluate --config=FILE --samples=PATH`: samples made anywhere (an .npz or a
folder of images) get the figures the evaluators give the same images, and bad input is one
error line."""

import functools
import json

import numpy as np
import pytest
from PIL import Image

from testlib import get_config, run_tool
from jaxgan import evaluate
from jaxgan.data import transforms
from jaxgan.data.digits import digits_split
from jaxgan.gan import evaluators

DIGITS = 'configs/dcgan_digits.py'
CGAN = 'configs/cgan_digits.py'


@functools.cache
def held_out_digits():
  """(uint8 (176, 16, 16, 1) images, labels): the digits no GAN or classifier trained on."""
  images, labels = digits_split(16, 'test')
  return transforms.to_uint8(images), labels


@pytest.fixture(scope='module')
def cache(tmp_path_factory):
  """One statistics cache for the tool's processes and this one: the same reference."""
  return tmp_path_factory.mktemp('cache')


def score_tool(cache, *args):
  """The JSON object the tool writes to standard output (which holds nothing else)."""
  run = run_tool('evaluate', *args, '--json=-', env={'JAX_PLATFORMS': 'cpu',
                                                     'JAXGAN_CACHE': str(cache)})
  assert run.returncode == 0, run.stderr[-3000:]
  return json.loads(run.stdout)


@pytest.fixture(scope='module')
def npz_record(tmp_path_factory, cache):
  path = tmp_path_factory.mktemp('samples') / 'digits.npz'
  np.savez(path, samples=held_out_digits()[0])
  return path, score_tool(cache, f'--config={DIGITS}', f'--samples={path}')


def test_npz_samples_get_the_evaluators_figures(npz_record, cache, monkeypatch):
  path, record = npz_record
  monkeypatch.setenv('JAXGAN_CACHE', str(cache))
  config = get_config('dcgan_digits')
  images = transforms.to_unit_range(held_out_digits()[0])
  expected = {}
  for name in config.evals:  # Their options are all common ones: each built with its defaults.
    expected |= evaluators.get(name).build(config, {})(evaluators.Samples(images))
  assert record['metrics'] == pytest.approx(expected, rel=1e-6, abs=1e-9)
  assert sorted(record['protocol']) == sorted(config.evals)
  for protocol in record['protocol'].values():
    assert protocol['num_samples'] == 176 and protocol['source'] == str(path)
    assert protocol['image_size'] == '16x16' and 'note' not in protocol
  assert record['protocol']['digits_fd']['reference']['split'] == 'train'
  assert record['protocol']['prdc']['reference']['split'] == 'test'  # Held out, as in training.
  assert record['protocol']['digits_confident']['classifier'].startswith('jaxgan digits')


def test_an_image_folder_scores_as_its_npz(npz_record, cache, tmp_path):
  _, record = npz_record
  for i, image in enumerate(held_out_digits()[0]):
    Image.fromarray(image[..., 0]).save(tmp_path / f'{i:03d}.png')
  folder = score_tool(cache, f'--config={DIGITS}', f'--samples={tmp_path}')
  assert folder['metrics'] == pytest.approx(record['metrics'], rel=1e-6, abs=1e-9)


def test_num_samples_caps_the_count_and_labels_reach_class_agreement(tmp_path, cache,
                                                                     monkeypatch):
  monkeypatch.setenv('JAXGAN_CACHE', str(cache))
  images, labels = held_out_digits()
  np.savez(tmp_path / 's.npz', samples=images, labels=labels)
  config = get_config('cgan_digits')
  record = evaluate.evaluate_samples(config, str(tmp_path / 's.npz'), ['class_agreement'], 100)
  direct = evaluators.get('class_agreement').build(config, {})(
      evaluators.Samples(transforms.to_unit_range(images[:100]), labels[:100]))
  assert record['metrics'] == pytest.approx(direct)
  assert record['protocol']['class_agreement']['num_samples'] == 100


def test_float_samples_in_minus_one_one_and_other_sizes_are_taken(tmp_path, cache, monkeypatch):
  monkeypatch.setenv('JAXGAN_CACHE', str(cache))
  images = digits_split(32, 'test')[0]  # float32 [-1, 1] at 32 px: the classifier resizes.
  np.savez(tmp_path / 's.npz', samples=images)
  config = get_config('dcgan_digits')
  record = evaluate.evaluate_samples(config, str(tmp_path / 's.npz'), ['digits_confident'])
  direct = evaluators.get('digits_confident').build(config, {})(evaluators.Samples(images))
  assert record['metrics'] == pytest.approx(direct)
  assert 'model.image_size=16' in record['protocol']['digits_confident']['note']


def run_fails(*args):
  """The tool's last stderr line, after checking that it failed with one error line."""
  run = run_tool('evaluate', *args, env={'JAX_PLATFORMS': 'cpu'})
  assert run.returncode == 1, run.stderr[-2000:]
  assert 'Traceback' not in run.stderr and not run.stdout, run.stderr[-3000:]
  last = [line for line in run.stderr.splitlines() if line.strip()][-1]
  assert last.startswith('error: '), run.stderr[-2000:]
  return last


# name -> (config, the .npz's arrays from the held-out digits' images x and labels y, error)
BAD_NPZ = {
    'no samples': (DIGITS, lambda x, y: {'images': x}, 'holds no `samples` array'),
    'int32': (DIGITS, lambda x, y: {'samples': x.astype(np.int32)},
              'must be uint8 [0, 255] or float [-1, 1], got int32'),
    'rank 3': (DIGITS, lambda x, y: {'samples': x[..., 0]},
               'must be (N, H, W, 1) images (model.channels=1), got shape (176, 16, 16)'),
    '3 channels': (DIGITS, lambda x, y: {'samples': np.repeat(x, 3, -1)},
                   'got shape (176, 16, 16, 3)'),
    'labels too short': (CGAN, lambda x, y: {'samples': x, 'labels': y[:-1]},
                         'labels must be 176 integers, one per sample, got int32 of shape (175,)'),
    'labels, unconditional': (DIGITS, lambda x, y: {'samples': x, 'labels': y},
                              'dcgan_digits is unconditional'),
    'class_agreement, no labels': (CGAN, lambda x, y: {'samples': x},
                                   "class_agreement needs the samples' conditioning labels"),
}


@pytest.mark.parametrize('case', sorted(BAD_NPZ))
def test_a_bad_npz_is_one_error_line(case, tmp_path):
  config, arrays, message = BAD_NPZ[case]
  np.savez(tmp_path / 'bad.npz', **arrays(*held_out_digits()))
  assert message in run_fails(f'--config={config}', f'--samples={tmp_path / "bad.npz"}')


@pytest.mark.parametrize('args, message', [
    ([f'--config={DIGITS}', '--samples=missing.npz'], "--samples='missing.npz' does not exist"),
    ([f'--config={DIGITS}', '--samples=x.npz', '--workdir=runs/x'],
     'Pass exactly one of --workdir'),
    (['--evals=digits_fd'], 'Pass exactly one of --workdir'),
    (['--samples=x.npz'], '--samples needs --config=FILE'),
    ([f'--config={DIGITS}', '--samples=x.npz', '--best'], '--best scores a run'),
])
def test_misused_flags_are_one_error_line(args, message):
  assert message in run_fails(*args)


@pytest.mark.parametrize('write, message', [
    (lambda p: p.write_text('not an archive'), 'is not a readable .npz'),
    (lambda p: np.savez(p, samples=held_out_digits()[0] / 255.0),
     'float samples must lie in [-1, 1] with some value below 0'),
    (lambda p: np.savez(p, samples=held_out_digits()[0][:1]), 'holds 1 sample(s): need at least 2'),
    (lambda p: np.savez(p, samples=held_out_digits()[0], labels=held_out_digits()[1] + 1),
     'labels must lie in [0, 10)'),
])
def test_unreadable_or_ambiguous_npz_is_refused(write, message, tmp_path):
  """More refusals, checked in this process (the tool prints each as one line, as above)."""
  path = tmp_path / 's.npz'
  write(path)
  with pytest.raises(ValueError) as error:
    evaluate.load_samples(str(path), get_config('cgan_digits'))
  assert message in str(error.value)


def test_a_folder_of_mixed_sizes_is_refused(tmp_path):
  Image.new('L', (16, 16)).save(tmp_path / 'a.png')
  Image.new('L', (32, 32)).save(tmp_path / 'b.png')
  with pytest.raises(ValueError, match='holds images of different sizes'):
    evaluate.load_samples(str(tmp_path), get_config('dcgan_digits'))
