// Data-parallel training speed: the paper's CycleGAN step (resnet_9blocks, basic PatchGAN, LSGAN,
// Adam, batch 1 per rank) under mpirun, on this machine or across hosts (benchmarks/
// distributed_scaling.sh runs it). Rank 0 prints one line:
//   ranks <N> size <s> threads <t> images_per_s <r> step_ms <median> allreduce_ms <median> allreduce_share <f>
//   allreduce_mb <MB per step>
// allreduce_ms is the time spent in the step's two all-reduces (each rank's median, the largest
// over ranks): what the exchange costs, including waiting for the slowest rank.
#include <cyclegan/cyclegan.hpp>
#include <cyclegan/distributed/mpi.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace cyclegan;
using Clock = std::chrono::steady_clock;

namespace {

// The communicator with a stopwatch on its all-reduces.
struct TimedCommunicator {
    MpiCommunicator& inner;
    double seconds = 0;
    double bytes = 0;
    int rank() const { return inner.rank(); }
    int size() const { return inner.size(); }
    template <class B>
    void all_reduce_weighted(B& dev, std::span<Tensor<B>* const> bucket, double weight) {
        const auto t0 = Clock::now();
        inner.all_reduce_weighted(dev, bucket, weight);
        seconds += std::chrono::duration<double>(Clock::now() - t0).count();
        for (const auto* t : bucket) bytes += double(t->numel()) * sizeof(typename B::scalar);
    }
    template <class B>
    void broadcast(B& dev, std::span<Tensor<B>* const> bucket, int root) {
        inner.broadcast(dev, bucket, root);
    }
    void barrier() { inner.barrier(); }
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

Tensor<cpu> random_image(cpu& dev, int size, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    std::vector<float> v(static_cast<std::size_t>(3) * size * size);
    for (auto& x : v) x = d(rng);
    return Tensor<cpu>::from_host(dev, Shape{1, 3, size, size}, v);
}

}  // namespace

int main(int argc, char** argv) {
    MpiCommunicator world(&argc, &argv);
    int size = 128, steps = 5, warmup = 1, threads = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--size")) size = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--warmup")) warmup = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    }
    cpu dev(threads);
    PaperCycleGAN<cpu> model(dev, {}, {}, {.pool_size = 0});
    TimedCommunicator comm{world};
    model.broadcast_weights(comm);
    const double weight = 1.0 / world.size();
    std::vector<double> step_s, exchange_s;
    for (int i = 0; i < warmup + steps; ++i) {
        const auto a = random_image(dev, size, 2 * (i * world.size() + world.rank()));
        const auto b = random_image(dev, size, 2 * (i * world.size() + world.rank()) + 1);
        world.barrier();  // every rank starts the step together: the exchange then measures the exchange
        comm.seconds = 0;
        const auto t0 = Clock::now();
        model.train_step(a, b, comm, weight);
        const double t = std::chrono::duration<double>(Clock::now() - t0).count();
        if (i >= warmup) step_s.push_back(t), exchange_s.push_back(comm.seconds);
    }
    // The slowest rank's medians.
    auto slowest = [&](double v) {
        double worst = v;
        for (const auto& s : world.gather_bytes(std::to_string(v), 0)) worst = std::max(worst, std::atof(s.c_str()));
        return worst;
    };
    const double step = slowest(median(step_s)), exchange = slowest(median(exchange_s));
    if (world.rank() == 0) {
        const double per_step_mb = comm.bytes / (warmup + steps) / 1e6;
        std::printf("ranks %d size %d threads %d images_per_s %.3f step_ms %.1f allreduce_ms %.1f allreduce_share %.4f "
                    "allreduce_mb %.1f\n",
                    world.size(), size, threads, world.size() / step, step * 1e3, exchange * 1e3, exchange / step, per_step_mb);
    }
    return 0;
}
