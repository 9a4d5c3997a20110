"""Fashion-MNIST: the IDX reader on files written here, the source, its errors, resume.

The IDX files of these tests are written by the tests (an independent writer of the format);
the real images come from the fixture in tests/data/fixtures/fashion_mnist (MIT, see LICENSE).
"""

import gzip
import os
import signal

import numpy as np
import pytest
from PIL import Image

from testlib import assert_same_run, get_config, restore, tiny
from jaxgan.data import fashion_mnist, pipeline, sources
from jaxgan.data.errors import DataError
from jaxgan.gan import train
from jaxgan.run import preemption

FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures', 'fashion_mnist')


def write_idx(path, array, compress=True, magic=None):
  array = np.asarray(array, np.uint8)
  header = (magic or bytes([0, 0, 0x08, array.ndim])) + b''.join(
      int(d).to_bytes(4, 'big') for d in array.shape)
  data = header + array.tobytes()
  with (gzip.open if compress else open)(path, 'wb') as f:
    f.write(data)


def make_folder(folder, n_train=12, n_test=6, compress=True, seed=0):
  rng = np.random.default_rng(seed)
  os.makedirs(folder, exist_ok=True)
  arrays = {}
  for split, n in (('train', n_train), ('test', n_test)):
    images = rng.integers(0, 256, (n, 28, 28), np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10
    suffix = '.gz' if compress else ''
    write_idx(os.path.join(folder, fashion_mnist.FILES[split][0] + suffix), images, compress)
    write_idx(os.path.join(folder, fashion_mnist.FILES[split][1] + suffix), labels, compress)
    arrays[split] = (images, labels)
  return arrays


def config_for(folder, split='train', size=32):
  config = get_config('dcgan_fashion')
  config.data.path, config.data.split, config.model.image_size = str(folder), split, size
  return config


@pytest.fixture(autouse=True)
def fresh_cache():
  """Each test reads its own files: the loaders' in-process caches must not answer instead."""
  fashion_mnist.load_idx.cache_clear()
  fashion_mnist.prepared.cache_clear()
  yield


@pytest.mark.parametrize('compress', [True, False], ids=['gzip', 'raw'])
def test_reader_returns_what_was_written(tmp_path, compress):
  written = make_folder(tmp_path, compress=compress)
  for split in ('train', 'test'):
    images, labels = fashion_mnist.load_idx(str(tmp_path), split)
    np.testing.assert_array_equal(images, written[split][0])
    np.testing.assert_array_equal(labels, written[split][1])
    assert images.dtype == np.uint8 and labels.dtype == np.int32


def test_source_prepares_32px_as_pil_bilinear_with_labels_and_names(tmp_path):
  written = make_folder(tmp_path)
  source = sources.build_source(config_for(tmp_path, 'test'))
  assert len(source) == 6 and source.num_classes == 10
  assert source.class_names[0] == 'T-shirt/top' and source.class_names[9] == 'Ankle boot'
  image, label = written['test'][0][3], written['test'][1][3]
  oracle = np.asarray(Image.fromarray(image).resize((32, 32), Image.BILINEAR))
  np.testing.assert_allclose(source[3]['image'][..., 0], oracle / 127.5 - 1.0, atol=1e-6)
  assert source[3]['label'] == label
  assert source[3]['image'].shape == (32, 32, 1) and source[3]['image'].dtype == np.float32
  # At the native size the pixels are the file's.
  native = sources.build_source(config_for(tmp_path, 'test', 28))
  np.testing.assert_allclose(native[3]['image'][..., 0], image / 127.5 - 1.0, atol=1e-6)


def test_real_fixture_has_both_splits_and_every_class():
  for split, n in (('train', 1_000), ('test', 2_000)):
    source = sources.build_source(config_for(FIXTURE, split))
    labels = np.array([source[i]['label'] for i in range(len(source))])
    assert len(source) == n
    np.testing.assert_array_equal(np.bincount(labels), [n // 10] * 10)


def test_missing_data_names_both_ways_to_get_it(tmp_path):
  with pytest.raises(DataError) as error:
    sources.build_source(config_for(tmp_path / 'nowhere'))
  message = str(error.value)
  assert 'apt-get install dataset-fashion-mnist' in message and 'tfds build fashion_mnist' in message
  assert '\n' not in message


def test_truncated_file_is_named(tmp_path):
  make_folder(tmp_path)
  path = tmp_path / 'train-images-idx3-ubyte.gz'
  raw = gzip.decompress(path.read_bytes())
  path.write_bytes(gzip.compress(raw[:-100]))
  with pytest.raises(DataError, match='train-images-idx3-ubyte.gz is truncated'):
    sources.build_source(config_for(tmp_path))
  path.write_bytes(path.read_bytes()[:50])  # A cut gzip stream: unreadable, also named.
  with pytest.raises(DataError, match='train-images-idx3-ubyte.gz'):
    sources.build_source(config_for(tmp_path))


def test_wrong_magic_number_is_named(tmp_path):
  make_folder(tmp_path)
  write_idx(tmp_path / 'train-labels-idx1-ubyte.gz', np.zeros(12), magic=b'\x00\x00\x0d\x01')
  with pytest.raises(DataError, match=r'train-labels-idx1-ubyte.gz is not an IDX file.*'
                                      r'magic number is 00000d01, expected 00000801'):
    sources.build_source(config_for(tmp_path))


def test_images_and_labels_that_do_not_match_are_refused(tmp_path):
  make_folder(tmp_path)
  write_idx(tmp_path / 'train-labels-idx1-ubyte.gz', np.zeros(5))
  with pytest.raises(DataError, match='12 images but .* 5 labels'):
    sources.build_source(config_for(tmp_path))


def test_rgb_is_refused_with_the_field_to_set(tmp_path):
  make_folder(tmp_path)
  config = config_for(tmp_path)
  config.model.channels = 3
  with pytest.raises(DataError, match='model.channels=1'):
    sources.build_source(config)


def test_batches_follow_the_seeded_shuffle(tmp_path):
  make_folder(tmp_path, n_train=40)
  config = config_for(tmp_path)
  config.batch_size = 8
  source = sources.build_source(config)
  first = [pipeline.build_dataset(config, source)[i]['label'] for i in range(2)]
  again = [pipeline.build_dataset(config, source)[i]['label'] for i in range(2)]
  np.testing.assert_array_equal(first, again)
  config.seed = 1
  other = pipeline.build_dataset(config, source)[0]['label']
  assert not np.array_equal(first[0], other)
  assert first[0].shape == (1, 8)


@pytest.mark.slow
def test_resume_on_fashion_is_bit_identical(tmp_path, monkeypatch):
  """dcgan_fashion's own settings (32 px through 28 px, linear decay to 0 at num_steps, 2 steps
  per call, no flips) on the real fixture: stopped by SIGTERM after step 4 and resumed, the run
  ends bit-identical to an uninterrupted one."""
  def config():
    c = tiny(config_for(FIXTURE), 8)
    c.model.image_size = 32
    c.steps_per_call, c.log_every, c.sample_every, c.checkpoint_every = 2, 2, 4, 8
    c.evals = type(c.evals)()
    c.best_metric = ''
    return c
  straight, resumed = str(tmp_path / 'straight'), str(tmp_path / 'resumed')
  train.train_and_evaluate(config(), straight)
  write_samples = train.write_samples

  def stop_after_first_grid(*args, **kwargs):
    path = write_samples(*args, **kwargs)
    monkeypatch.setattr(train, 'write_samples', write_samples)
    os.kill(os.getpid(), signal.SIGTERM)  # The loop saves after this step and stops.
    return path
  monkeypatch.setattr(train, 'write_samples', stop_after_first_grid)
  with pytest.raises(preemption.Preempted):
    train.train_and_evaluate(config(), resumed)
  assert int(restore(resumed).step) == 4
  train.train_and_evaluate(config(), resumed)
  assert_same_run(straight, resumed, 8)
