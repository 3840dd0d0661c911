// Times our side of benchmarks/compare_pytorch.py: a whole CycleGAN training step of the paper's
// configuration (resnet_9blocks, basic PatchGAN, instance norm, LSGAN, identity loss, batch 1),
// the generator's inference, or single layers, at one image size. Prints one line per measurement:
//   <what> <size> median_ms <m> min_ms <m> steps <n> peak_rss_mb <m> gflops <g>
// (gflops is "-" where no FLOP count is defined, as for normalisation). --what peak measures the
// machine's FP32 FMA throughput, the ceiling the other GFLOP/s figures are measured against, and
// with --precision bf16 on an AVX512_BF16 CPU that of VDPBF16PS. --precision f32|bf16 sets the
// device's (core/precision.hpp). For --what infer, --weights FILE loads the generator (a reference
// state_dict as safetensors), --input FILE reads the image (raw float32, [1, 3, size, size]) and
// --output FILE writes the last result the same way, so that compare_openvino.py can hold every
// side's output to one reference. --what tiled --tile T (issue 27) translates a scene of size x size
// whole, then in tiles of T with exact and with sampled statistics (models/tiled.hpp), and prints
// each one's time, the tensors' peak and its difference from the whole-image output in levels of 255.
// --what scene --size W --height H --output F.tif writes that scene as a W x H TIFF (BigTIFF from
// 2 GiB), a band at a time, for benchmarks/large_images.py.
#include <cyclegan/cyclegan.hpp>
#include <cyclegan/io/checkpoint.hpp>
#include <cyclegan/image/tiff_stream.hpp>
#if CYCLEGAN_X86_KERNELS
#include <immintrin.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
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

void report(const std::string& what, int size, std::vector<double> ms, std::optional<double> gflop) {
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    char rate[32] = "-";
    if (gflop) std::snprintf(rate, sizeof rate, "%.1f", *gflop / (median / 1000));
    std::printf("%s %d median_ms %.2f min_ms %.2f steps %zu peak_rss_mb %.1f gflops %s\n", what.c_str(), size, median, ms.front(),
                ms.size(), peak_rss_mb(), rate);
    std::fflush(stdout);
}

// Multiply-adds of one resnet_9blocks forward at size s (ngf 64): 49.6 G at 256. A convolution
// does C_in*k*k per output value; a transposed convolution does C_out*k*k per *input* value (its
// GEMM's size; counting it per output pixel, as before, overstated it 4x, 56.8 G in all).
double generator_gmacs(int s) {
    const double p = double(s) * s;
    double macs = p * 64 * 3 * 49;                         // c7s1-64
    macs += p / 4 * 128 * 64 * 9 + p / 16 * 256 * 128 * 9;  // two stride-2 convolutions
    macs += 18 * p / 16 * 256 * 256 * 9;                   // nine residual blocks
    macs += p / 16 * 256 * 128 * 9 + p / 4 * 128 * 64 * 9; // two transposed convolutions, per input pixel
    macs += p * 3 * 64 * 49;                               // c7s1-3
    return macs / 1e9;
}

Tensor<cpu> wave(cpu& dev, Shape s) {  // deterministic, varied values (a constant would make norms degenerate)
    std::vector<float> v(s.numel());
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.37f * i) + 0.1f;
    return Tensor<cpu>::from_host(dev, s, v);
}

// One layer at input x: the forward, then the backward with the input's gradient and the weights'
// (what autograd does for a layer whose input requires grad), timed apart. gflop: the forward's;
// a convolution's backward is two GEMMs of the forward's size (data and weight gradients).
template <class Net>
void time_layer(cpu& dev, const std::string& name, int size, Net net, Shape in, std::optional<double> gflop, int runs) {
    Network<Net> n(dev, std::move(net), "layer");
    const auto x = wave(dev, in);
    report(name + "_forward", size, time_runs(1, runs, [&] { (void)n(x); }), gflop);
    Tensor<cpu> dy;
    std::vector<double> ms;
    for (int i = 0; i <= runs; ++i) {  // the first is a warm-up
        typename Network<Net>::Context ctx;
        const auto y = n.forward(x, ctx);
        if (dy.empty()) dy = wave(dev, y.shape());
        Tensor<cpu> dx;
        const auto t0 = Clock::now();
        n.backward(ctx, dy, &dx);
        if (i) ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    report(name + "_backward", size, ms, gflop ? std::optional(2 * *gflop) : std::nullopt);
}

// The layers of the paper's resnet_9blocks generator and 70x70 PatchGAN at image size s, batch 1,
// each on an input of the size it sees there. The names match compare_pytorch.py's LAYERS.
void time_layers(cpu& dev, int s, int runs) {
    auto conv_gflop = [](int cin, int cout, int k, int out_hw) { return 2.0 * cin * cout * k * k * out_hw * out_hw / 1e9; };
    const Conv2dOptions c7{.padding = 3, .padding_mode = PaddingMode::reflect}, down{.stride = 2, .padding = 1},
        res{.padding = 1, .padding_mode = PaddingMode::reflect}, patch{.stride = 2, .padding = 1};
    const ConvTranspose2dOptions up{.stride = 2, .padding = 1, .output_padding = 1};
    time_layer(dev, "g_c7s1_64", s, Conv2d<cpu>(3, 64, 7, c7), {1, 3, s, s}, conv_gflop(3, 64, 7, s), runs);
    time_layer(dev, "g_down_128", s, Conv2d<cpu>(64, 128, 3, down), {1, 64, s, s}, conv_gflop(64, 128, 3, s / 2), runs);
    time_layer(dev, "g_down_256", s, Conv2d<cpu>(128, 256, 3, down), {1, 128, s / 2, s / 2}, conv_gflop(128, 256, 3, s / 4), runs);
    time_layer(dev, "g_res_conv3x3", s, Conv2d<cpu>(256, 256, 3, res), {1, 256, s / 4, s / 4}, conv_gflop(256, 256, 3, s / 4), runs);
    // Transposed: the GEMM runs over the input's pixels.
    time_layer(dev, "g_up_128", s, ConvTranspose2d<cpu>(256, 128, 3, up), {1, 256, s / 4, s / 4}, conv_gflop(128, 256, 3, s / 4), runs);
    time_layer(dev, "g_up_64", s, ConvTranspose2d<cpu>(128, 64, 3, up), {1, 128, s / 2, s / 2}, conv_gflop(64, 128, 3, s / 2), runs);
    time_layer(dev, "g_c7s1_3", s, Conv2d<cpu>(64, 3, 7, c7), {1, 64, s, s}, conv_gflop(64, 3, 7, s), runs);
    for (auto [c, hw] : {std::pair{64, s}, {128, s / 2}, {256, s / 4}})
        time_layer(dev, "in_relu_" + std::to_string(c), s, Sequential(InstanceNorm2d<cpu>(c), ReLU<cpu>{}), {1, c, hw, hw},
                   std::nullopt, runs);
    for (auto [cin, cout, hw] : {std::tuple{3, 64, s}, {64, 128, s / 2}, {128, 256, s / 4}})
        time_layer(dev, "d_conv_" + std::to_string(cout) + "_lrelu", s, Sequential(Conv2d<cpu>(cin, cout, 4, patch), LeakyReLU<cpu>(0.2)),
                   {1, cin, hw, hw}, conv_gflop(cin, cout, 4, hw / 2), runs);
    // The stride-1 4x4 convolution 256 -> 512 at s/8, the PatchGAN's largest.
    const int hw = s / 8;
    time_layer(dev, "d_conv_512_lrelu", s, Sequential(Conv2d<cpu>(256, 512, 4, {.padding = 1}), LeakyReLU<cpu>(0.2)),
               {1, 256, hw, hw}, conv_gflop(256, 512, 4, hw - 1), runs);
}

// FP32 multiply-add throughput of the kernel set in use: independent chains of vector FMAs (more
// than latency x pipes) on every thread. Zen 5 (family 26) issues two 512-bit FMAs per cycle, 64
// FLOP per cycle per core; Zen 3 and 4 two 256-bit ones, 32 FLOP. Each chain loop is compiled for
// its own target, so a build for the baseline x86-64 measures the same peak as a native one.
[[maybe_unused]] constexpr int kChains = 12, kIters = 1 << 22;
#if CYCLEGAN_X86_KERNELS
__attribute__((target("avx512f"))) double fma_chains_avx512() {
    __m512 acc[kChains], a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-3f);
    for (auto& v : acc) v = _mm512_set1_ps(1.f);
    for (int i = 0; i < kIters; ++i)
        for (auto& v : acc) v = _mm512_fmadd_ps(v, a, b);
    float lanes[16], sink = 0;  // (not _mm512_reduce_add_ps: GCC 12 warns inside it)
    for (auto& v : acc) _mm512_storeu_ps(lanes, v), sink += lanes[0];
    if (sink == 42.f) std::puts("");  // keeps the chains alive
    return 2.0 * 16 * kChains * kIters;
}
__attribute__((target("avx2,fma"))) double fma_chains_avx2() {
    __m256 acc[kChains], a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-3f);
    for (auto& v : acc) v = _mm256_set1_ps(1.f);
    for (int i = 0; i < kIters; ++i)
        for (auto& v : acc) v = _mm256_fmadd_ps(v, a, b);
    float lanes[8], sink = 0;
    for (auto& v : acc) _mm256_storeu_ps(lanes, v), sink += lanes[0];
    if (sink == 42.f) std::puts("");
    return 2.0 * 8 * kChains * kIters;
}
// VDPBF16PS: 32 multiply-adds per instruction.
__attribute__((target("avx512f,avx512bf16"))) double dpbf16_chains() {
    __m512 acc[kChains];
    const __m512bh a = reinterpret_cast<__m512bh>(_mm512_set1_epi32(0x3f7f3f7f)), b = reinterpret_cast<__m512bh>(_mm512_set1_epi32(0x3a833a83));
    for (auto& v : acc) v = _mm512_set1_ps(1.f);
    for (int i = 0; i < kIters; ++i)
        for (auto& v : acc) v = _mm512_dpbf16_ps(v, a, b);
    float lanes[16], sink = 0;
    for (auto& v : acc) _mm512_storeu_ps(lanes, v), sink += lanes[0];
    if (sink == 42.f) std::puts("");
    return 2.0 * 32 * kChains * kIters;
}
#endif

double peak_gflop_per_call(Precision precision) {
    double flop = 0;
#if CYCLEGAN_X86_KERNELS
    const CpuKernels set = cpu_kernels();
    const bool paired = precision == Precision::bf16 && set == CpuKernels::avx512_bf16;
#pragma omp parallel reduction(+ : flop)
    flop += paired ? dpbf16_chains()
            : set == CpuKernels::avx512 || set == CpuKernels::avx512_bf16 || set == CpuKernels::amx_bf16 ? fma_chains_avx512()
            : set == CpuKernels::avx2 ? fma_chains_avx2() : 0;
#endif
    (void)precision;
    return flop / 1e9;
}

// A smooth scene with edges and texture in place of the striped default input, in [-1, 1].
float scene_value(int c, int y, int x) {
    return std::tanh(0.8f * std::sin(x / 41.f + c) * std::cos(y / 57.f - c) + 0.3f * std::sin((x + 2 * y) / 7.f) +
                     ((x / 97 + y / 61) % 2 ? 0.4f : -0.4f));
}

}  // namespace

int main(int argc, char** argv) {
    std::string what = "train";
    int size = 128, runs = 5, threads = 0, tile = 256, height = 0;
    Precision precision = Precision::f32;
    std::string weights, input, output;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--what")) what = argv[i + 1];
        else if (!std::strcmp(argv[i], "--size")) size = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--cpu-kernels")) set_cpu_kernels(cpu_detail::parse_cpu_kernels(argv[i + 1], "--cpu-kernels"));
        else if (!std::strcmp(argv[i], "--precision")) precision = parse_choice(precision_choices, argv[i + 1], "--precision");
        else if (!std::strcmp(argv[i], "--weights")) weights = argv[i + 1];
        else if (!std::strcmp(argv[i], "--input")) input = argv[i + 1];
        else if (!std::strcmp(argv[i], "--output")) output = argv[i + 1];
        else if (!std::strcmp(argv[i], "--tile")) tile = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--height")) height = std::atoi(argv[i + 1]);
    }
    if (what == "scene") {  // the scene as an 8-bit RGB TIFF of size x height (BigTIFF from 2 GiB), by bands
#if defined(CYCLEGAN_HAVE_TIFF)
        if (output.empty() || height < 1) return std::fprintf(stderr, "--what scene needs --height H and --output FILE.tif\n"), 2;
        TiffWriter tiff(output, size, height, 3, 8);
        const int band = TiffWriter::tile_side;
        std::vector<float> rows;
        for (int y0 = 0; y0 < height; y0 += band) {
            const int h = std::min(band, height - y0);
            rows.resize(std::size_t(3) * h * size);
            for (int c = 0; c < 3; ++c)
                for (int y = 0; y < h; ++y)
                    for (int x = 0; x < size; ++x) rows[(std::size_t(c) * h + y) * size + x] = scene_value(c, y0 + y, x);
            tiff.write(y0, 0, h, size, rows.data());
        }
        tiff.finish();
        std::printf("scene %dx%d written to %s\n", size, height, output.c_str());
#else
        return std::fprintf(stderr, "--what scene needs a build with libtiff\n"), 2;
#endif
        return 0;
    }
    cpu dev(threads);
    dev.set_precision(precision);
    std::fprintf(stderr, "cpu: %d threads, %s kernels, %s\n", dev.threads(), to_string(cpu_kernels()), to_string(precision));
    std::vector<float> a(3 * size * size), b(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = std::sin(0.01f * i), b[i] = std::cos(0.013f * i);
    if (!input.empty()) {
        std::ifstream f(input, std::ios::binary);
        if (!f.read(reinterpret_cast<char*>(a.data()), static_cast<std::streamsize>(a.size() * sizeof(float))))
            return std::fprintf(stderr, "--input %s: not %zu raw floats\n", input.c_str(), a.size()), 2;
    }
    auto A = Tensor<cpu>::from_host(dev, {1, 3, size, size}, a), B = Tensor<cpu>::from_host(dev, {1, 3, size, size}, b);

    if (what == "train") {
        PaperCycleGAN<cpu> model(dev, {}, {});
        // Per step: 6 generator forwards, their backwards (about twice a forward each), and the
        // discriminators, which are small beside them; we quote the generators' share only.
        const double gflop = 2 * 3 * 6 * generator_gmacs(size);
        report("train", size, time_runs(1, runs, [&] { model.train_step(A, B); }), gflop);
    } else if (what == "infer") {
        Network<ResnetGenerator9<cpu>> g(dev, ResnetGenerator9<cpu>(), "model");
        if (!weights.empty()) load_network(weights, g);
        g.eval();
        Tensor<cpu> y;
        report("infer", size, time_runs(1, runs, [&] { y = g(A); }), 2 * generator_gmacs(size));
        // Where the resident memory goes (docs/performance.md, "Memory of inference").
        const double px = double(size) * size, mb = 1e-6;
        std::fprintf(stderr,
                     "memory: tensors peak %.1f MB (%.0f B/px; weights %.1f MB), kernels' scratch %.1f MB, "
                     "cached free blocks %.1f MB, transformed weights %.1f MB\n",
                     dev.peak_tensor_bytes() * mb, (dev.peak_tensor_bytes() - g.parameters().numel() * sizeof(float)) / px,
                     g.parameters().numel() * sizeof(float) * mb, dev.scratch_bytes() * mb, dev.cached_bytes() * mb,
                     dev.weight_cache_bytes() * mb);
        if (!output.empty()) {
            const auto v = y.to_host(dev);
            std::ofstream(output, std::ios::binary).write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
        }
    } else if (what == "tiled") {  // issue 27: tiles with the whole image's statistics against whole-image inference
        Network<ResnetGenerator9<cpu>> g(dev, ResnetGenerator9<cpu>(), "model");
        if (!weights.empty()) load_network(weights, g);
        g.eval();
        std::vector<float> scene(a.size());
        for (int c = 0; c < 3; ++c)
            for (int y = 0; y < size; ++y)
                for (int x = 0; x < size; ++x) scene[(std::size_t(c) * size + y) * size + x] = scene_value(c, y, x);
        const auto X = Tensor<cpu>::from_host(dev, {1, 3, size, size}, scene);
        std::vector<float> whole;
        auto measure = [&](const char* name, auto&& run) {
            Tensor<cpu> y;
            dev.reset_peak_memory();
            const std::size_t before = dev.tensor_bytes();
            const auto ms = time_runs(0, runs, [&] { y = run(); });
            const double peak = double(dev.peak_tensor_bytes() - before) * 1e-6;
            const auto v = y.to_host(dev);
            if (whole.empty()) whole = v;
            double sum = 0, worst = 0;
            for (std::size_t i = 0; i < v.size(); ++i) {
                const double d = std::abs(double(v[i]) - whole[i]) * 127.5;  // levels of 255 on [-1, 1]
                sum += d, worst = std::max(worst, d);
            }
            std::printf("%s %d tile %d median_ms %.1f peak_tensor_mb %.1f levels_mean %.4f levels_max %.2f\n", name, size, tile,
                        ms[ms.size() / 2], peak, sum / v.size(), worst);
            std::fflush(stdout);
        };
        const int halo = (ResnetGenerator9<cpu>::receptive_radius + 3) / 4 * 4;
        measure("whole", [&] { return g(X); });
        measure("exact", [&] { return translate_tiled(g, X, {.tile = tile, .halo = halo}, 4); });
        measure("sampled", [&] {
            return translate_tiled(g, X, {.tile = tile, .halo = halo, .statistics = TileStatistics::sampled}, 4);
        });
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
    } else if (what == "layers") {
        time_layers(dev, size, runs);
    } else if (what == "peak") {
        const double gflop = peak_gflop_per_call(precision);
        if (gflop == 0) return std::fprintf(stderr, "--what peak needs the avx2 or avx512 kernel set\n"), 2;
        const bool paired = precision == Precision::bf16 && cpu_kernels() == CpuKernels::avx512_bf16;
        report(paired ? "peak_bf16" : "peak_fp32", 0, time_runs(1, runs, [&] { (void)peak_gflop_per_call(precision); }), gflop);
    } else {
        std::fprintf(stderr, "unknown --what %s (train, infer, tiled, scene, conv3x3, layers, peak)\n", what.c_str());
        return 2;
    }
    return 0;
}
