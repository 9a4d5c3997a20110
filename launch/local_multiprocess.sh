#!/usr/bin/env bash
# Runs one training job as N processes on this machine, talking over CPU (gloo) collectives:
# the multi-host code path (jax.distributed, per-host data slices, global arrays, multi-process
# Orbax checkpoints) without a cluster.
#
# Usage: launch/local_multiprocess.sh N CONFIG [DEVICES_PER_PROCESS] [extra jaxgan.main flags...]
#   launch/local_multiprocess.sh 2 configs/dcgan_digits.py
#   launch/local_multiprocess.sh 2 configs/dcgan_digits.py 2 --workdir=runs/mp --config.num_steps=100
# Default workdir: runs/<config file name>_mp<N>. Run from the repository root.
set -euo pipefail
N=${1:?usage: $0 N CONFIG [DEVICES_PER_PROCESS] [flags...]}
CONFIG=${2:?usage: $0 N CONFIG [DEVICES_PER_PROCESS] [flags...]}
shift 2
DEVICES=1
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then DEVICES=$1; shift; fi
NAME=$(basename "$CONFIG" .py)
WORKDIR_FLAG="--workdir=runs/${NAME}_mp${N}"
for arg in "$@"; do [[ $arg == --workdir=* ]] && WORKDIR_FLAG=""; done
PORT=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

pids=()
for ((i = 0; i < N; i++)); do
  JAX_PLATFORMS=cpu XLA_FLAGS="--xla_force_host_platform_device_count=${DEVICES}" \
    python -m jaxgan.main --config="$CONFIG" $WORKDIR_FLAG "$@" \
      --coordinator_address="127.0.0.1:${PORT}" --num_processes="$N" --process_id="$i" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
exit $status
