#!/usr/bin/env bash
# Sets everything up, builds, and runs the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
# OpenMPI for the distributed-training tests (two ranks on this machine).
bash scripts/setup.sh libopenmpi-dev openmpi-bin
build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
# ctest runs $jobs tests at once, each with OpenMP threads on every core. With libgomp's default
# spin (about 300,000 turns before a waiting thread sleeps) they spin through each other's time
# slices: test_conv took 7.8 s alone and 61 s beside one busy process, 15 s with a spin of 1000
# (2-core Intel Xeon). A setting of the test run only; programs keep libgomp's default.
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-1000}
# Where the CUDA toolkit and cuDNN are (CI has them, without a GPU), the GPU backend, its tests and the programs'
# GPU paths must compile: ON makes a broken detection an error instead of a silent CPU-only build.
cuda=()
if [ -x /usr/local/cuda/bin/nvcc ] && [ -e /usr/local/cuda/include/cudnn.h ]; then cuda=(-DCYCLEGAN_WITH_CUDA=ON); fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCYCLEGAN_BUILD_TESTS=ON -DCYCLEGAN_BUILD_EXAMPLES=ON \
      -DCYCLEGAN_WITH_MPI=ON "${cuda[@]}"
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs" "$@"
# The io and data tests under AddressSanitizer and UBSan, and a minute of fuzzing per harness
# (CYCLEGAN_SKIP_FUZZ=1 leaves it out; FUZZ_SECONDS sets the minute).
if [ "${CYCLEGAN_SKIP_FUZZ:-0}" != 1 ]; then bash scripts/fuzz.sh; fi
# 64-bit ARM: cross-compiled, unit tests under qemu (CYCLEGAN_SKIP_ARM64=1 leaves it out).
if [ "${CYCLEGAN_SKIP_ARM64:-0}" != 1 ]; then bash scripts/test_arm64.sh; fi
