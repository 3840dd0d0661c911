// Times our side of benchmarks/compare_pytorch.py: a whole CycleGAN training step of the paper's
// configuration (resnet_9blocks, basic PatchGAN, instance norm, LSGAN, identity loss, batch 1),
// the generator's inference, or single layers, at one image size. Prints one line per measurement:
//   <what> <size> median_ms <m> min_ms <m> steps <n> peak_rss_mb <m> gflops <g>
#include <cyclegan/cyclegan.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/resource.h>
#include <vector>

using namespace cyclegan;
using Clock = std::chrono::steady_clock;

namespace {

double peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024.0;  // Linux reports KiB
}

template <class F>
std::vector<double> time_runs(int warmup, int runs, F&& f) {
    for (int i = 0; i < warmup; ++i) f();
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = Clock::now();
        f();
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    return ms;
}

void report(const std::string& what, int size, std::vector<double> ms, double gflop) {
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    std::printf("%s %d median_ms %.2f min_ms %.2f steps %zu peak_rss_mb %.1f gflops %.1f\n", what.c_str(), size, median, ms.front(),
                ms.size(), peak_rss_mb(), gflop / (median / 1000));
    std::fflush(stdout);
}

// Multiply-adds of one resnet_9blocks forward at size s (ngf 64), counted per output pixel:
// 56.8 G at 256, as docs/performance.md says.
double generator_gmacs(int s) {
    const double p = double(s) * s;
    double macs = p * 64 * 3 * 49;                         // c7s1-64
    macs += p / 4 * 128 * 64 * 9 + p / 16 * 256 * 128 * 9;  // two stride-2 convolutions
    macs += 18 * p / 16 * 256 * 256 * 9;                   // nine residual blocks
    macs += p / 4 * 128 * 256 * 9 + p * 64 * 128 * 9;      // two transposed convolutions, per output pixel
    macs += p * 3 * 64 * 49;                               // c7s1-3
    return macs / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
    std::string what = "train";
    int size = 128, runs = 5, threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--what")) what = argv[i + 1];
        else if (!std::strcmp(argv[i], "--size")) size = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    }
    cpu dev(threads);
    std::vector<float> a(3 * size * size), b(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = std::sin(0.01f * i), b[i] = std::cos(0.013f * i);
    auto A = Tensor<cpu>::from_host(dev, {1, 3, size, size}, a), B = Tensor<cpu>::from_host(dev, {1, 3, size, size}, b);

    if (what == "train") {
        PaperCycleGAN<cpu> model(dev, {}, {});
        // Per step: 6 generator forwards, their backwards (about twice a forward each), and the
        // discriminators, which are small beside them; we quote the generators' share only.
        const double gflop = 2 * 3 * 6 * generator_gmacs(size);
        report("train", size, time_runs(1, runs, [&] { model.train_step(A, B); }), gflop);
    } else if (what == "infer") {
        Network<ResnetGenerator9<cpu>> g(dev, ResnetGenerator9<cpu>(), "model");
        g.eval();
        report("infer", size, time_runs(1, runs, [&] { (void)g(A); }), 2 * generator_gmacs(size));
    } else if (what == "conv3x3") {  // the residual blocks' convolution: 256 -> 256 at size / 4
        Network<Sequential<ReflectionPad2d<cpu>, Conv2d<cpu>>> n(dev, Sequential(ReflectionPad2d<cpu>(1), Conv2d<cpu>(256, 256, 3)));
        const int s = size / 4;
        auto x = Tensor<cpu>::full(dev, {1, 256, s, s}, 0.5f);
        const double gflop = 2.0 * s * s * 256 * 256 * 9 / 1e9;
        report("conv3x3_forward", size, time_runs(1, runs, [&] { (void)n(x); }), gflop);
        report("conv3x3_backward", size, time_runs(1, runs, [&] {
            decltype(n)::Context ctx;
            auto y = n.forward(x, ctx);
            Tensor<cpu> dx;
            n.backward(ctx, y, &dx);
        }), 3 * gflop);
    } else {
        std::fprintf(stderr, "unknown --what %s (train, infer, conv3x3)\n", what.c_str());
        return 2;
    }
    return 0;
}
