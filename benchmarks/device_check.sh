#!/usr/bin/env bash
# What a person with a GPU runs to fill the README's GPU rows (Performance section).
#
#   pip install -e ".[dev,torch]" "jax[cuda12]"      # or your CUDA's jax wheel
#   bash benchmarks/device_check.sh | tee device_check.log
#
# For dcgan_celeba, dcgan_cifar and wgan_gp_cifar at batch 64 and 256, float32 and bfloat16:
# jaxgan's images/s against PyTorch eager and torch.compile on the same networks
# (benchmarks/torch_reference.py), then a 500-step dcgan_cifar training under TFDS mock data
# with its images/s. Each benchmark prints one JSON line; the last lines summarise them.
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=2

python - <<'PY'
import jax
print('backend:', jax.default_backend(), jax.devices())
import jaxgan.models as m, ml_collections
print('model.conv_impl auto ->', m.conv_impl(ml_collections.ConfigDict({'conv_impl': 'auto'})))
PY
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

for config in dcgan_celeba dcgan_cifar wgan_gp_cifar; do
  for batch in 64 256; do
    for dtype in float32 bfloat16; do
      for compile in false true; do
        echo "== ${config} batch=${batch} dtype=${dtype} torch_compile=${compile}"
        python -m jaxgan.benchmark --config="configs/${config}.py" --batch_size="${batch}" \
          --config.model.dtype="${dtype}" --compare_torch --torch_compile="${compile}" \
          --steps=20 --warmup=5 --rounds=3 --pipeline_batches=0 | tail -1
      done
    done
  done
done

echo "== 500-step dcgan_cifar training under tfds.testing.mock_data"
python - <<'PY'
import time
import tensorflow_datasets as tfds
from configs import dcgan_cifar
from jaxgan.gan import train

config = dcgan_cifar.get_config()
config.num_steps, config.log_every, config.sample_every = 500, 100, 500
config.checkpoint_every, config.evals = 500, {}
with tfds.testing.mock_data(num_examples=1024):
  start = time.perf_counter()
  train.train_and_evaluate(config, '/tmp/jaxgan_device_check')
  seconds = time.perf_counter() - start
print(f'dcgan_cifar 500 steps: {seconds:.1f} s wall (compile included), '
      f'{500 * config.batch_size / seconds:.0f} images/s')
PY
