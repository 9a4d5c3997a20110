"""Regenerates the README's Fashion-MNIST table: each config trained fresh, sampled, judged.

  python benchmarks/fashion_table.py --out=runs/fashion_table [--configs=dcgan_fashion,...]
  python benchmarks/fashion_table.py --out=runs/fashion_seeds --num_seeds=3

For each config, in turn and alone on the machine (the wall times are the table's):
  python -m jaxgan.main --config=configs/<name>.py --workdir=<out>/<name>        (timed)
  python -m jaxgan.sample --workdir=<out>/<name> --num=10000 --out=<out>/<name>/samples.npz
  python -m jaxgan.evaluate --config=configs/<name>.py --samples=<out>/<name>/samples.npz \
      --evals=fashion,fashion_plain --json=<out>/<name>/figures.json
With --num_seeds=N each config trains N seeds in one program (--config.num_seeds=N), each
member is sampled and judged (jaxgan.sample/evaluate --seed_index=k) and the table gives
mean ± std over the members (std with ddof=1); its wall time is the N-seed program's.
Then writes <out>/table.md (one row per config and the real images' row, both judges) and
<out>/table.json, with a row for every config of <out> judged so far, not only --configs. A
config whose workdir already holds figures.json is not run again (delete it to rerun).
Conditional configs are sampled balanced over the classes (jaxgan.sample's default).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = ('dcgan_fashion', 'wgan_fashion', 'wgan_gp_fashion', 'sngan_fashion',
           'cgan_fashion', 'acgan_fashion', 'projection_fashion', 'sngan_projection_fashion',
           'r3gan_fashion')
NUM_SAMPLES = 10_000
COLUMNS = ('fd', 'confident', 'classes', 'precision', 'recall', 'density', 'coverage')


def tool(name: str, *args: str) -> float:
  """Runs `python -m jaxgan.<name> *args` from the repository; returns its wall time."""
  start = time.perf_counter()
  subprocess.run([sys.executable, '-m', f'jaxgan.{name}', *args], cwd=REPO, check=True)
  return time.perf_counter() - start


def git_commit() -> str:
  out = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO, capture_output=True,
                       text=True)
  dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], cwd=REPO,
                         capture_output=True, text=True).stdout.strip()
  return out.stdout.strip() + ('+dirty' if dirty else '')


def run_config(name: str, out: str, num_seeds: int = 1) -> dict:
  workdir = os.path.join(out, name)
  figures = os.path.join(workdir, 'figures.json')
  if os.path.exists(figures):
    with open(figures) as f:
      return json.load(f)
  config = f'--config=configs/{name}.py'
  seeds = [f'--config.num_seeds={num_seeds}'] if num_seeds > 1 else []
  wall = tool('main', config, f'--workdir={workdir}', *seeds)
  members = [_judge_member(config, workdir, k if num_seeds > 1 else None)
             for k in range(num_seeds)]
  record = members[0]
  if num_seeds > 1:
    record['members'] = [m['metrics'] for m in members]
    record['metrics'], record['metrics_std'] = _mean_std(record['members'])
  with open(os.path.join(workdir, 'config.json')) as f:
    num_steps = json.load(f)['num_steps']
  record |= {'wall_s': round(wall, 1), 'num_steps': num_steps, 'num_seeds': num_seeds,
             'commit': git_commit(), 'load_after': os.getloadavg()[0]}
  with open(figures, 'w') as f:
    json.dump(record, f, indent=2)
  return record


def _judge_member(config: str, workdir: str, seed_index) -> dict:
  """Samples one run (or one member of a many-seed run) and judges it with both judges."""
  suffix, member = ('', []) if seed_index is None else (
      f'_seed_{seed_index}', [f'--seed_index={seed_index}'])
  samples = os.path.join(workdir, f'samples{suffix}.npz')
  figures = os.path.join(workdir, f'figures{suffix}.json.tmp')
  tool('sample', f'--workdir={workdir}', f'--num={NUM_SAMPLES}', f'--out={samples}', *member)
  tool('evaluate', config, f'--samples={samples}', '--evals=fashion,fashion_plain',
       f'--json={figures}')
  with open(figures) as f:
    record = json.load(f)
  os.remove(figures)
  return record


def _mean_std(members: list) -> tuple:
  keys = [k for k in members[0] if all(isinstance(m.get(k), (int, float)) for m in members)]
  values = {k: np.array([m[k] for m in members], np.float64) for k in keys}
  return ({k: float(v.mean()) for k, v in values.items()},
          {k: float(v.std(ddof=1)) for k, v in values.items()})


def row(name: str, wall, steps, figures: dict, judges=('fashion', 'fashion_plain'),
        commit: str = '', std=None) -> str:
  """One table row; with `std` (a many-seed record's) each figure reads mean ± std."""
  std = std or {}
  def cell(key, fmt=_fmt):
    text = fmt(figures.get(key))
    return f'{text} ± {fmt(std[key])}' if key in std else text
  cells = [name, '' if wall is None else f'{wall:.0f}', '' if steps is None else f'{steps:,}']
  for judge in judges:
    cells += [cell(f'{judge}_{c}') for c in COLUMNS]
  cells += [cell('fashion_agreement_min', lambda v: '' if v is None else f'{v:.2f}'), commit]
  return '| ' + ' | '.join(cells) + ' |'


def _fmt(value) -> str:
  if value is None:
    return ''
  whole = float(value).is_integer() and (value > 1 or value == 0)  # Class counts, 0 included.
  return f'{value:.0f}' if whole else (
      f'{value:.1f}' if value >= 10 else f'{value:.2f}' if value >= 1 else f'{value:.3f}')


def table(records: dict) -> str:
  judges = ('main judge', 'plain judge')
  head = ['config', 'wall s', 'steps'] + [f'{c} ({j})' for j in judges for c in COLUMNS] + [
      'worst class agreement (main)', 'commit']
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  real = {}  # Conditional configs' real figures add agreement.
  for record in records.values():
    real |= {k: v for p in record['protocol'].values() for k, v in p['real_figures'].items()}
  lines.append(row('real images (held out)', None, None, real))
  for name, record in records.items():
    seeds = record.get('num_seeds', 1)
    label = f'`{name}`' + (f' ({seeds} seeds)' if seeds > 1 else '')
    lines.append(row(label, record['wall_s'], record['num_steps'], record['metrics'],
                     commit=record['commit'], std=record.get('metrics_std')))
  return '\n'.join(lines)


def agreement_table(records: dict) -> str:
  """Conditional configs: per class, the share of samples asked for it that the main judge
  confidently reads as it, over real held-out images' own share (the ceiling, 1.0)."""
  conditional = {n: r for n, r in records.items() if 'fashion_agreement/0' in r['metrics']}
  if not conditional:
    return ''
  real = next(iter(conditional.values()))['protocol']['fashion']['real_figures']
  classes = sorted(int(k.split('/')[1]) for k in real if k.startswith('fashion_agreement/'))
  head = ['agreement / real images\' (class)'] + [str(k) for k in classes] + ['min']
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head),
           '| real held-out images: own agreement | ' + ' | '.join(
               f"{real[f'fashion_agreement/{k}']:.2f}" for k in classes) + ' | |']
  for name, record in conditional.items():
    ratios = [record['metrics'][f'fashion_agreement/{k}'] / real[f'fashion_agreement/{k}']
              for k in classes]
    lines.append(f'| `{name}` | ' + ' | '.join(f'{r:.2f}' for r in ratios)
                 + f' | {min(ratios):.2f} |')
  return '\n'.join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--out', default='runs/fashion_table')
  parser.add_argument('--configs', default=','.join(CONFIGS))
  parser.add_argument('--num_seeds', type=int, default=1,
                      help='Seeds per config, trained in one program (config.num_seeds).')
  args = parser.parse_args()
  os.makedirs(args.out, exist_ok=True)
  names = args.configs.split(',')
  for name in names:
    run_config(name, args.out, args.num_seeds)
  # Every config judged in --out so far (a finished one is read, not rerun): rerunning one config
  # keeps the others' rows.
  records = {name: run_config(name, args.out, args.num_seeds)
             for name in dict.fromkeys(CONFIGS + tuple(names))
             if os.path.exists(os.path.join(args.out, name, 'figures.json'))}
  with open(os.path.join(args.out, 'table.json'), 'w') as f:
    json.dump(records, f, indent=2)
  text = table(records) + '\n\n' + agreement_table(records)
  with open(os.path.join(args.out, 'table.md'), 'w') as f:
    f.write(text + '\n')
  print(text)


if __name__ == '__main__':
  main()
