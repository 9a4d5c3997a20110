"""Where r3gan_fashion loses to dcgan_fashion: nets and loss swapped one at a time, equal steps.

  python benchmarks/r3gan_ablation.py --out=runs/r3gan_ablation [--steps=3400] [--rows=0,1]

Each row trains one config with overrides for --steps steps (its schedules compressed to them;
one in-training evaluation, at the end):
  python -m jaxgan.main --config=configs/<config>.py --workdir=<out>/<row> \
      --config.num_steps=S --config.evals.fashion.every=S --config.sample_every=S \
      --config.checkpoint_every=S <overrides>
and the table gives that evaluation: the `fashion` evaluator (the main judge), 2,000 samples of
the EMA generator, so FD reads higher than the README table's 10,000-sample figures. A row
whose workdir already holds a finished run is read, not retrained (delete it to rerun).
"""

import argparse
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from configs import r3gan_fashion  # pylint: disable=wrong-import-position
from fashion_table import _fmt  # pylint: disable=wrong-import-position
from jaxgan import report  # pylint: disable=wrong-import-position

R3GAN_LOSS = ['--config.loss.name=rpgan', '--config.loss.penalty=r1_r2',
              '--config.loss.penalty_weight=0.2', '--config.loss.penalty_weight_end=0.02',
              '--config.loss.penalty_schedule=cosine']
DCGAN_RECIPE = ['--config.loss.name=hinge', '--config.loss.penalty=r1',
                '--config.loss.penalty_weight=1.0', '--config.loss.penalty_schedule=constant',
                '--config.optim.lr_schedule=linear', '--config.optim.lr_end_factor=0.0',
                '--config.optim.b2=0.99', '--config.optim.b2_schedule=constant',
                '--config.model.ema_half_life_images=0',
                '--config.model.ema_half_life_schedule=constant']
# (name, nets, loss and penalty, config, overrides)
ROWS = (
    ('dcgan', 'DCGAN', 'hinge, R1 (gamma 1): dcgan_fashion', 'dcgan_fashion', []),
    ('dcgan_r1_r2', 'DCGAN', 'hinge, R1 + R2 (gamma 1)', 'dcgan_fashion',
     ['--config.loss.penalty=r1_r2']),
    ('dcgan_rpgan', 'DCGAN', 'RpGAN, R1 (gamma 1)', 'dcgan_fashion',
     ['--config.loss.name=rpgan', '--config.loss.penalty=r1']),
    ('dcgan_rpgan_r1_r2', 'DCGAN', 'RpGAN, R1 + R2 (gamma 1)', 'dcgan_fashion',
     ['--config.loss.name=rpgan', '--config.loss.penalty=r1_r2']),
    ('dcgan_r3gan_loss', 'DCGAN', "RpGAN, R1 + R2 (gamma 0.2 -> 0.02): r3gan_fashion's",
     'dcgan_fashion', R3GAN_LOSS),
    ('r3gan_dcgan_recipe', 'R3GAN, widths (8, 4, 2, 1) x 8', "hinge, R1 (gamma 1), dcgan_fashion's "
     'optimiser and EMA', 'r3gan_fashion', ['--config.model.r3gan_width_mults=(8,4,2,1)',
                                            *DCGAN_RECIPE]),
    ('r3gan', "R3GAN, widths (16, 8, 2, 1) x 8: r3gan_fashion's", 'r3gan_fashion',
     'r3gan_fashion', ['--config.model.ema_half_life_images={half_life}']),
)
COLUMNS = ('fd', 'confident', 'recall', 'precision', 'classes')


def train(name: str, config: str, overrides: list, steps: int, out: str) -> str:
  workdir = os.path.join(out, name)
  if not os.path.exists(os.path.join(workdir, 'report.md')):
    every = [f'--config.{k}={steps}' for k in
             ('num_steps', 'evals.fashion.every', 'sample_every', 'checkpoint_every')]
    # r3gan_fashion's EMA half-life is a share of the run's images; kept so at --steps.
    half_life = (r3gan_fashion.EMA_HALF_LIFE_SHARE * steps *
                 r3gan_fashion.get_config().batch_size)
    overrides = [o.format(half_life=half_life) for o in overrides]
    subprocess.run([sys.executable, '-m', 'jaxgan.main', f'--config=configs/{config}.py',
                    f'--workdir={workdir}', *every, *overrides], cwd=REPO, check=True)
  return workdir


def last_eval(workdir: str) -> dict:
  series = report.read_scalars(workdir)
  return {c: series[f'eval_fashion_{c}'][1][-1] for c in COLUMNS}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--out', default='runs/r3gan_ablation')
  parser.add_argument('--steps', type=int, default=3400)
  parser.add_argument('--rows', default=','.join(str(i) for i in range(len(ROWS))))
  args = parser.parse_args()
  lines = ['| nets | loss, penalty | ' + ' | '.join(f'{c} (main judge)' for c in COLUMNS) + ' |',
           '|' + '---|' * (2 + len(COLUMNS))]
  for i in map(int, args.rows.split(',')):
    name, nets, loss, config, overrides = ROWS[i]
    figures = last_eval(train(name, config, overrides, args.steps, args.out))
    lines.append(f'| {nets} | {loss} | ' + ' | '.join(_fmt(figures[c]) for c in COLUMNS) + ' |')
    print(lines[-1], flush=True)
  print('\n'.join(lines))


if __name__ == '__main__':
  main()
