"""A workdir given as a gs:// URL: training, the report and sampling read and write the bucket,
and nothing lands in the cwd (os.path.abspath once made gs://b/x a local <cwd>/gs:/b/x).

There is no cloud account here, so the bucket is a local folder, faked where a gs:// path leaves
Python code that runs unchanged on a real bucket (jaxgan, Orbax's path handling, clu):
- etils.epath: gs:// paths get an os backend that maps gs://<bucket>/... into the folder. Every
  file jaxgan and Orbax write outside TensorStore goes through it. (epath takes its tf backend
  for gs:// whenever TensorFlow is installed, before its backend table, so that check is off.)
- Orbax: array data goes to TensorStore, with the kvstore spec that
  gcs_utils.get_kvstore_for_gcs builds ({'driver': 'gcs', ...}); it gets a 'file' spec on the
  folder. gcs_utils.get_bucket (google-cloud-storage, asked when listing steps whether the bucket
  has a hierarchical namespace) returns a bucket without one.
- Event files: clu hands the URL to tf.summary.create_file_writer, whose writes go through TF's
  C++ GCS file system (no Python seam below it); it gets the folder's path instead.
Orbax still sees a gs:// path, so it saves as on GCS: in place, with commit_success.txt.
"""

import contextlib
import os
import subprocess
import sys
from unittest import mock

from etils.epath import backend, gpath

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
URL = 'gs://bucket/runs/x'


class FakeGcsBackend(backend._OsPathBackend):  # pylint: disable=protected-access
  """The os backend, with gs://<bucket>/<path> at <root>/<bucket>/<path>."""

  def __init__(self, root: str):
    self.root = root

  def local(self, path) -> str:
    path = os.fspath(path)
    return os.path.join(self.root, path.removeprefix('gs://')) if path.startswith('gs://') else path

  def url(self, path: str) -> str:
    return 'gs://' + os.path.relpath(path, self.root)

  def open(self, path, mode):
    if 'w' in mode or 'a' in mode:  # A bucket has no folders to create first.
      os.makedirs(os.path.dirname(self.local(path)), exist_ok=True)
    return super().open(self.local(path), mode)

  def exists(self, path):
    return super().exists(self.local(path))

  def isdir(self, path):
    return super().isdir(self.local(path))

  def listdir(self, path):
    return super().listdir(self.local(path))

  def glob(self, path):
    return [self.url(p) for p in super().glob(self.local(path))]

  def walk(self, top, *, top_down=True, on_error=None):
    for folder, dirs, files in super().walk(self.local(top), top_down=top_down,
                                            on_error=on_error):
      yield self.url(os.fspath(folder)), dirs, files

  def makedirs(self, path, *, exist_ok=False, mode=None):
    return super().makedirs(self.local(path), exist_ok=exist_ok, mode=mode)

  def mkdir(self, path, *, exist_ok=False, mode=None):
    return super().mkdir(self.local(path), exist_ok=exist_ok, mode=mode)

  def rmtree(self, path):
    return super().rmtree(self.local(path))

  def remove(self, path):
    return super().remove(self.local(path))

  def rename(self, path, dst):
    return super().rename(self.local(path), self.local(dst))

  def replace(self, path, dst):
    return super().replace(self.local(path), self.local(dst))

  def copy(self, path, dst, overwrite):
    return super().copy(self.local(path), self.local(dst), overwrite)

  def stat(self, path):
    return super().stat(self.local(path))


class _BucketWithoutHierarchicalNamespace:
  hierarchical_namespace_enabled = False


@contextlib.contextmanager
def fake_gcs(root: str):
  """gs://<bucket>/<path> stored at <root>/<bucket>/<path> (see the module docstring)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from orbax.checkpoint._src.path import gcs_utils  # pylint: disable=g-import-not-at-top
  fake = FakeGcsBackend(root)

  def kvstore(path):
    bucket, key = gcs_utils.parse_gcs_path(path, add_trailing_slash=False)
    return {'driver': 'file', 'path': os.path.join(root, bucket, key)}

  create_file_writer = tf.summary.create_file_writer
  with contextlib.ExitStack() as stack:
    stack.enter_context(mock.patch.dict(gpath._PREFIX_TO_BACKEND, {'gs': fake}))  # pylint: disable=protected-access
    stack.enter_context(mock.patch.object(gpath, '_is_tf_installed', lambda: False))
    stack.enter_context(mock.patch.object(gcs_utils, 'get_kvstore_for_gcs', kvstore))
    stack.enter_context(mock.patch.object(
        gcs_utils, 'get_bucket', lambda name: _BucketWithoutHierarchicalNamespace()))
    stack.enter_context(mock.patch.object(
        tf.summary, 'create_file_writer',
        lambda logdir, *a, **k: create_file_writer(fake.local(logdir), *a, **k)))
    yield


# `python -c LAUNCH <tool> <flags>`: the tool's command line, under fake_gcs(FAKE_GCS_ROOT).
LAUNCH = '''
import os, runpy, sys
import test_cloud_workdir as t
sys.argv = ['jaxgan.' + sys.argv[1]] + sys.argv[2:]
with t.fake_gcs(os.environ['FAKE_GCS_ROOT']):
  runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)
'''


def run_tool(cwd, root, tool: str, *args):
  env = os.environ | {'FAKE_GCS_ROOT': str(root), 'PYTHONPATH': os.pathsep.join(
      [REPO, os.path.dirname(os.path.abspath(__file__)), os.environ.get('PYTHONPATH', '')])}
  run = subprocess.run([sys.executable, '-c', LAUNCH, tool, *args], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=600)
  assert run.returncode == 0, run.stderr[-3000:]
  return run


def test_train_report_and_sample_on_a_gs_workdir(tmp_path, monkeypatch):
  root, cwd = tmp_path / 'storage', tmp_path / 'cwd'
  root.mkdir()
  cwd.mkdir()
  monkeypatch.chdir(cwd)  # Relative paths, as os.path.abspath would have made, land here.
  # launch/tpu_vm.sh's command, on testlib.tiny's dcgan_digits.
  run_tool(cwd, root, 'main', f'--config={REPO}/configs/dcgan_digits.py', f'--workdir={URL}',
           '--config.num_steps=4', '--config.steps_per_call=1', '--config.batch_size=8',
           '--config.log_every=2', '--config.sample_every=4', '--config.checkpoint_every=4',
           '--config.num_grid_samples=16', '--config.model.image_size=16',
           '--config.model.g_features=8', '--config.model.d_features=8')
  sampled = run_tool(cwd, root, 'sample', f'--workdir={URL}', '--num=16',
                     '--out=gs://bucket/out/grid.png')

  assert not list(cwd.iterdir())  # No <cwd>/gs:/..., no local runs/.
  run = root / 'bucket' / 'runs' / 'x'
  for name in ('config.json', 'run_info.json', 'report.md', 'report/losses.png',
               'samples/real.png', 'samples/step_0000004.png'):
    assert (run / name).is_file(), name
  assert list(run.glob('events.out.tfevents.*'))
  # Orbax saved as on GCS (in place, then commit_success.txt), arrays through TensorStore.
  for step in (run / 'checkpoints' / '4', run / 'best' / '4'):  # best/: config.best_metric.
    assert (step / 'commit_success.txt').is_file()
    assert [p for p in (step / 'state').rglob('*') if p.is_file() and p.stat().st_size > 1000]
  assert (root / 'bucket' / 'out' / 'grid.png').is_file()
  assert 'step 4' in sampled.stdout

  from jaxgan import report  # pylint: disable=g-import-not-at-top
  with fake_gcs(str(root)):  # The event files read back from the bucket.
    assert report.read_scalars(URL)['train_d_loss'][0].tolist() == [2, 4]
