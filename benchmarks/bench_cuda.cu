// Our side of benchmarks/compare_pytorch_gpu.py: the paper's CycleGAN training step (resnet_9blocks,
// basic PatchGAN, instance norm, LSGAN, identity loss, batch 1, Adam) or the generator's inference
// on the GPU backend, at one image size. Prints one line:
//   <what> <size> median_ms <m> min_ms <m> steps <n> peak_gpu_mb <m>
// Each step ends with a synchronisation, so the time is the step's whole GPU time.
#include <cyclegan/cuda.cuh>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace cyclegan;
using Clock = std::chrono::steady_clock;

namespace {

// The most memory the device's pool has held for our tensors and cuDNN's workspace since start.
double peak_gpu_mb(const cuda& dev) {
    cudaMemPool_t pool;
    CYCLEGAN_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, dev.device()));
    std::uint64_t high = 0;
    CYCLEGAN_CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &high));
    return double(high) / (1024.0 * 1024.0);
}

Tensor<cuda> image(cuda& dev, int size, double freq) {
    std::vector<float> v(3 * std::size_t(size) * size);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(std::sin(freq * double(i)));
    return Tensor<cuda>::from_host(dev, {1, 3, size, size}, v);
}

}  // namespace

int main(int argc, char** argv) {
    std::string what = "train";
    int size = 256, runs = 10;
    bool tf32 = true;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--what") what = v;
        else if (k == "--size") size = std::stoi(v);
        else if (k == "--runs") runs = std::stoi(v);
        else if (k == "--tf32") tf32 = v == "on";
        else {
            std::fprintf(stderr, "usage: cyclegan-bench-cuda [--what train|infer] [--size N] [--runs N] [--tf32 on|off]\n");
            return 2;
        }
    }
    if (cuda::device_count() == 0) {
        std::fprintf(stderr, "cyclegan-bench-cuda: no CUDA device\n");
        return 1;
    }
    cuda dev;
    dev.set_allow_tf32(tf32);
    const Tensor<cuda> a = image(dev, size, 0.01), b = image(dev, size, 0.013);

    PaperCycleGAN<cuda> model(dev, {}, {});
    auto step = [&] {
        if (what == "train")
            model.train_step(a, b);
        else
            model.translate_AtoB(a);
        dev.synchronize();
    };
    step();  // the first step measures the convolution algorithms
    step();
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = Clock::now();
        step();
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%s %d median_ms %.2f min_ms %.2f steps %zu peak_gpu_mb %.1f\n", what.c_str(), size, ms[ms.size() / 2],
                ms.front(), ms.size(), peak_gpu_mb(dev));
    return 0;
}
