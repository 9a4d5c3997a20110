"""A one-page report of a run: losses, every eval metric over steps, sample grids over time.

  python -m jaxgan.report --workdir=runs/dcgan_digits

Reads the run's TensorBoard event files and `samples/step_*.png`, and writes
`<workdir>/report.md` with its plots in `<workdir>/report/`: `real_vs_generated.png` (a grid of
real training images beside the last sample grid), `losses.png` (D and G losses),
`precision_recall.png` (precision, recall, density and coverage over the steps, when the `prdc`
evaluator ran), `eval_metrics.png` (one panel per metric, EMA and raw generator together) and
`samples_over_time.png`, plus a table of the last and best value of every metric and the steps
where the mode-collapse monitor raised a warning.
"""

from __future__ import annotations

import collections
import contextlib
import io
import math
import os
import re
import tempfile

import numpy as np
from absl import app, flags
from etils import epath
from PIL import Image

from jaxgan.gan import evaluators
from jaxgan.gan.train import REAL_GRID
from jaxgan.run import cli, members
from jaxgan.run import workdir as workdir_lib

LOSS_TAGS = ('train_d_loss', 'train_g_loss')
PRDC_METRICS = ('precision', 'recall', 'density', 'coverage')
COLLAPSE_TAG = 'eval_collapse_warning'
MAX_GRIDS = 6  # Sample grids shown over time, evenly spaced, always including the last.

Series = dict[str, tuple[np.ndarray, np.ndarray]]  # tag -> (steps, values), sorted by step


def _mtime(path: epath.Path) -> float:
  # Local files: below the second, as before (epath's stat rounds to whole seconds).
  return path.stat().mtime if workdir_lib.is_url(path) else os.path.getmtime(path)


@contextlib.contextmanager
def _local_files(paths: list[epath.Path]):
  """Local paths TensorBoard's reader opens: local files as they are, a cloud workdir's copied
  through epath (TensorBoard's own file layer knows fewer schemes than epath)."""
  if not any(workdir_lib.is_url(p) for p in paths):
    yield [os.fspath(p) for p in paths]
    return
  with tempfile.TemporaryDirectory() as tmp:
    local = []
    for i, path in enumerate(paths):
      local.append(os.path.join(tmp, f'{i}.{path.name}'))
      with open(local[-1], 'wb') as f:
        f.write(path.read_bytes())
    yield local


def _read_image(path: epath.PathLike) -> np.ndarray:
  with Image.open(io.BytesIO(epath.Path(path).read_bytes())) as im:
    return np.asarray(im.convert('RGB'))


def _save_figure(fig, path: epath.PathLike) -> None:
  """fig as a PNG at `path`, written through epath (matplotlib writes local files only)."""
  buf = io.BytesIO()
  fig.savefig(buf, format='png')
  epath.Path(path).write_bytes(buf.getvalue())


def read_scalars(workdir: epath.PathLike) -> Series:
  """Every scalar of the run's event files, the last write winning on a repeated step."""
  from tensorboard.backend.event_processing import event_accumulator  # pylint: disable=g-import-not-at-top
  from tensorboard.util import tensor_util  # pylint: disable=g-import-not-at-top
  points = collections.defaultdict(dict)
  # A resumed run appends new event files; read them all, oldest first.
  paths = sorted(workdir_lib.path(workdir).glob('events.out.tfevents.*'), key=_mtime)
  with _local_files(paths) as local_paths:
    for path in local_paths:
      acc = event_accumulator.EventAccumulator(path, size_guidance={'tensors': 0, 'scalars': 0})
      acc.Reload()
      for tag in acc.Tags()['tensors']:
        if acc.SummaryMetadata(tag).plugin_data.plugin_name != 'scalars':
          continue
        for e in acc.Tensors(tag):
          points[tag][e.step] = float(tensor_util.make_ndarray(e.tensor_proto))
      for tag in acc.Tags()['scalars']:
        for e in acc.Scalars(tag):
          points[tag][e.step] = e.value
  return {tag: (np.array(sorted(p)), np.array([p[s] for s in sorted(p)]))
          for tag, p in points.items()}


def _pyplot():
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  return plt


def plot_losses(series: Series, path: epath.PathLike) -> bool:
  tags = [t for t in LOSS_TAGS if t in series]
  if not tags:
    return False
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
  for tag in tags:
    ax.plot(*series[tag], label=tag.removeprefix('train_'))
    spread_band(ax, series, tag)
  ax.set_xlabel('step')
  ax.set_title('losses' + (' (mean and std over seeds)' if f'{tags[0]}/std' in series else ''))
  ax.legend()
  ax.grid(alpha=0.3)
  fig.tight_layout()
  _save_figure(fig, path)
  plt.close(fig)
  return True


def spread_band(ax, series: Series, tag: str) -> None:
  """Shades mean +- std over the members of a run of several seeds (nothing for one seed)."""
  if f'{tag}/{members.STD}' in series:
    (steps, mean), (_, std) = series[tag], series[f'{tag}/{members.STD}']
    ax.fill_between(steps, mean - std, mean + std, alpha=0.2)


def eval_metrics(series: Series) -> list[str]:
  """Base names of the eval metrics ('fid', 'modes_covered'), each plotted with its _raw."""
  return sorted({t.removeprefix('eval_').removesuffix('_raw') for t in series
                 if t.startswith('eval_') and t != COLLAPSE_TAG and not members.is_member_tag(t)})


def plot_eval_metrics(series: Series, path: epath.PathLike) -> bool:
  metrics = eval_metrics(series)
  if not metrics:
    return False
  plt = _pyplot()
  cols = min(3, len(metrics))
  rows = math.ceil(len(metrics) / cols)
  fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), dpi=100, squeeze=False)
  for ax, metric in zip(axes.flat, metrics):
    for suffix, label in (('', 'EMA'), ('_raw', 'raw')):
      if f'eval_{metric}{suffix}' in series:
        ax.plot(*series[f'eval_{metric}{suffix}'], marker='o', ms=3, label=label)
        spread_band(ax, series, f'eval_{metric}{suffix}')
    ax.set_title(metric)
    ax.set_xlabel('step')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
  for ax in list(axes.flat)[len(metrics):]:
    ax.axis('off')
  fig.tight_layout()
  _save_figure(fig, path)
  plt.close(fig)
  return True


def sample_grids(workdir: epath.PathLike) -> list[tuple[int, epath.Path]]:
  """(step, path) of up to MAX_GRIDS sample grids, evenly spaced over the run."""
  found = []
  for path in (workdir_lib.path(workdir) / 'samples').glob('step_*.png'):
    match = re.fullmatch(r'step_(\d+)\.png', path.name)
    if match:
      found.append((int(match.group(1)), path))
  found.sort()
  if len(found) <= MAX_GRIDS:
    return found
  picks = np.linspace(0, len(found) - 1, MAX_GRIDS).round().astype(int)
  return [found[i] for i in sorted(set(picks))]


def plot_precision_recall(series: Series, path: epath.PathLike) -> bool:
  """Precision and recall (solid) with density and coverage (dashed) of the EMA generator."""
  tags = [f'eval_{m}' for m in PRDC_METRICS if f'eval_{m}' in series]
  if not tags:
    return False
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
  for tag in tags:
    metric = tag.removeprefix('eval_')
    ax.plot(*series[tag], marker='o', ms=3, label=metric,
            ls='-' if metric in ('precision', 'recall') else '--')
  ax.set_xlabel('step')
  ax.set_ylim(0, max(1.05, max(series[t][1].max() for t in tags) * 1.05))
  ax.set_title('precision / recall (k-NN manifolds of real and generated features)')
  ax.legend(fontsize=8)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  _save_figure(fig, path)
  plt.close(fig)
  return True


def plot_real_vs_generated(workdir: epath.PathLike, grids: list[tuple[int, epath.Path]],
                           path: epath.PathLike) -> bool:
  """The real grid beside the last sample grid, at the same scale."""
  real = workdir_lib.path(workdir) / 'samples' / REAL_GRID
  if not grids or not real.exists():
    return False
  plt = _pyplot()
  fig, axes = plt.subplots(1, 2, figsize=(8, 4.3), dpi=100)
  step, last = grids[-1]
  for ax, (title, grid_path) in zip(axes, (('real', real), (f'generated, step {step}', last))):
    ax.imshow(_read_image(grid_path), interpolation='nearest')
    ax.set_title(title)
    ax.axis('off')
  fig.tight_layout()
  _save_figure(fig, path)
  plt.close(fig)
  return True


def plot_samples(grids: list[tuple[int, epath.Path]], path: epath.PathLike) -> bool:
  if not grids:
    return False
  plt = _pyplot()
  fig, axes = plt.subplots(1, len(grids), figsize=(3 * len(grids), 3.3), dpi=100, squeeze=False)
  for ax, (step, grid_path) in zip(axes.flat, grids):
    ax.imshow(_read_image(grid_path))
    ax.set_title(f'step {step}')
    ax.axis('off')
  fig.tight_layout()
  _save_figure(fig, path)
  plt.close(fig)
  return True


def metric_table(series: Series) -> list[str]:
  lines = ['| metric | last | step | best | step of best |', '|---|---|---|---|---|']
  for tag in sorted(t for t in series if t.startswith('eval_') and t != COLLAPSE_TAG
                    and not members.is_member_tag(t)):
    steps, values = series[tag]
    try:
      mode = evaluators.metric_mode(tag.removeprefix('eval_'))
    except ValueError:  # A metric added by another task: no known direction.
      mode = None
    finite = np.isfinite(values)
    best = ''
    if mode and finite.any():
      i = np.flatnonzero(finite)[np.argmin(values[finite]) if mode == 'min'
                                 else np.argmax(values[finite])]
      best = f'{values[i]:.4g} | {steps[i]}'
    lines.append(f'| {tag} | {values[-1]:.4g} | {steps[-1]} | {best or "|"} |')
  return lines


def member_table(series: Series) -> list[str]:
  """A run of several seeds: the last value of every eval metric and train loss per member, and
  their mean +- std (sample std over the members); [] for a single run."""
  tags = sorted(t for t in series if members.member_tags(series, t) and (
      t.startswith('eval_') and t != COLLAPSE_TAG or t.startswith('train_') and
      t.endswith('loss')))
  if not tags:
    return []
  n = len(members.member_tags(series, tags[0]))
  header = ' | '.join(f'seed_{k}' for k in range(n))
  lines = [f'| metric | step | mean \u00b1 std | {header} |', '|---|---|---|' + '---|' * n]
  for tag in tags:
    steps, values = series[tag]
    spread = series.get(f'{tag}/{members.STD}', (None, [float('nan')]))[1][-1]
    last = [f'{series[t][1][-1]:.4g}' for t in members.member_tags(series, tag)]
    lines.append(f'| {tag} | {steps[-1]} | {values[-1]:.4g} \u00b1 {spread:.2g} | '
                 + ' | '.join(last) + ' |')
  return lines


def write_report(workdir: epath.PathLike) -> epath.Path:
  """Writes <workdir>/report.md and its plots; returns the report's path."""
  series = read_scalars(workdir)
  if not series:
    raise FileNotFoundError(f'No TensorBoard scalars in {workdir!r}: is it the --workdir of a '
                            'training run?')
  out_dir = workdir_lib.path(workdir) / 'report'
  out_dir.mkdir(parents=True, exist_ok=True)
  last_step = max(int(s[-1]) for s, _ in series.values())
  name = os.path.basename(os.path.normpath(os.fspath(workdir)))
  lines = [f'# Run report: {name}', '', f'Workdir `{workdir_lib.absolute(workdir)}`, '
           f'last logged step {last_step}.', '']
  grids = sample_grids(workdir)
  if plot_real_vs_generated(workdir, grids, out_dir / 'real_vs_generated.png'):
    lines += ['## Real and generated', '', '![real vs generated](report/real_vs_generated.png)',
              '']
  if plot_losses(series, out_dir / 'losses.png'):
    lines += ['## Losses', '', '![losses](report/losses.png)', '']
  if plot_eval_metrics(series, out_dir / 'eval_metrics.png'):
    lines += ['## Evaluation', '']
    if plot_precision_recall(series, out_dir / 'precision_recall.png'):
      lines += ['![precision and recall](report/precision_recall.png)', '']
    lines += ['![eval metrics](report/eval_metrics.png)', '', *metric_table(series), '']
    if COLLAPSE_TAG in series:
      steps, flags_ = series[COLLAPSE_TAG]
      flagged = [int(s) for s, f in zip(steps, flags_) if f > 0]
      lines += [f'**Mode-collapse warnings** at steps {", ".join(map(str, flagged))}: '
                'diversity or coverage fell sharply below its best level.' if flagged else
                'Mode-collapse monitor: no warning (diversity and coverage never fell sharply).',
                '']
  seeds = member_table(series)
  if seeds:
    lines += ['## Seeds', '', 'Seeds trained together (config.num_seeds; member k is the run of '
              'seed + k): the plots and the table above show their mean (plots: \u00b1 std '
              'shaded); the last value of each member:', '', *seeds, '']
  if plot_samples(grids, out_dir / 'samples_over_time.png'):
    lines += ['## Samples over time', '', '![samples](report/samples_over_time.png)', '',
              *(['Member 0\'s grids (seed_0); the other members\' are in samples/seed_<k>/.',
                 ''] if seeds else []),
              'Steps: ' + ', '.join(f'[{s}](samples/{p.name})' for s, p in grids),
              '']
  path = workdir_lib.path(workdir) / 'report.md'
  path.write_text('\n'.join(lines))
  return path


FLAGS = flags.FLAGS


def define_flags():
  """Flags of the command line only: importing this module defines none."""
  flags.DEFINE_string('workdir', None, 'Working directory of a training run.', required=True)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  print(write_report(FLAGS.workdir))


if __name__ == '__main__':
  cli.run(main, define_flags)
