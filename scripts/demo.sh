#!/usr/bin/env bash
# Sets everything up, builds, and runs the example programs on their built-in data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCYCLEGAN_BUILD_TESTS=OFF
cmake --build "$build" -j "$(nproc)" --target cyclegan-examples
for program in "$build"/examples/cyclegan-*; do
  [ -x "$program" ] || continue
  echo "== $(basename "$program")"
  "$program"
done
