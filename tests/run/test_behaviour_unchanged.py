"""The re-layout into run/, gan/ and sr/ changed no number: 20-step runs and an old checkpoint.

The fingerprints below were recorded by the code *before* the move (commit ddde7ec) with
`python tests/run/test_behaviour_unchanged.py`, which prints them. Each holds a SHA-256 over
every leaf of the final train state (parameters, statistics, optimizer states, EMA, step, key)
and over the pixels of the last sample grid (SR: comparison.png and photos_eval.md).

XLA compiles for the host processor, so a different CPU may round differently: where this
machine's processor is not the recording one, the digests are not compared and the per-field
sums are held to 1e-4 instead, and a warning in pytest's summary says so.
"""

import hashlib
import importlib
import os
import platform
import shutil
import warnings

import jax
import ml_collections
import numpy as np
import pytest
from PIL import Image

import testlib  # noqa: F401  (repository root on sys.path)

RUNS = ('dcgan_digits', 'wgan_gp_grid25', 'acgan_digits', 'srresnet_photos')
FIXTURE = os.path.join(os.path.dirname(__file__), 'fixtures', 'premove_dcgan_digits')


def cpu_model() -> str:
  """The processor's name and the vector extensions XLA:CPU compiles for."""
  try:
    with open('/proc/cpuinfo') as f:
      info = dict(l.split(':', 1) for l in f.read().split('\n\n')[0].splitlines() if ':' in l)
  except OSError:
    return platform.processor()
  info = {k.strip(): v.strip() for k, v in info.items()}
  vector = sorted(f for f in info.get('flags', '').split() if f.startswith(('avx', 'fma')))
  return f"{info.get('model name', '?')} {' '.join(vector)}"


def short_config(name: str) -> ml_collections.ConfigDict:
  config = importlib.import_module(f'configs.{name}').get_config()
  config.num_steps = 20
  config.log_every = 10
  config.checkpoint_every = 20
  if config.get('task', 'gan') == 'gan':
    config.sample_every = 20
    config.evals = ml_collections.ConfigDict()
    config.best_metric = ''
  return config


def train(config, workdir):
  from jaxgan import main
  return main.TRAINERS[config.get('task', 'gan')](config, workdir)


def state_fingerprint(state) -> dict:
  """{'sha256': digest over every leaf in path order, field: float64 sum of its leaves}."""
  digest, sums = hashlib.sha256(), {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]:
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
      leaf = jax.random.key_data(leaf)
    array = np.asarray(jax.device_get(leaf))
    digest.update(jax.tree_util.keystr(path).encode() + array.tobytes())
    field = jax.tree_util.keystr(path[:1]).lstrip('.')
    if np.issubdtype(array.dtype, np.floating):
      sums[field] = sums.get(field, 0.0) + float(np.sum(array, dtype=np.float64))
  return {'sha256': digest.hexdigest(), **sums}


def files_fingerprint(workdir: str, config) -> str:
  """SHA-256 over the pixels of the last sample grid (SR: comparison.png and the table)."""
  digest = hashlib.sha256()
  if config.get('task', 'gan') == 'sr':
    names = ['comparison.png']
    with open(os.path.join(workdir, 'photos_eval.md'), 'rb') as f:
      digest.update(f.read())
  else:
    names = [os.path.join('samples', f'step_{config.num_steps:07d}.png')]
  for name in names:
    digest.update(np.asarray(Image.open(os.path.join(workdir, name))).tobytes())
  return digest.hexdigest()


def fingerprint(name: str, workdir: str) -> dict:
  config = short_config(name)
  state = train(config, workdir)
  return {'state': state_fingerprint(state), 'files': files_fingerprint(workdir, config)}


RECORDED_CPU = 'AMD EPYC avx avx2 avx512_bf16 avx512_bitalg avx512_vbmi2 avx512_vnni avx512_vpopcntdq avx512bw avx512cd avx512dq avx512f avx512ifma avx512vbmi avx512vl fma'
RECORDED = {
    'dcgan_digits': {'state': {'sha256': '02e1cc850f36d4618946227279e6f90c4a1a49ac444a7eca06190134be79f164', 'g_params': 77.60045122005735, 'g_stats': 13.475651958125582, 'd_params': 52.31321382540297, 'g_opt': 121.75964835068436, 'd_opt': 149.12210936639923, 'ema_params': 93.53100795140853}, 'files': 'fff8d7ca0b25e4ebf51b21c7a1810182751769c1a22a091279343cb1135bc11c'},
    'wgan_gp_grid25': {'state': {'sha256': '49b2fd21d946341ab39c7795dba2e2759393f732f324ce6867559118a89f549b', 'g_params': -131.56417531159002, 'd_params': 237.6162593233422, 'g_opt': -2059.5585986059355, 'd_opt': -162.00670664538774, 'ema_params': 48.26954214779615}, 'files': 'f52ab4f0d444dce7a06b766bbf73a969b3bef3d4e7d7d304b0bb2bd97e4ca1fe'},
    'acgan_digits': {'state': {'sha256': 'f85f02dda2d7fd747e236258584f2e70bc3768ec4ac136e6f226c90c644dc697', 'g_params': 58.498246024858084, 'g_stats': 11.930284258598476, 'd_params': 62.3900218384906, 'g_opt': 112.77761964254601, 'd_opt': 188.67732950482548, 'ema_params': 92.6002882617843}, 'files': 'd5ba3f504b05c1ce4be11588dbeff76c133a889aaad5dc122b0eeae7013ff879'},
    'srresnet_photos': {'state': {'sha256': 'a6b165ca610f2ec297cfe01d9222f49d4779f58819f9133321fa5a9f500f764f', 'g_params': 525.4263773603327, 'g_stats': 1822.276992793195, 'g_opt': 0.10733956960050924}, 'files': '5b685e4c7b436d3a6b5b09f6983235c2decad2797a899333a31326edfaa703e0'},
}
RECORDED_FIXTURE = {'sha256': '5b3f87a517aa955b78941b2beab858bf929ad09b8ab5ae658e28d0c9ce1288a5', 'g_params': 21.02248959623853, 'g_stats': 15.856926377327909, 'd_params': 13.424416084919997, 'g_opt': 11.169442883448774, 'd_opt': 11.426503316905187, 'ema_params': 21.762585730798264}


def check_against(got: dict, recorded: dict) -> None:
  if cpu_model() == RECORDED_CPU:
    assert got == recorded
  else:  # Another processor: the same computation to float tolerance, and the report says so.
    warnings.warn(f'not the recording processor ({cpu_model()!r}): the SHA-256 digests are not '
                  'compared, only the per-field sums to 1e-4')
    for field, value in recorded['state'].items():
      if field != 'sha256':
        np.testing.assert_allclose(got['state'][field], value, rtol=1e-4, atol=1e-4,
                                   err_msg=field)


@pytest.mark.parametrize('name', RUNS)
def test_twenty_steps_match_the_recording(name, tmp_path):
  check_against(fingerprint(name, str(tmp_path / name)), RECORDED[name])


def test_a_checkpoint_written_before_the_move_restores_and_resumes(tmp_path):
  from jaxgan.gan import generate
  from jaxgan.run.workdir import load_config
  workdir = str(tmp_path / 'run')
  shutil.copytree(FIXTURE, workdir)
  _, _, state, _ = generate.load_run(workdir)
  assert state_fingerprint(state) == RECORDED_FIXTURE  # Exactly the saved bytes.
  config = load_config(workdir)
  config.num_steps += 2
  config.allow_config_change = True
  assert int(train(config, workdir).step) == config.num_steps


def write_fixture() -> dict:
  """The pre-move checkpoint: a tiny dcgan_digits run of 4 steps (config.json + checkpoint)."""
  config = testlib.tiny(importlib.import_module('configs.dcgan_digits').get_config())
  config.evals = ml_collections.ConfigDict()
  config.best_metric = ''
  config.optim.lr_schedule = 'constant'
  shutil.rmtree(FIXTURE, ignore_errors=True)
  state = train(config, FIXTURE)
  for name in os.listdir(FIXTURE):
    if name not in ('config.json', 'checkpoints'):
      path = os.path.join(FIXTURE, name)
      shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
  return state_fingerprint(state)


if __name__ == '__main__':  # Records the values above (run with the code to compare against).
  import tempfile
  print("RECORDED_CPU =", repr(cpu_model()))
  with tempfile.TemporaryDirectory() as tmp:
    print('RECORDED = {')
    for name in RUNS:
      print(f'    {name!r}: {fingerprint(name, os.path.join(tmp, name))!r},')
    print('}')
  print('RECORDED_FIXTURE =', repr(write_fixture()))
