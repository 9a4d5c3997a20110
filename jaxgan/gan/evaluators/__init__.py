"""Evaluators chosen by name from `config.evals`, run during training and on saved samples.

  c.evals.digits_fd = dict(every=500, num_samples=1000)
  c.evals.fid = dict(every=5000, num_samples=10000, weights='/path/pt_inception.pth')

Each field of `config.evals` names a module of this package, imported by that name (as
big_vision finds its evaluators; `is` lives in `is_.py`). `every` (default
`config.eval_every`; 0: never during training, only by `python -m jaxgan.evaluate`),
`num_samples` and `raw` (also score the raw generator) are common to all; the rest are the
evaluator's own options.

A new evaluator is one new module here, nothing else to register. It defines
  METRICS      {metric: 'min' or 'max'}, which way is better (for best checkpoints, the report)
  NUM_SAMPLES  its default sample count
  OPTIONS      frozenset of its own option names (besides every, num_samples, raw)
  build(config, options) -> fn(Samples) -> {metric: value}: makes the cheap start-up checks
               (weights present, suitable data); networks and reference statistics load on
               first use
  protocol(config, options) -> dict (optional): how its figures are measured (reference data,
               split, feature space or classifier version), written beside every score that
               jaxgan.evaluate writes; `options` then also holds the `num_samples` scored, and
               a protocol may give real images' own figures (`real_figures`: the ceiling).

During training every due evaluator scores samples of the EMA generator (the raw one when the
run has no EMA) as `eval_<metric>` and of the raw generator as `eval_<metric>_raw`, from noise
that stays fixed for the whole run. `CollapseMonitor` warns when diversity or coverage falls
sharply, and `BestCheckpoint` keeps the checkpoint with the best `config.best_metric`.

The machinery: registry (names, get, metric_mode), specs (config.evals -> Spec, build),
sampling (Samples, drawing and scoring them), monitor, driver (Evaluation), common (what
evaluators share).
"""

from jaxgan.gan.evaluators.driver import Evaluation
from jaxgan.gan.evaluators.monitor import CollapseMonitor
from jaxgan.gan.evaluators.registry import get, metric_mode, names, protocol
from jaxgan.gan.evaluators.sampling import Samples, generators, make_generator, run, score
from jaxgan.gan.evaluators.specs import Spec, build, parse_specs
