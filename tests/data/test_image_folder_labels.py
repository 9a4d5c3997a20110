"""Image folders in torchvision ImageFolder's layout are labelled data; data.num_workers threads.

Class subfolders give the labels (sorted names are classes 0..K-1) and a conditional model
trains on them; images directly in the folder stay unlabelled. The pipeline decodes in
data.num_workers grain threads, 0 in the calling thread, the same batches and resumable
iterator state for any count (jaxgan.data.pipeline.make_iterator says why not processes).
"""

import os
import threading

import ml_collections
import numpy as np
import pytest
from PIL import Image

from testlib import get_config, restore, run_tool, tiny
from jaxgan.data import digits, pipeline, sources, transforms
from jaxgan.gan import class_conditional, train

CLASSES = {3: 'three', 5: 'five', 7: 'seven'}  # Sorted: five=0, seven=1, three=2.
PER_CLASS = 20


def write_digits(root, per_class=PER_CLASS, layout='classes'):
  """PNGs of the embedded digits at 16 px; {path: digit}. layout 'classes': one subfolder per
  digit, named in words; 'flat': all in root."""
  images, labels = digits.digits_images(16)
  written = {}
  for digit, name in CLASSES.items():
    folder = os.path.join(root, name if layout == 'classes' else '')
    os.makedirs(folder, exist_ok=True)
    for j, i in enumerate(np.flatnonzero(labels == digit)[:per_class]):
      path = os.path.join(folder, f'{name}_{j:02d}.png')
      Image.fromarray(transforms.to_uint8(images[i])[..., 0]).save(path)
      written[path] = digit
  return written


def folder_config(path, model='cgan_digits', steps=4):
  config = tiny(get_config(model), steps)
  config.data.name, config.data.path = 'folder', str(path)
  config.model.num_classes = len(CLASSES)
  config.evals = ml_collections.ConfigDict()
  config.best_metric = ''
  return config


def digit_of(source, i, written):
  """The digit whose PNG source[i] decoded (images are matched by content)."""
  image = source[i]['image']
  for path, digit in written.items():
    if np.array_equal(sources.load_image(path, 1), transforms.to_uint8(image)):
      return digit
  raise AssertionError(f'example {i} matches no written image')


def test_class_subfolders_are_sorted_labels(tmp_path):
  written = write_digits(tmp_path)
  source = sources.build_source(folder_config(tmp_path))
  assert len(source) == 3 * PER_CLASS
  assert source.num_classes == 3 and tuple(source.class_names) == ('five', 'seven', 'three')
  label_of = {5: 0, 7: 1, 3: 2}
  for i in range(0, len(source), 7):
    example = source[i]
    assert example['label'].dtype == np.int32
    assert example['label'] == label_of[digit_of(source, i, written)]
  labels = np.array([source[i]['label'] for i in range(len(source))])
  np.testing.assert_array_equal(np.bincount(labels), [PER_CLASS] * 3)


def test_images_in_the_root_stay_unlabelled(tmp_path):
  write_digits(tmp_path / 'flat', layout='flat')
  write_digits(tmp_path / 'mixed', per_class=2)
  write_digits(tmp_path / 'mixed', per_class=2, layout='flat')  # Root images: unlabelled.
  for name, size in (('flat', 3 * PER_CLASS), ('mixed', 12)):
    source = sources.build_source(folder_config(tmp_path / name))
    assert len(source) == size and source.num_classes == 0 and tuple(source.class_names) == ()
    assert {int(source[i]['label']) for i in range(size)} == {0}
  with pytest.raises(ValueError, match='num_classes=3 but .* has 0 classes'):
    class_conditional.check_data(folder_config(tmp_path / 'flat'), source)


def test_a_skipped_unreadable_file_brings_its_replacements_label(tmp_path):
  write_digits(tmp_path, per_class=2)
  (tmp_path / 'five' / 'five_99.png').write_bytes(b'not a png')  # Last of class 0.
  source = sources.build_source(folder_config(tmp_path))
  files = sources.list_images(str(tmp_path))
  bad = files.index(str(tmp_path / 'five' / 'five_99.png'))
  assert int(source[bad]['label']) == 1  # The next readable file is seven_00.png.
  np.testing.assert_array_equal(source[bad]['image'], source[bad + 1]['image'])


@pytest.mark.slow
def test_cgan_trains_on_a_labelled_folder_and_samples_its_classes(tmp_path):
  write_digits(tmp_path / 'images')
  config = folder_config(tmp_path / 'images')
  workdir = str(tmp_path / 'run')
  state = train.train_and_evaluate(config, workdir)
  assert int(state.step) == 4
  assert int(restore(workdir).step) == 4
  assert class_conditional.class_names(config) == ('five', 'seven', 'three')
  out = str(tmp_path / 'x.npz')
  result = run_tool('sample', f'--workdir={workdir}', '--labels=0,2', f'--out={out}')
  assert result.returncode == 0, result.stderr[-3000:]
  with np.load(out) as f:
    np.testing.assert_array_equal(f['labels'], [0, 2])
    assert f['samples'].shape == (2, 16, 16, 1) and f['samples'].dtype == np.uint8


def test_wrong_num_classes_for_a_labelled_folder_is_refused(tmp_path):
  write_digits(tmp_path, per_class=2)
  config = folder_config(tmp_path)
  config.model.num_classes = 10
  with pytest.raises(ValueError, match='num_classes=3'):
    class_conditional.check_data(config, sources.build_source(config))


# data.num_workers ----------------------------------------------------------------------------

def recording_source(size=64):
  """A source that records which threads decode it."""
  threads = set()

  def get(i):
    threads.add(threading.current_thread().name)
    return {'image': np.full((2, 2, 1), i, np.float32), 'label': np.int32(i % 3)}
  return sources.Source(get, size), threads


def batches(iterator, n):
  return [next(iterator)['image'] for _ in range(n)]


def test_num_workers_threads_same_batches_and_resumable_state():
  config = tiny(get_config('dcgan_digits'))
  config.optim.n_critic = 2

  def iterator(workers, source=None):
    config.data.num_workers = workers
    source = source or recording_source()[0]
    return pipeline.make_iterator(config, pipeline.build_dataset(config, source))

  # 0: decoded in the calling thread, on demand; N: by N grain threads ahead of the step.
  source, threads = recording_source()
  first = batches(iterator(0, source), 3)
  assert threads == {threading.current_thread().name}
  source, threads = recording_source()
  assert all(np.array_equal(a, b) for a, b in zip(first, batches(iterator(2, source), 3)))
  assert threads and threading.current_thread().name not in threads

  # Uninterrupted 6 batches == 3 batches, state saved, restored into another thread count.
  reference = batches(iterator(0), 6)
  for saved_with, resumed_with in ((2, 0), (0, 3)):
    it = iterator(saved_with)
    assert all(np.array_equal(a, b) for a, b in zip(batches(it, 3), reference[:3]))
    state = it.get_state()
    resumed = iterator(resumed_with)
    resumed.set_state(state)
    assert all(np.array_equal(a, b) for a, b in zip(batches(resumed, 3), reference[3:]))
  with pytest.raises(ValueError, match='num_workers=-1'):
    iterator(-1)
