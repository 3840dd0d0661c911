#!/usr/bin/env bash
# Under AddressSanitizer and UndefinedBehaviorSanitizer (clang 14, from Debian): builds and runs the
# io and data unit tests and the image-corpus test, then fuzzes the image reader and the
# checkpoint/safetensors loader with libFuzzer for FUZZ_SECONDS each (default 60), from seeds the
# tests write. Called by scripts/test.sh (CYCLEGAN_SKIP_FUZZ=1 leaves it out). A finding fails the
# run and leaves its input in $build/findings/; add it under tests/fuzz/regressions/<harness>/ with
# the fix, so every build replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh clang-14 libclang-rt-14-dev
build=${FUZZ_BUILD_DIR:-build-sanitize}
seconds=${FUZZ_SECONDS:-60}
jobs=${JOBS:-$(nproc)}
# shift-exponent: stb 2.27 shifts its 32-bit JPEG bit buffer by 32 on corrupt data (found by fuzzing;
# no memory effect). Every other UBSan check, and AddressSanitizer, stays on.
sanitize="-fsanitize=address,undefined -fno-sanitize=shift-exponent -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_CXX_FLAGS="$sanitize" -DCMAKE_EXE_LINKER_FLAGS="$sanitize" -DCYCLEGAN_FUZZ=ON -DCYCLEGAN_BUILD_TESTS=ON \
  -DCYCLEGAN_BUILD_EXAMPLES=OFF -DCYCLEGAN_BUILD_BENCHMARKS=OFF -DCYCLEGAN_WITH_CUDA=OFF -DCYCLEGAN_WITH_MPI=OFF
targets=(test_data test_checkpoint image_dump fuzz_image fuzz_checkpoint fuzz_replay_image fuzz_replay_checkpoint)
cmake --build "$build" -j "$jobs" --target "${targets[@]}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build" --output-on-failure -R '^(test_data|test_checkpoint|images_against_pillow|fuzz_regressions_.*)$'

fuzz="$build/tests/fuzz"
mkdir -p "$build/findings" "$build/seeds/image" "$build/seeds/checkpoint" "$build/corpus/image" "$build/corpus/checkpoint"
python3=$(command -v /usr/bin/python3 || command -v python3)
"$python3" tests/images/test_images.py --write-corpus "$build/seeds/image"
CYCLEGAN_FUZZ_SEEDS="$build/seeds/checkpoint" "$fuzz/fuzz_checkpoint"
cp tests/fuzz/regressions/image/* "$build/seeds/image/"
cp tests/fuzz/regressions/checkpoint/* "$build/seeds/checkpoint/"
for harness in image checkpoint; do
  echo "fuzz: $harness for ${seconds} s"
  status=0
  "$fuzz/fuzz_$harness" -max_total_time="$seconds" -rss_limit_mb=4096 -malloc_limit_mb=4096 -timeout=20 -max_len=200000 \
    -artifact_prefix="$build/findings/$harness-" -print_final_stats=1 \
    "$build/corpus/$harness" "$build/seeds/$harness" > "$build/fuzz_$harness.log" 2>&1 || status=$?
  grep -E '^(==|SUMMARY|[^ ]*runtime error)' "$build/fuzz_$harness.log" | head -n 20 || true
  tail -n 8 "$build/fuzz_$harness.log"
  if [ "$status" -ne 0 ]; then echo "fuzz: $harness found a failing input (see above), saved in $build/findings/"; exit 1; fi
done
