"""The run record: what ran (resolved config, library versions, devices, code commit), and which
config changes a resumed run accepts.

A resumed run must train the model its checkpoint holds on the data it was trained on. Fields
are in three groups: bookkeeping that never changes the computation (free to change), tunables
that change it in a well-defined way (allowed with --config.allow_config_change=True), and
everything else (model, data, losses, batch, seed), which is refused.
"""

import datetime
import importlib.metadata
import json
import os
import platform
import subprocess

import jax
import ml_collections
from absl import logging

from jaxgan.run import workdir as workdir_lib

FREE_FIELDS = ('name', 'num_steps', 'log_every', 'sample_every', 'eval_every',
               'checkpoint_every', 'keep_checkpoints', 'num_grid_samples',
               'allow_config_change', 'nonfinite',
               'rollback_lr_factor', 'debug_nan_step', 'optim.lr_scale', 'param_sharding',
               'best_metric', 'steps_per_call', 'device_prefetch',
               'mesh.', 'evals.', 'data.num_workers', 'data.tfds_dir', 'data.path',
               'data.bad_images', 'model.ema_standing_batches',
               'model.conv_impl',  # Every choice computes the same function of the same params.
               'model.r3gan_group_conv',  # Likewise.
               'seed_batching',  # Likewise: each member's own step, looped or vmapped.
               # SR: what is scored and where the pre-trained generator came from (read at
               # step 0 only).
               'sr.eval_photos', 'sr.init_from')
TUNABLE_FIELDS = ('optim.g_lr', 'optim.d_lr', 'optim.b1', 'optim.b2', 'loss.penalty_weight',
                  'loss.clip_value', 'loss.real_targets', 'loss.fake_targets',
                  'loss.one_sided', 'loss.flip_prob', 'loss.aux_weight_', 'model.ema_decay',
                  'data.flip', 'data.diffaugment',
                  # Schedules' ends and horizon (their shapes, which may hold optimizer state,
                  # are fixed; jaxgan.gan.schedules).
                  'schedule_images', 'optim.lr_end_factor', 'optim.b2_end',
                  'loss.penalty_schedule', 'loss.penalty_weight_end', 'data.diffaugment_p',
                  'data.diffaugment_p_', 'model.ema_half_life_',
                  # SR: the learning-rate drop and the perceptual loss's weights file.
                  'optim.lr_drop_step', 'sr.vgg_weights')
# Everything else is fixed, e.g. sr.content_loss, sr.adversarial_weight (it decides whether a
# discriminator exists), sr.vgg_pre_activation, model.scale.
PACKAGES = ('jax', 'jaxlib', 'flax', 'optax', 'orbax-checkpoint', 'grain', 'numpy',
            'ml_collections', 'clu')


class ConfigChangeError(ValueError):
  """A resumed run whose config differs from its checkpoint's in a way it may not."""


def flat(tree: dict, prefix: str = '') -> dict:
  """{'a.b': value} of a nested dict, JSON-normalised (tuples become lists)."""
  out = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      out |= flat(value, f'{prefix}{key}.')
    else:
      out[prefix + key] = json.loads(json.dumps(value))
  return out


def _in(field: str, group) -> bool:
  return any(field == g or (g.endswith(('.', '_')) and field.startswith(g)) for g in group)


def check_resume(saved: dict, config: ml_collections.ConfigDict, workdir: str) -> None:
  """Raises ConfigChangeError naming every field that differs from the checkpoint's config."""
  old, new = flat(saved), flat(config.to_dict())
  changed = {k: (old[k], new[k]) for k in old.keys() & new.keys()
             if old[k] != new[k] and not _in(k, FREE_FIELDS)}
  for k in sorted(old.keys() ^ new.keys()):  # Fields added or removed by a code change.
    logging.warning('Config field %s is only in the %s config.', k,
                    'checkpoint' if k in old else 'new')
  fixed = sorted(k for k in changed if not _in(k, TUNABLE_FIELDS))
  tunable = sorted(k for k in changed if _in(k, TUNABLE_FIELDS))

  def listed(keys):
    return ', '.join(f'{k}: {changed[k][0]!r} -> {changed[k][1]!r}' for k in keys)
  if fixed:
    raise ConfigChangeError(
        f'{workdir!r} holds a checkpoint of a different model or data: {listed(fixed)}. Use a '
        f'fresh --workdir, or set these fields back to resume.')
  if tunable and not config.get('allow_config_change', False):
    raise ConfigChangeError(
        f'The config differs from the checkpoint\'s in {listed(tunable)}. To resume with '
        f'the change, add --config.allow_config_change=True.')
  if tunable:
    logging.warning('Resuming with changed fields: %s', listed(tunable))


def resume_config(config: ml_collections.ConfigDict, ckpt, workdir: str):
  """`config`, checked against the latest checkpoint's, with its saved lr_scale (run state)."""
  if ckpt.latest_step() is None:
    return config
  saved = ckpt.restore_config()
  check_resume(saved, config, workdir)
  config = config.copy_and_resolve_references()  # Rollbacks only ever lower lr_scale.
  config.optim.lr_scale = min(saved.get('optim', {}).get('lr_scale', 1.0), config.optim.lr_scale)
  return config


def git_commit(path: str) -> str | None:
  """HEAD of the repository holding `path` ('+dirty' if tracked files changed), or None."""
  try:
    run = lambda *args: subprocess.run(['git', '-C', path, *args], capture_output=True,
                                       text=True, timeout=10, check=True).stdout.strip()
    return run('rev-parse', 'HEAD') + ('+dirty' if run('status', '--porcelain',
                                                       '--untracked-files=no') else '')
  except (OSError, subprocess.SubprocessError):
    return None


def run_info(start_step: int) -> dict:
  def version(package):
    try:
      return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
      return None
  return dict(
      started=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
      start_step=start_step, python=platform.python_version(), host=platform.node(),
      versions={p: version(p) for p in PACKAGES},
      process_count=jax.process_count(), process_index=jax.process_index(),
      devices=[str(d) for d in jax.devices()], device_kind=jax.devices()[0].device_kind,
      git_commit=git_commit(os.path.dirname(os.path.abspath(__file__))))


def write_run_info(workdir: str, start_step: int) -> dict:
  """Appends this start (a fresh run or a resume) to workdir/run_info.json; returns it."""
  path = workdir_lib.path(workdir) / 'run_info.json'
  starts = []
  if path.exists():
    starts = json.loads(path.read_text()).get('starts', [])
  info = run_info(start_step)
  # A temporary file, then a rename: a reader never sees half a file.
  tmp = path.with_name(path.name + '.tmp')
  tmp.write_text(json.dumps({'starts': starts + [info]}, indent=2))
  tmp.replace(path)
  return info
