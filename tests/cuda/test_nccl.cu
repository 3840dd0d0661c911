// The NCCL communicator on the GPU(s) of this machine, run as `mpirun -np 1 test_nccl` by ctest
// (label gpu) and by benchmarks/gpu_check.sh: a weighted all-reduce of a bucket, a broadcast, and
// a CycleGAN step through it equal to the step without it. Without a CUDA device it exits with 77
// (skipped).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cyclegan/cuda.cuh>
#include <cyclegan/distributed/nccl.cuh>

#include <cstdio>

using namespace cyclegan;

namespace {
MpiCommunicator* world = nullptr;
}

TEST_CASE("NCCL: weighted all-reduce and broadcast of a bucket") {
    cuda dev(world->rank() % cuda::device_count());
    NcclCommunicator nccl(*world, dev);
    const int n = world->size();
    auto x = Tensor<cuda>::full(dev, Shape{1, 1, 1, 5}, float(world->rank() + 1));
    auto y = Tensor<cuda>::full(dev, Shape{1, 2, 3, 4}, 2.0f);
    Tensor<cuda>* bucket[] = {&x, &y};
    nccl.all_reduce_weighted(dev, std::span<Tensor<cuda>* const>(bucket), 0.5);
    const float sum_x = 0.5f * n * (n + 1) / 2.0f;  // sum over ranks of 0.5 * (rank + 1)
    CHECK(x.to_host(dev) == std::vector<float>(5, sum_x));
    CHECK(y.to_host(dev) == std::vector<float>(24, 0.5f * 2.0f * n));
    auto z = Tensor<cuda>::full(dev, Shape{1, 1, 1, 3}, float(world->rank() + 7));
    Tensor<cuda>* one[] = {&z};
    nccl.broadcast(dev, std::span<Tensor<cuda>* const>(one), 0);
    CHECK(z.to_host(dev) == std::vector<float>(3, 7.0f));

    // A step through NCCL with the whole batch on each rank (weight 1/n, equal batches) is the
    // single process's step.
    using Model = CycleGAN<ResnetGenerator<cuda, 1>, PatchDiscriminator<cuda, 2>>;
    Model alone(dev, {.ngf = 4}, {.ndf = 4}, {.init = {.seed = 5}}), shared(dev, {.ngf = 4}, {.ndf = 4}, {.init = {.seed = 5}});
    shared.broadcast_weights(nccl);
    const auto a = Tensor<cuda>::full(dev, Shape{1, 3, 16, 16}, 0.25f), b = Tensor<cuda>::full(dev, Shape{1, 3, 16, 16}, -0.5f);
    const auto l1 = alone.train_step(a, b), l2 = shared.train_step(a, b, nccl, 1.0 / n);
    for (std::size_t k = 0; k < 8; ++k) CHECK(l2.values()[k] == doctest::Approx(l1.values()[k]).epsilon(1e-5));
}

int main(int argc, char** argv) {
    MpiCommunicator comm(&argc, &argv);
    world = &comm;
    if (cuda::device_count() == 0) {
        std::printf("test_nccl: no CUDA device; skipped\n");
        return 77;
    }
    doctest::Context context(argc, argv);
    return context.run();
}
