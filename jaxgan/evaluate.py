"""Scores a saved checkpoint with evaluators chosen by name.

  python -m jaxgan.evaluate --workdir=runs/dcgan_digits --evals=digits_fd,class_coverage
  python -m jaxgan.evaluate --workdir=runs/wgan_gp_cifar --evals=fid,kid,is --num_samples=10000
  python -m jaxgan.evaluate --workdir=runs/gan_grid25 --evals=mode_coverage --best
  python -m jaxgan.evaluate --workdir=runs/srresnet_photos --sr_eval=data/Set5,data/Set14

Evaluators and their options are those of `jaxgan.evaluators` (the run's `config.evals` entries
apply where present). Samples come from the run's fixed eval noise, so the scores of a step equal
the `eval_*` values training logged for it. Prints one line per metric and writes them to
`<workdir>/eval/step_NNNNNNN.json` (or `--json`).
"""

import json
import os

from absl import app, flags

from jaxgan import evaluators, sample, sharding

FLAGS = flags.FLAGS


def _define(kind: str, name: str, default, help_text: str, **kwargs) -> None:
  # jaxgan.sample, imported above, already defines --workdir and --step (same meaning).
  if name not in FLAGS:
    getattr(flags, f'DEFINE_{kind}')(name, default, help_text, **kwargs)


def define_flags():
  """Flags of the command line only: importing this module defines none of its own."""
  _define('string', 'workdir', None, 'Working directory of a training run.', required=True)
  _define('integer', 'step', None, 'Checkpoint step (default: the latest).')
  _define('list', 'evals', None, f'Evaluators, comma-separated: {sorted(evaluators.EVALUATORS)} '
          '(default: those of the run\'s config.evals).')
  _define('bool', 'best', False, 'Score the best checkpoint (<workdir>/best) instead.')
  _define('integer', 'num_samples', None, 'Samples per evaluator (default: its own).')
  _define('bool', 'raw', True, 'Also score the raw generator of runs with an EMA (_raw).')
  _define('string', 'weights', None, 'FID Inception weights (.pth or .npz; default: cache).')
  _define('string', 'json', None, 'Output file (default: <workdir>/eval/step_NNNNNNN.json).')
  _define('list', 'sr_eval', None, 'Super-resolution runs: HR image folders (Set5,Set14,...) '
          'scored by PSNR/SSIM against bicubic (jaxgan.sr.evaluate).')
  _define('bool', 'self_ensemble', False, 'With --sr_eval: also score the x8 flip/rotation '
          'self-ensemble (EDSR+), as method <name>+.')


def evaluate_checkpoint(workdir: str, names=None, step=None, best=False, num_samples=None,
                        raw=True, weights=None) -> tuple[int, dict[str, float]]:
  """(step, {metric: value}) of a run's checkpoint; `_raw` metrics score the raw generator."""
  config, gan, state = sample.load_run(workdir, step, 'best' if best else 'checkpoints')
  names = names or list(config.get('evals') or {})
  if not names:
    raise ValueError(f'Nothing to evaluate: pass --evals (one or more of '
                     f'{sorted(evaluators.EVALUATORS)}); the run has no config.evals.')
  specs = evaluators.parse_specs(config, names, num_samples=num_samples, weights=weights)
  scorers = evaluators.build(config, specs)
  generate = evaluators.make_generator(config, gan, sharding.make_mesh())
  results = {}
  for suffix, (params, stats) in evaluators.generators(config, state).items():
    if suffix and not raw:
      continue
    results |= evaluators.run(specs, scorers, generate, params, stats, suffix)
  return int(state.step), results


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if FLAGS.sr_eval:
    from jaxgan.sr import evaluate as sr_evaluate  # pylint: disable=g-import-not-at-top
    sr_evaluate.sr_eval(FLAGS.workdir, FLAGS.sr_eval, ensemble=FLAGS.self_ensemble)
    return
  step, results = evaluate_checkpoint(FLAGS.workdir, FLAGS.evals, FLAGS.step, FLAGS.best,
                                      FLAGS.num_samples, FLAGS.raw, FLAGS.weights)
  out = FLAGS.json or os.path.join(FLAGS.workdir, 'eval', f'step_{step:07d}.json')
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  with open(out, 'w') as f:
    json.dump({'step': step, 'best': FLAGS.best, 'metrics': results}, f, indent=2)
  for name, value in results.items():
    print(f'{name:24s} {value:.6g}')
  print(f'step {step} of {FLAGS.workdir}{" (best)" if FLAGS.best else ""} -> {out}')


if __name__ == '__main__':
  define_flags()
  app.run(main)
