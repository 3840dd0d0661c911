#!/usr/bin/env bash
# The GPU backend's check on a machine with an NVIDIA GPU, in one go (under 8 minutes on an H100
# with 16 cores): configure and build the GPU tests, the programs and the GPU benchmark; run the
# GPU tests (every layer, the losses, the optimizers, whole networks and three training steps
# against the CPU backend; re-entrancy); train and translate with --device cuda; then time the
# paper's 256x256 training step and the generator's inference against PyTorch on the same GPU.
#
#   bash benchmarks/gpu_check.sh bundle   # here: copy Eigen, doctest, CLI11 and stb into .gpu_deps/
#   bash benchmarks/gpu_check.sh run      # there (no package registry), with .gpu_deps/ carried along
#
# cuDNN comes from /usr/local/cuda when it is there, else from the Python environment's
# nvidia-cudnn package (as on the project's GPU machines). Logs go to $OUT when it is set.
set -euo pipefail
cd "$(dirname "$0")/.."
deps=$PWD/.gpu_deps
out=${OUT:-$PWD/gpu_check_out}
mkdir -p "$out"

if [[ "${1:-run}" == bundle ]]; then
    rm -rf "$deps"
    mkdir -p "$deps"
    # The Debian files with their directory layout, so the CMake package files find their headers.
    for f in /usr/include/eigen3 /usr/share/eigen3/cmake /usr/include/doctest /usr/lib/cmake/doctest \
             /usr/include/CLI /usr/share/cmake/CLI11 /usr/include/stb/stb_image.h /usr/include/stb/stb_image_write.h; do
        cp -r --parents "$f" "$deps"
    done
    # Debian's doctest package names /usr itself: make it relative like the others.
    sed -i 's|^set(_IMPORT_PREFIX "/usr")|get_filename_component(_IMPORT_PREFIX "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)|' \
        "$deps/usr/lib/cmake/doctest/doctestTargets.cmake"
    grep -qx '/.gpu_deps/' .git/info/exclude 2>/dev/null || echo '/.gpu_deps/' >> .git/info/exclude
    du -sh "$deps"
    exit 0
fi

start=$(date +%s)
stamp() { echo "== $(( $(date +%s) - start )) s: $*"; }
nvidia-smi -L
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())'

cudnn_args=()
if [[ ! -e /usr/local/cuda/include/cudnn.h ]]; then
    root=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2>/dev/null ||
           python3 -c 'import nvidia.cudnn; print(list(nvidia.cudnn.__path__)[0])')
    lib=$(ls "$root"/lib/libcudnn.so* | head -1)
    mkdir -p /tmp/cudnn_link && ln -sf "$lib" /tmp/cudnn_link/libcudnn.so
    export LD_LIBRARY_PATH=$root/lib:${LD_LIBRARY_PATH:-}
    cudnn_args=(-DCYCLEGAN_CUDNN_INCLUDE="$root/include" -DCYCLEGAN_CUDNN_LIBRARY=/tmp/cudnn_link/libcudnn.so)
    echo "cuDNN from $root"
fi

generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
stamp configure
g++ --version | head -1
cmake -S . -B build-gpu "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCYCLEGAN_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
      -DCMAKE_PREFIX_PATH="$deps/usr" -DCYCLEGAN_STB_INCLUDE="$deps/usr/include/stb" "${cudnn_args[@]}" \
      > "$out/configure.log" 2>&1 || { tail -40 "$out/configure.log"; exit 1; }
stamp build
cmake --build build-gpu -j "$(nproc)" --target test_cuda cyclegan-bench-cuda cyclegan-train cyclegan-translate \
      cyclegan-demo-data > "$out/build.log" 2>&1 || { grep -E "error" -A3 "$out/build.log" | head -60; exit 1; }

# NCCL (distributed/nccl.cuh) where the GPU machine has MPI and NCCL: built and run by ctest -L gpu.
if grep -q "MPI ON, NCCL ON" "$out/configure.log"; then
  cmake --build build-gpu -j "$(nproc)" --target test_nccl >> "$out/build.log" 2>&1 || { grep -E "error" -A3 "$out/build.log" | head -30; exit 1; }
else
  echo "no MPI or NCCL on this machine: test_nccl not built (it reports itself not run)"
fi

stamp GPU tests
status=0
(cd build-gpu && ctest -L gpu --output-on-failure --timeout 300) 2>&1 | tee "$out/gpu_tests.log" | tail -60 || status=1

stamp programs with --device cuda
PYTHONUNBUFFERED=1 python3 tests/programs/test_programs.py build-gpu/examples -k device_cuda 2>&1 | tail -15 || status=1

stamp benchmark against PyTorch
PYTHONUNBUFFERED=1 python3 benchmarks/compare_pytorch_gpu.py --bench build-gpu/benchmarks/cyclegan-bench-cuda \
    --sizes 256 --what train infer --runs 10 --rounds 2 2>&1 | tee "$out/benchmark.md" || status=1
stamp done
exit $status
