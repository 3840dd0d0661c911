#!/usr/bin/env bash
# Data-parallel scaling of the training step (issue targets: 2 ranks x 1 thread at least 1.8x the
# images per second of 1 rank x 1 thread at 64 and 128 pixels; the all-reduce under 10% of a
# 256-pixel step on 2 local ranks). Runs build/benchmarks/cyclegan-bench-distributed under mpirun.
#
#   bash benchmarks/distributed_scaling.sh                 # this machine
#   MPIRUN_ARGS="--hostfile hosts" RANKS=8 bash benchmarks/distributed_scaling.sh   # across hosts, unchanged
set -euo pipefail
cd "$(dirname "$0")/.."
bench=${BENCH:-build/benchmarks/cyclegan-bench-distributed}
ranks=${RANKS:-2}
steps=${STEPS:-5}
read -r -a extra <<< "${MPIRUN_ARGS:-}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
run() {  # ranks size -> the benchmark's line
  mpirun -np "$1" "${extra[@]}" --bind-to core "$bench" --size "$2" --steps "$steps" --threads 1 | grep '^ranks'
}
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}'; }
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# Shared machines are noisy: 1 rank and N ranks alternate, REPEAT times, and medians are compared.
repeat=${REPEAT:-3}
for size in 64 128; do
  ones=(); manys=()
  for _ in $(seq "$repeat"); do
    one=$(run 1 "$size"); many=$(run "$ranks" "$size")
    echo "$one"; echo "$many"
    ones+=("$(echo "$one" | field images_per_s)"); manys+=("$(echo "$many" | field images_per_s)")
  done
  a=$(printf '%s\n' "${ones[@]}" | median); b=$(printf '%s\n' "${manys[@]}" | median)
  echo "size $size: $ranks ranks x 1 thread give $(echo "$b / $a" | bc -l | xargs printf '%.2f')x the images/s of 1 rank x 1 thread (medians of $repeat: $b and $a images/s)"
done
big=$(run "$ranks" 256)
echo "$big"
echo "size 256: the all-reduces take $(echo "$big" | field allreduce_share | xargs printf '%.3f') of a step ($(echo "$big" | field allreduce_mb) MB per step per rank)"
