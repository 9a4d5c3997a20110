"""Scores a saved checkpoint with evaluators chosen by name.

  python -m jaxgan.evaluate --workdir=runs/dcgan_digits --evals=digits_fd,class_coverage
  python -m jaxgan.evaluate --workdir=runs/wgan_gp_cifar --evals=fid,kid,is --num_samples=10000
  python -m jaxgan.evaluate --workdir=runs/gan_grid25 --evals=mode_coverage --best
  python -m jaxgan.evaluate --workdir=runs/srresnet_photos --sr_eval=data/Set5,data/Set14

Evaluators and their options are those of `jaxgan.gan.evaluators` (the run's `config.evals` entries
apply where present). Samples come from the run's fixed eval noise, so the scores of a step equal
the `eval_*` values training logged for it. Prints one line per metric and writes them to
`<workdir>/eval/step_NNNNNNN.json` (or `--json`).
"""

import json

from absl import app, flags
from etils import epath

from jaxgan.gan import evaluators, generate
from jaxgan.run import cli, sharding
from jaxgan.run import workdir as workdir_lib

FLAGS = flags.FLAGS


def define_flags():
  """Flags of the command line only: importing this module defines none."""
  flags.DEFINE_string('workdir', None, 'Working directory of a training run.', required=True)
  flags.DEFINE_integer('step', None, 'Checkpoint step (default: the latest).')
  flags.DEFINE_list('evals', None, f'Evaluators, comma-separated: '
                    f'{list(evaluators.names())} (default: those of the run\'s config.evals).')
  flags.DEFINE_bool('best', False, 'Score the best checkpoint (<workdir>/best) instead.')
  flags.DEFINE_integer('num_samples', None, 'Samples per evaluator (default: its own).')
  flags.DEFINE_bool('raw', True, 'Also score the raw generator of runs with an EMA (_raw).')
  flags.DEFINE_string('weights', None, 'FID Inception weights (.pth or .npz; default: cache).')
  flags.DEFINE_string('json', None, 'Output file (default: <workdir>/eval/step_NNNNNNN.json).')
  flags.DEFINE_float('truncation', 0.0, 'Truncation trick: draw the noise truncated to '
                     '[-psi, psi] (0: none).')
  flags.DEFINE_list('sr_eval', None, 'Super-resolution runs: HR image folders (Set5,Set14,...) '
                    'scored by PSNR/SSIM against bicubic (jaxgan.sr.evaluate).')
  flags.DEFINE_bool('self_ensemble', False, 'With --sr_eval: also score the x8 flip/rotation '
                    'self-ensemble (EDSR+), as method <name>+.')


def evaluate_checkpoint(workdir: str, names=None, step=None, best=False, num_samples=None,
                        raw=True, weights=None, truncation: float = 0.0
                        ) -> tuple[int, dict[str, float]]:
  """(step, {metric: value}) of a run's checkpoint; `_raw` metrics score the raw generator.

  `truncation` > 0 scores samples of truncated noise (the truncation trick)."""
  config, gan, state, standing = generate.load_run(workdir, step,
                                                   'best' if best else 'checkpoints')
  names = names or list(config.get('evals') or {})
  if not names:
    raise ValueError(f'Nothing to evaluate: pass --evals (one or more of '
                     f'{list(evaluators.names())}); the run has no config.evals.')
  specs = evaluators.parse_specs(config, names, num_samples=num_samples, weights=weights)
  scorers = evaluators.build(config, specs)
  draw = evaluators.make_generator(config, gan, sharding.make_mesh(), truncation)
  results = {}
  sampling = generate.sampling_generator(config, gan, state, standing=standing)
  for suffix, (params, stats) in evaluators.generators(config, gan, state, sampling).items():
    if suffix and not raw:
      continue
    results |= evaluators.run(specs, scorers, draw, params, stats, suffix)
  return int(state.step), results


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if FLAGS.sr_eval:
    from jaxgan.sr import evaluate as sr_evaluate  # pylint: disable=g-import-not-at-top
    sr_evaluate.sr_eval(FLAGS.workdir, FLAGS.sr_eval, ensemble=FLAGS.self_ensemble)
    return
  step, results = evaluate_checkpoint(FLAGS.workdir, FLAGS.evals, FLAGS.step, FLAGS.best,
                                      FLAGS.num_samples, FLAGS.raw, FLAGS.weights,
                                      FLAGS.truncation)
  out = (epath.Path(FLAGS.json) if FLAGS.json else
         workdir_lib.path(FLAGS.workdir) / 'eval' / f'step_{step:07d}.json')
  out.parent.mkdir(parents=True, exist_ok=True)
  out.write_text(json.dumps({'step': step, 'best': FLAGS.best, 'truncation': FLAGS.truncation,
                             'metrics': results}, indent=2))
  for name, value in results.items():
    print(f'{name:24s} {value:.6g}')
  print(f'step {step} of {FLAGS.workdir}{" (best)" if FLAGS.best else ""} -> {out}')


if __name__ == '__main__':
  cli.run(main, define_flags)
