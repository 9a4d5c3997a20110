"""The README's Fashion-MNIST recipe search: one config with overrides, trained, 10,000 samples
(EMA generator, seed 0) scored by both judges, written to <workdir>/tune.json.

  python benchmarks/fashion_tune.py dcgan_fashion runs/tune/h10k num_steps=10000 loss.name=hinge

In-training evaluations are off (they would cost time); overrides are key=JSON value.
"""
import json, sys, time, os
os.environ.setdefault('JAX_PLATFORMS', 'cpu')
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from absl import logging
logging.set_verbosity(logging.WARNING)
import importlib, ml_collections
from jaxgan.gan import train, generate
from jaxgan.metrics import fashion
from jaxgan.gan import class_conditional

def parse(v):
  try: return json.loads(v)
  except Exception: return v

name, workdir = sys.argv[1], sys.argv[2]
config = importlib.import_module(f'configs.{name}').get_config()
config.unlock() if hasattr(config,'unlock') else None
config.evals = ml_collections.ConfigDict()
config.best_metric = ''
for kv in sys.argv[3:]:
  k, v = kv.split('=', 1)
  obj = config
  parts = k.split('.')
  for p in parts[:-1]: obj = obj[p]
  old = obj[parts[-1]]
  v = parse(v)
  if isinstance(old, tuple): v = tuple(v)
  obj[parts[-1]] = v
t = time.time()
train.train_and_evaluate(config, workdir)
wall = time.time() - t
config2, gan, state, standing = generate.load_run(workdir)
n = 10_000
labels = class_conditional.balanced_labels(n, config.model.num_classes) if config.model.num_classes else None
samples = generate.generate_samples(config2, gan, state, n, 0, True, 250, labels, 0.0, standing)
out = {'name': name, 'overrides': sys.argv[3:], 'train_wall_s': wall, 'steps': int(state.step)}
for judge in ('main', 'plain'):
  s = fashion.Scorer(judge)
  out[judge] = s.score(samples, labels)
  out[judge + '_real'] = s.real_figures(n, labels is not None)
np.savez_compressed(os.path.join(workdir, 'samples10k.npz'), samples=((samples + 1) * 127.5).round().clip(0, 255).astype(np.uint8))
def short(d): return {k: round(v, 4) for k, v in d.items() if '/' not in k}
print(json.dumps({k: (short(v) if isinstance(v, dict) else v) for k, v in out.items()}))
json.dump(out, open(os.path.join(workdir, 'tune.json'), 'w'), indent=1)
