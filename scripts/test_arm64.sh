#!/usr/bin/env bash
# The library, the programs and the unit tests cross-compiled for 64-bit ARM Linux with Debian's
# aarch64 toolchain, and the unit tests (ctest label unit) run under qemu-user. Installs what it
# needs (scripts/setup.sh). On ARM the CPU kernels are the portable set (kernel_set.hpp): the x86
# kernel-set tests report themselves skipped. scripts/test.sh runs this after the native suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh g++-aarch64-linux-gnu qemu-user
build=${ARM64_BUILD_DIR:-build-arm64}
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release \
      -DCYCLEGAN_NATIVE=OFF -DCYCLEGAN_WITH_CUDA=OFF -DCYCLEGAN_WITH_MPI=OFF -DCYCLEGAN_BUILD_TESTS=ON -DCYCLEGAN_BUILD_EXAMPLES=ON
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs" -L unit "$@"
