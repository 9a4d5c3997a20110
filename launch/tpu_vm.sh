#!/usr/bin/env bash
# Trains on every worker of a Cloud TPU VM pod slice: the same command runs on all hosts and
# jax.distributed.initialize detects the slice. WORKDIR should be a gs:// bucket or a shared disk.
#
# Usage: launch/tpu_vm.sh TPU_NAME ZONE CONFIG WORKDIR [flags...]
#   launch/tpu_vm.sh my-v4-32 us-central2-b configs/wgan_gp_cifar.py gs://bucket/runs/wgan_gp
# The repository must be at ~/jaxgan on every worker; installs with  pip install -e ".[gcs]" "jax[tpu]"
# (google-cloud-storage: Orbax lists the checkpoint steps of a gs:// workdir through it).
set -euo pipefail
TPU=${1:?usage: $0 TPU_NAME ZONE CONFIG WORKDIR [flags...]}
ZONE=${2:?usage: $0 TPU_NAME ZONE CONFIG WORKDIR [flags...]}
CONFIG=${3:?usage: $0 TPU_NAME ZONE CONFIG WORKDIR [flags...]}
WORKDIR=${4:?usage: $0 TPU_NAME ZONE CONFIG WORKDIR [flags...]}
shift 4
gcloud compute tpus tpu-vm ssh "$TPU" --zone="$ZONE" --worker=all --command="
  cd ~/jaxgan && pip install -q -e '.[gcs]' 'jax[tpu]' &&
  python -m jaxgan.main --config=$CONFIG --workdir=$WORKDIR $*"
