// The CPU kernels of one kernel set (backend/cpu/kernel_set.hpp) against double precision: every
// convolution algorithm (im2col + GEMM, the few-output kernels, Winograd) forward, input gradient
// and filter gradient on odd sizes, every padding mode, dilation, batch 2 and band edges, and the
// GEMM against a triple loop, and the plain loops every set compiles (simd/loops.inl: norms,
// activations, Adam, SGD, channel biases) against double arithmetic. ctest runs this program once per set (kernels_avx512, kernels_avx2,
// kernels_generic, by CYCLEGAN_CPU_KERNELS) and once more per set built for the baseline x86-64
// (kernels_baseline_*), where only run-time dispatch can reach the AVX kernels; a set this CPU
// cannot run exits 77, which ctest reports as skipped, by the test's name.
#define DOCTEST_CONFIG_IMPLEMENT
#define CYCLEGAN_KERNEL_DEFINITIONS 1  // calls the kernels' internals (cpu_detail) itself
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "support/gradcheck.hpp"

using namespace cyclegan;

namespace {

// Values rounded to float, so that the float kernels and the double reference see the same numbers.
std::vector<double> float_values(std::size_t n, std::uint64_t seed) {
    auto v = test::random_values(n, seed);
    for (double& e : v) e = static_cast<float>(e);
    return v;
}
std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

std::vector<double> map(std::vector<double> v, double (*f)(double)) {
    for (double& e : v) e = f(e);
    return v;
}
double square(double v) { return v * v; }
double magnitude(double v) { return std::abs(v); }

// The parity rule (tests/fixtures/bounds.py, docs/testing.md) for one convolution result: each
// value is a sum of k terms, which float may round by sqrt(k) u times its partial sums (at most
// the terms' magnitudes added up, and at most |sum| + 3 sqrt(sum of squares)), 16 times that for
// Winograd, times 8. `sum(a, b)` computes the result in double for operands a, b. With u = 2^-8
// (bf16's rounding of both operands of each product) it bounds a bf16 Winograd convolution, whose
// products take transformed operands that no double reference on rounded inputs can reproduce.
template <class Sum>
std::vector<double> rule_bound(Sum&& sum, const std::vector<double>& a, const std::vector<double>& b,
                               const std::vector<double>& exact, double k, bool winograd, double u = std::ldexp(1.0, -24)) {
    const std::vector<double> m = sum(map(a, magnitude), map(b, magnitude)), sq = sum(map(a, square), map(b, square));
    u += std::ldexp(1.0, -53);
    std::vector<double> bound(exact.size());
    for (std::size_t i = 0; i < exact.size(); ++i)
        bound[i] = 8 * std::sqrt(k) * u * std::min(m[i], std::abs(exact[i]) + 3 * std::sqrt(sq[i])) * (winograd ? 16 : 1);
    return bound;
}

// The values a bf16 product reads: each rounded to bf16 (core/precision.hpp), or as they are in f32.
std::vector<double> operands(std::vector<double> v, Precision p) {
    if (p == Precision::bf16)
        for (double& e : v) e = round_to_bf16(static_cast<float>(e));
    return v;
}

// How many of `ours` lie outside the f32 rule's bound around the f32 result: a bf16 result that
// is not far from f32 in most places did not round its operands.
std::size_t beyond_f32(const std::vector<float>& ours, const std::vector<double>& exact, const std::vector<double>& f32_bound) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) n += std::abs(double(ours[i]) - exact[i]) > f32_bound[i];
    return n;
}

void expect_within(const char* what, const std::vector<float>& ours, const std::vector<double>& exact, const std::vector<double>& bound) {
    REQUIRE(ours.size() == exact.size());
    std::size_t bad = 0, worst_i = 0;
    double worst = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) {
        const double err = std::abs(double(ours[i]) - exact[i]);
        if (!(err <= bound[i])) ++bad;
        if (err / bound[i] > worst || std::isnan(err)) worst = err / bound[i], worst_i = i;
    }
    INFO(std::string(what) << ": " << bad << " outside the bound; worst error/bound " << worst << " at " << worst_i << " (ours "
              << ours[worst_i] << ", exact " << exact[worst_i] << ")");
    CHECK(bad == 0);
}

// Winograd in bf16: its products take transformed operands rounded to bf16, which a reference on
// rounded inputs cannot reproduce. The reference is the same F(2x2) Winograd in double with its
// transformed operands rounded to bf16 (the portable kernels on cpu64's arithmetic); float's
// transforms differ from double's in the last bits, which tips a rare operand's rounding the other
// way (about 2^-15 of them), so at most 1% of the results may leave float's bound, and none the
// rule at bf16's unit roundoff.
void expect_mostly_within(const char* what, const std::vector<float>& ours, const std::vector<double>& exact,
                          const std::vector<double>& bound, const std::vector<double>& loose) {
    REQUIRE(ours.size() == exact.size());
    std::size_t outside = 0, far = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) {
        const double err = std::abs(double(ours[i]) - exact[i]);
        outside += !(err <= bound[i]), far += !(err <= loose[i]);
    }
    INFO(std::string(what) << ": " << outside << " of " << ours.size() << " outside float's bound, " << far << " outside bf16's");
    CHECK(outside <= ours.size() / 100);
    CHECK(far == 0);
}

struct ConvCase {
    const char* name;
    Shape x;
    int O;
    Conv2dGeometry g;
    cpu_detail::ConvAlgorithm algorithm;
    // What bf16 takes on the amx_bf16 kernels where that differs (the direct convolutions).
    std::optional<cpu_detail::ConvAlgorithm> on_amx = {};
};

// Forward, input gradient and filter gradient (accumulating onto nonzero values) through the
// backend's entry points in float, against the im2col + GEMM path in double. In bf16 the reference
// takes the operands rounded to bf16, so only the order of the float sums differs (im2col + GEMM),
// or the bf16 rule bounds the error against unrounded operands (Winograd: its products take
// transformed operands); the few-output kernels stay in float (docs/architecture.md, "Precision").
void check_convolution(const ConvCase& c, Precision precision = Precision::f32) {
    using namespace cpu_detail;
    INFO(std::string(c.name) << " on the " << std::string(to_string(cpu_kernels())) << " kernels in " << std::string(to_string(precision)));
    const Conv2dGeometry& g = c.g;
    const Shape ws{c.O, c.x.c, g.kernel.h, g.kernel.w}, ys{c.x.n, c.O, g.out_h(c.x.h), g.out_w(c.x.w)};
    const GemmOperands ops = operands_for(precision);
    const ConvAlgorithm algorithm = ops == GemmOperands::amx_bf16 && c.on_amx ? *c.on_amx : c.algorithm;
    REQUIRE(conv_algorithm(g, c.x.c, ys, ops) == algorithm);
    const auto x = float_values(c.x.numel(), 81), w = float_values(ws.numel(), 82), dy = float_values(ys.numel(), 83),
               dw0 = float_values(ws.numel(), 84);
    const bool winograd = algorithm == ConvAlgorithm::winograd;
    const bool bf16 = precision == Precision::bf16 && c.algorithm != ConvAlgorithm::thin;
    const Precision rounding = bf16 && !winograd ? Precision::bf16 : Precision::f32;  // the reference's operands
    const double u = bf16 && winograd ? std::ldexp(1.0, -8) : std::ldexp(1.0, -24);

    auto forward = [&](const std::vector<double>& xv, const std::vector<double>& wv) {
        std::vector<double> y(ys.numel());
        conv2d_forward_gemm(xv.data(), c.x, wv.data(), y.data(), ys, g, GemmOperands::f32);
        return y;
    };
    auto data = [&](const std::vector<double>& dyv, const std::vector<double>& wv) {
        std::vector<double> dx(c.x.numel());
        conv2d_backward_data_gemm(dyv.data(), ys, wv.data(), dx.data(), c.x, g, GemmOperands::f32);
        return dx;
    };
    auto filter = [&](const std::vector<double>& xv, const std::vector<double>& dyv) {
        std::vector<double> dw(ws.numel(), 0.0);
        conv2d_backward_filter_gemm(xv.data(), c.x, dyv.data(), ys, dw.data(), g, GemmOperands::f32);
        return dw;
    };
    const auto xr = operands(x, rounding), wr = operands(w, rounding), dyr = operands(dy, rounding);
    auto y = forward(xr, wr), dx = data(dyr, wr), dw = filter(xr, dyr);
    auto dw_bound = rule_bound(filter, xr, dyr, dw, double(ys.numel()) / ys.c + 1, winograd, u);
    auto dw_f32_bound = rule_bound(filter, xr, dyr, dw, double(ys.numel()) / ys.c + 1, winograd);
    if (bf16 && winograd) {  // the reference: F(2x2) in double on bf16-rounded transformed operands
        using portable::Isa;
        std::fill(dw.begin(), dw.end(), 0.0);
        portable::winograd_forward<2>(Isa{}, RoundedBf16Operands{}, x.data(), c.x, w.data(), y.data(), ys, g, nullptr);
        portable::winograd_backward_data<2>(Isa{}, RoundedBf16Operands{}, dy.data(), ys, w.data(), dx.data(), c.x, g);
        portable::winograd_backward_filter<2>(Isa{}, RoundedBf16Operands{}, x.data(), c.x, dy.data(), ys, dw.data(), g);
    }
    for (std::size_t i = 0; i < dw.size(); ++i) {
        dw[i] += dw0[i];
        dw_bound[i] += 8 * std::ldexp(1.0, -24) * std::abs(dw[i]);
        dw_f32_bound[i] += 8 * std::ldexp(1.0, -24) * std::abs(dw[i]);
    }

    cpu dev;
    dev.set_precision(precision);
    auto tensor = [&](Shape s, const std::vector<double>& v) { return Tensor<cpu>::from_host(dev, s, to_float(v)); };
    const auto xt = tensor(c.x, x), wt = tensor(ws, w), dyt = tensor(ys, dy);
    auto yt = Tensor<cpu>::zeros(dev, ys), dxt = Tensor<cpu>::full(dev, c.x, 7.f), dwt = tensor(ws, dw0);  // dx is overwritten
    conv2d_forward(dev, xt, wt, yt, g);
    conv2d_backward_data(dev, dyt, wt, dxt, g);
    conv2d_backward_filter(dev, xt, dyt, dwt, g);
    const double ky = double(c.x.c) * g.kernel.h * g.kernel.w, kx = double(c.O) * g.kernel.h * g.kernel.w;
    const auto ours_y = yt.to_host(dev), ours_dx = dxt.to_host(dev), ours_dw = dwt.to_host(dev);
    if (bf16 && winograd) {
        expect_mostly_within("y", ours_y, y, rule_bound(forward, x, w, y, ky, winograd), rule_bound(forward, x, w, y, ky, winograd, u));
        expect_mostly_within("dx", ours_dx, dx, rule_bound(data, dy, w, dx, kx, winograd), rule_bound(data, dy, w, dx, kx, winograd, u));
        expect_mostly_within("dw", ours_dw, dw, dw_f32_bound, dw_bound);
    } else {
        expect_within("y", ours_y, y, rule_bound(forward, xr, wr, y, ky, winograd, u));
        expect_within("dx", ours_dx, dx, rule_bound(data, dyr, wr, dx, kx, winograd, u));
        expect_within("dw", ours_dw, dw, dw_bound);
    }
    if (bf16) {  // and it did round: against unrounded operands most results lie outside float's bound
        // (of those that are sums at all: a 1x1 stride-2 convolution reads a quarter of its input)
        auto sums = [](const std::vector<double>& v) { return static_cast<std::size_t>(std::count_if(v.begin(), v.end(), [](double e) { return e != 0; })); };
        const auto y32 = forward(x, w), dx32 = data(dy, w);
        CHECK(beyond_f32(ours_y, y32, rule_bound(forward, x, w, y32, ky, winograd)) > sums(y32) / 2);
        CHECK(beyond_f32(ours_dx, dx32, rule_bound(data, dy, w, dx32, kx, winograd)) > sums(dx32) / 2);
    }
}

}  // namespace

TEST_CASE("the kernel set is the one asked for") {
    const char* forced = std::getenv("CYCLEGAN_CPU_KERNELS");
    if (forced && *forced) CHECK(std::string(to_string(cpu_kernels())) == forced);
    else CHECK(cpu_kernels() == best_cpu_kernels());
    CHECK(cpu_kernels_available(CpuKernels::generic));
    CHECK_THROWS_WITH_AS(cpu_detail::parse_cpu_kernels("sse9", "CYCLEGAN_CPU_KERNELS"),
                         doctest::Contains("CYCLEGAN_CPU_KERNELS=sse9 is not a kernel set"), std::invalid_argument);
    for (CpuKernels k : {CpuKernels::avx512_bf16, CpuKernels::avx512, CpuKernels::avx2})
        if (!cpu_kernels_available(k)) CHECK_THROWS_AS(set_cpu_kernels(k), std::invalid_argument);
    const CpuKernels before = cpu_kernels();
    set_cpu_kernels(CpuKernels::generic);
    CHECK(cpu_kernels() == CpuKernels::generic);
    set_cpu_kernels(before);
}

#if CYCLEGAN_X86_KERNELS
namespace {
// The vector roundings of the kernel sets, and the hardware's, on 16 values at a time (each with its
// kernel set's region's target from simd_kernels.hpp, so the kernels' functions inline).
__attribute__((target(CYCLEGAN_AVX512_TARGET))) void round_avx512(
    const float* in, float* out) {
    _mm512_storeu_ps(out, cpu_detail::avx512::Simd::round_bf16(_mm512_loadu_ps(in)));
}
__attribute__((target(CYCLEGAN_AVX2_TARGET))) void round_avx2(const float* in, float* out) {
    for (int h = 0; h < 16; h += 8) _mm256_storeu_ps(out + h, cpu_detail::avx2::Simd::round_bf16(_mm256_loadu_ps(in + h)));
}
__attribute__((target(CYCLEGAN_AVX512_TARGET))) std::uint64_t fingerprint_avx512(const float* v, std::size_t n) {
    return cpu_detail::avx512::fingerprint(v, n);
}
__attribute__((target(CYCLEGAN_AVX2_TARGET))) std::uint64_t fingerprint_avx2(const float* v, std::size_t n) {
    return cpu_detail::avx2::fingerprint(v, n);
}
__attribute__((target("avx512f,avx512bf16,avx512vl"))) void round_vcvtneps2bf16(const float* in, float* out) {
    using U16 = std::uint16_t __attribute__((vector_size(32)));
    using U32 = std::uint32_t __attribute__((vector_size(64)));
    const U32 bits = __builtin_convertvector((U16)_mm512_cvtneps_pbh(_mm512_loadu_ps(in)), U32) << 16;
    std::memcpy(out, &bits, sizeof bits);
}
}  // namespace
#endif

TEST_CASE("rounding to bf16 is VCVTNEPS2BF16's: ties to even, denormals to zero, NaN quiet, in every kernel set") {
    auto bits = [](float v) { return std::bit_cast<std::uint32_t>(v); };
    auto from = [](std::uint32_t b) { return std::bit_cast<float>(b); };
    // Read off VCVTNEPS2BF16 on an AVX512_BF16 CPU (input bits -> output's upper 16 bits).
    const std::pair<std::uint32_t, std::uint32_t> known[] = {
        {0x000ae398, 0x0000}, {0x800ae398, 0x8000}, {0x7fc00000, 0x7fc0}, {0x7f800000, 0x7f80}, {0x3f808000, 0x3f80},
        {0x3f818000, 0x3f82}, {0x7f61b1e6, 0x7f62}, {0x7f7fc99e, 0x7f80}, {0x00800000, 0x0080}, {0x00000000, 0x0000},
        {0x80000000, 0x8000}, {0x3f804000, 0x3f80}, {0x477fe000, 0x4780}, {0x00000001, 0x0000}, {0xffc00000, 0xffc0},
        {0x0082ab1e, 0x0083}, {0x7f800001, 0x7fc0}, {0xbf7fffff, 0xbf80}};
    for (auto [in, out] : known) {
        CAPTURE(in);
        CHECK(bits(round_to_bf16(from(in))) == out << 16);
    }
    // Random bit patterns (every exponent, NaNs and denormals among them) through each vector rounding.
    std::vector<float> in(1 << 18), scalar(in.size()), vec(in.size());
    std::uint64_t state = 12345;
    for (float& v : in) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        v = from(static_cast<std::uint32_t>(state >> 32));
    }
    for (std::size_t i = 0; i < in.size(); ++i) scalar[i] = round_to_bf16(in[i]);
#if CYCLEGAN_X86_KERNELS
    auto same = [&](const char* what, void (*round16)(const float*, float*)) {
        INFO(what);
        for (std::size_t i = 0; i < in.size(); i += 16) round16(in.data() + i, vec.data() + i);
        std::size_t differ = 0;
        for (std::size_t i = 0; i < in.size(); ++i) differ += bits(vec[i]) != bits(scalar[i]);
        CHECK(differ == 0);
    };
    if (cpu_kernels_available(CpuKernels::avx2)) same("avx2", round_avx2);
    if (cpu_kernels_available(CpuKernels::avx512)) same("avx512", round_avx512);
    if (cpu_kernels_available(CpuKernels::avx512_bf16)) same("VCVTNEPS2BF16", round_vcvtneps2bf16);
    else MESSAGE("no AVX512_BF16 on this CPU: the hardware rounding is compared through the table above only");
#endif
}

TEST_CASE("im2col + GEMM convolutions equal double precision, in f32 and bf16: strides, every padding mode, dilation, band edges") {
    using A = cpu_detail::ConvAlgorithm;
    for (const ConvCase& c : {ConvCase{"3x3 stride 2, zeros, 5 -> 12, batch 2, odd sizes", {2, 5, 13, 11}, 12, {3, 2, 1, 1}, A::gemm},
                              ConvCase{"7x7 reflect 3 -> 16 (the generator's first)", {1, 3, 19, 23}, 16, {7, 1, 3, 1, PaddingMode::reflect}, A::gemm},
                              ConvCase{"4x4 stride 2, replicate, 9 -> 40", {1, 9, 14, 17}, 40, {4, 2, 1, 1, PaddingMode::replicate}, A::gemm},
                              ConvCase{"3x3 dilation 2, 24 -> 20, too few channels for Winograd", {2, 12, 11, 9}, 20, {3, 1, 2, 2}, A::gemm},
                              ConvCase{"1x1, 70 -> 33 (K past a register tile)", {1, 70, 6, 7}, 33, {1, 1, 0, 1}, A::gemm}})
        for (Precision p : {Precision::f32, Precision::bf16}) check_convolution(c, p);
}

TEST_CASE("few-output convolutions equal double precision, in f32 also when bf16 is asked: 1-8 outputs, strips with tails, every padding mode") {
    using A = cpu_detail::ConvAlgorithm;
    for (const ConvCase& c : {ConvCase{"7x7 reflect, 64 -> 3 (the generator's last), 70 wide", {1, 64, 21, 70}, 3, {7, 1, 3, 1, PaddingMode::reflect}, A::thin},
                              ConvCase{"4x4 zeros, 40 -> 1, batch 2 (the PatchGAN's last)", {2, 40, 9, 11}, 1, {4, 1, 1, 1}, A::thin},
                              ConvCase{"3x3 replicate, dilation 2, padding 2, 16 -> 2", {1, 16, 12, 35}, 2, {3, 1, 2, 2, PaddingMode::replicate}, A::thin},
                              ConvCase{"5x3 reflect, 30 -> 8", {1, 30, 10, 19}, 8, {{5, 3}, 1, {2, 1}, 1, PaddingMode::reflect}, A::thin},
                              ConvCase{"7x7 zeros, stride 2, 24 -> 5 (the portable kernels)", {1, 24, 15, 17}, 5, {7, 2, 3, 1}, A::thin},
                              ConvCase{"7x7 reflect, 64 -> 1, 9 wide (less than a vector)", {1, 64, 8, 9}, 1, {7, 1, 3, 1, PaddingMode::reflect}, A::thin}})
        for (Precision p : {Precision::f32, Precision::bf16}) check_convolution(c, p);
}

TEST_CASE("Winograd F(4x4, 3x3) convolutions equal double precision, in f32 and within the bf16 rule: odd sizes, every padding mode, 1x1 tiles") {
    // In bf16 on the amx_bf16 kernels the rows of 16 pixels or more are direct (the next test case
    // says how); the last case keeps to Winograd there.
    using A = cpu_detail::ConvAlgorithm;
    for (const ConvCase& c : {ConvCase{"reflect, batch 2, odd sizes, 19 -> 21", {2, 19, 17, 19}, 21, {3, 1, 1, 1, PaddingMode::reflect}, A::winograd, A::direct},
                              ConvCase{"replicate, 16 -> 24, 32x17", {1, 16, 32, 17}, 24, {3, 1, 1, 1, PaddingMode::replicate}, A::winograd, A::direct},
                              ConvCase{"zeros, no padding, 70 wide", {1, 17, 10, 70}, 18, {3, 1, 0, 1}, A::winograd, A::direct},
                              ConvCase{"zeros, padding 2", {1, 16, 12, 38}, 16, {3, 1, 2, 1}, A::winograd, A::direct},
                              ConvCase{"256 -> 256 at 24x24 (the residual blocks' shape)", {1, 256, 24, 24}, 256, {3, 1, 1, 1, PaddingMode::reflect}, A::winograd, A::direct},
                              ConvCase{"reflect, batch 2, 14 wide (Winograd also on AMX), 24 -> 20", {2, 24, 20, 14}, 20, {3, 1, 1, 1, PaddingMode::reflect}, A::winograd}})
        for (Precision p : {Precision::f32, Precision::bf16}) check_convolution(c, p);
}

TEST_CASE("direct convolutions on AMX equal double precision on bf16 operands: kernel sizes, strides 1 and 2, every padding mode, channel and row tails") {
    // Stride-1 and stride-2 convolutions in bf16 on the amx_bf16 kernels: output rows in runs of 16
    // (the last run overlapping the one before), 32 output channels per block (40: a block of 8 rows
    // past the end), 32 input channels per product (24: one step, zero past them), an odd count of
    // runs, batch 2. The input gradient at stride 1: directly for zero padding within the kernel's
    // reach, else of the padded input, folded back (reflect, replicate, zero padding wider than the
    // kernel reaches); at stride 2 im2col + GEMM's. The filter gradient: rows rounded up to 32
    // pixels, even and odd kernel offsets, the four phases at stride 2. Elsewhere they take
    // float's algorithm.
    using A = cpu_detail::ConvAlgorithm;
    if (cpu_kernels() != CpuKernels::amx_bf16) MESSAGE("the kernel set is not amx_bf16: these cases take float's algorithms");
    for (const ConvCase& c : {ConvCase{"4x4 zeros, 24 -> 40 (the PatchGAN's stride-1 shape)", {1, 24, 10, 21}, 40, {4, 1, 1, 1}, A::gemm, A::direct},
                              ConvCase{"7x7 reflect, 20 -> 17, batch 2", {2, 20, 9, 23}, 17, {7, 1, 3, 1, PaddingMode::reflect}, A::gemm, A::direct},
                              ConvCase{"3x3 replicate, 16 -> 33, 13 x 40 (39 runs)", {1, 16, 13, 40}, 33, {3, 1, 1, 1, PaddingMode::replicate}, A::winograd, A::direct},
                              ConvCase{"1x1, 70 -> 16, 5 x 31", {1, 70, 5, 31}, 16, {1, 1, 0, 1}, A::gemm, A::direct},
                              ConvCase{"3x3 zeros, padding 3, 16 -> 16", {1, 16, 6, 20}, 16, {3, 1, 3, 1}, A::gemm, A::direct},
                              ConvCase{"3x3 stride 2, zeros, 20 -> 24 (the generator's downsampling), odd sizes", {1, 20, 35, 37}, 24, {3, 2, 1, 1}, A::gemm, A::direct},
                              ConvCase{"4x4 stride 2, reflect, 16 -> 33, batch 2 (the PatchGAN's)", {2, 16, 34, 40}, 33, {4, 2, 1, 1, PaddingMode::reflect}, A::gemm, A::direct},
                              ConvCase{"5x5 stride 2, replicate, 40 -> 16", {1, 40, 13, 41}, 16, {5, 2, 2, 1, PaddingMode::replicate}, A::gemm, A::direct},
                              ConvCase{"1x1, stride 2, 16 -> 20 (taps that miss three phases)", {1, 16, 6, 33}, 20, {1, 2, 0, 1}, A::gemm, A::direct}})
        check_convolution(c, Precision::bf16);
}

#if CYCLEGAN_X86_KERNELS
TEST_CASE("the weight cache's fingerprint changes when any value changes, moves or the length does, in every kernel set") {
    std::vector<std::pair<const char*, std::uint64_t (*)(const float*, std::size_t)>> sets;
    if (cpu_kernels_available(CpuKernels::avx2)) sets.push_back({"avx2", fingerprint_avx2});
    if (cpu_kernels_available(CpuKernels::avx512)) sets.push_back({"avx512", fingerprint_avx512});
    else MESSAGE("no AVX-512 on this CPU: its fingerprint is skipped");
    for (const auto& [set, print] : sets)
        for (std::size_t n : {1u, 15u, 16u, 17u, 63u, 64u, 65u, 130u, 200u}) {
            const std::string name = set;
            CAPTURE(name);
            CAPTURE(n);
            auto v = to_float(float_values(n + 1, 7 + n));
            const std::uint64_t base = print(v.data(), n);
            CHECK(print(v.data(), n) == base);
            if (sets.size() == 2) CHECK(fingerprint_avx2(v.data(), n) == fingerprint_avx512(v.data(), n));  // one definition
            std::size_t unchanged = 0;
            for (std::size_t i = 0; i < n; ++i) {  // each value changed by one bit, in full blocks and in the tail
                auto w = v;
                w[i] = std::bit_cast<float>(std::bit_cast<std::uint32_t>(w[i]) ^ 1u);
                unchanged += print(w.data(), n) == base;
                if (i + 1 < n && v[i] != v[i + 1]) {  // and swapped with its neighbour
                    w = v;
                    std::swap(w[i], w[i + 1]);
                    unchanged += print(w.data(), n) == base;
                }
            }
            CHECK(unchanged == 0);
            v[n] = 0;
            CHECK(print(v.data(), n + 1) != base);  // a zero appended: the length counts
        }
}
#endif

#if CYCLEGAN_X86_KERNELS
TEST_CASE("a long tensor's fingerprint, hashed by runs on every thread, is the same for any thread count and sees any run change") {
    const std::size_t run = std::size_t{1} << 16, n = 3 * run + 5;  // three whole runs and a tail
    const auto v = to_float(float_values(n, 11));
    std::vector<std::pair<const char*, std::uint64_t (*)(const float*, std::size_t)>> sets;
    if (cpu_kernels_available(CpuKernels::avx2)) sets.push_back({"avx2", fingerprint_avx2});
    if (cpu_kernels_available(CpuKernels::avx512)) sets.push_back({"avx512", fingerprint_avx512});
    for (const auto& [set, print] : sets) {
        const std::string name = set;
        CAPTURE(name);
        cpu dev;
        const int threads = dev.threads();
        dev.set_threads(1);
        const std::uint64_t alone = print(v.data(), n);
        dev.set_threads(std::max(threads, 2));
        const std::uint64_t base = print(v.data(), n);
        dev.set_threads(threads);
        CHECK(alone == base);
        for (std::size_t i : {std::size_t{0}, run - 1, run, 2 * run + 17, 3 * run, n - 1}) {  // each run, its ends
            CAPTURE(i);
            auto w = v;
            w[i] = std::bit_cast<float>(std::bit_cast<std::uint32_t>(w[i]) ^ 1u);
            CHECK(print(w.data(), n) != base);
        }
        auto w = v;  // two whole runs swapped: their hashes are folded in order
        std::swap_ranges(w.begin(), w.begin() + run, w.begin() + run);
        CHECK(print(w.data(), n) != base);
    }
}
#endif

TEST_CASE("inference keeps transformed Winograd weights, and sees weights changed in place") {
    cpu dev;
    const Conv2dGeometry g{3, 1, 1, 1, PaddingMode::reflect};
    const Shape xs{1, 32, 24, 24}, ws{40, 32, 3, 3}, ys{1, 40, 24, 24};
    REQUIRE(cpu_detail::conv_algorithm(g, xs.c, ys) == cpu_detail::ConvAlgorithm::winograd);
    const auto x = Tensor<cpu>::from_host(dev, xs, to_float(float_values(xs.numel(), 91)));
    auto w = Tensor<cpu>::from_host(dev, ws, to_float(float_values(ws.numel(), 92)));
    auto run = [&](ConvWeights weights) {
        auto y = Tensor<cpu>::zeros(dev, ys);
        conv2d_forward(dev, x, w, y, g, weights);
        return y.to_host(dev);
    };
    const auto fresh = run(ConvWeights::changing);
    CHECK(dev.weight_cache_bytes() == 0);
    CHECK(run(ConvWeights::fixed) == fresh);
    const std::size_t kept = dev.weight_cache_bytes();
    CHECK((cpu_kernels() == CpuKernels::generic ? kept == 0 : kept >= 36 * 40 * 32 * sizeof(float)));
    CHECK(run(ConvWeights::fixed) == fresh);  // from the cache
    CHECK(dev.weight_cache_bytes() == kept);
    // One weight changed in place, as loading a checkpoint into the same network does.
    auto values = w.to_host(dev);
    values[1234] += 0.5f;
    dev.upload(values.data(), w.data(), values.size());
    const auto changed = run(ConvWeights::changing);
    CHECK(changed != fresh);
    CHECK(run(ConvWeights::fixed) == changed);
    CHECK(dev.weight_cache_bytes() == kept);  // replaced, not added
    dev.set_weight_cache_limit(0);
    CHECK(dev.weight_cache_bytes() == 0);
    CHECK(run(ConvWeights::fixed) == changed);
    CHECK(dev.weight_cache_bytes() == 0);
}

TEST_CASE("gemm equals a plain triple loop, in f32 and on bf16 operands: strided views, accumulation, edges and every block boundary") {
    using cpu_detail::MatrixView;
    struct Case {
        int M, N, K;
        bool a_transposed, b_transposed, accumulate, parallel;
    };
    // Sizes below one tile (8 x 32 or 6 x 16), not multiples of it, and past one block of K (256),
    // of A's rows (128 or 120) and of B's columns (3072); odd K (bf16 takes k in pairs); views read
    // row-major and transposed; = and +=. In bf16 the reference multiplies the operands rounded to
    // bf16, so only the order of the float sums differs.
    for (Precision p : {Precision::f32, Precision::bf16})
        for (const Case& c : {Case{1, 1, 1, false, false, false, true}, Case{7, 31, 5, false, false, true, false},
                              Case{70, 45, 33, true, false, false, true}, Case{300, 90, 600, false, true, true, true},
                              Case{9, 3100, 260, true, true, false, true}, Case{140, 40, 513, false, true, false, false},
                              Case{16, 64, 0, false, false, false, true}, Case{13, 17, 1, false, false, true, true}}) {
            const auto ops = cpu_detail::operands_for(p);
            INFO(std::string(to_string(p)) << " on the " << std::string(to_string(cpu_kernels())) << " kernels, operands " << int(ops));
            CAPTURE(c.M);
            CAPTURE(c.N);
            CAPTURE(c.K);
            const auto a = float_values(std::size_t(c.M) * c.K, 71), b = float_values(std::size_t(c.K) * c.N, 72),
                       c0 = float_values(std::size_t(c.M) * (c.N + 3), 73);
            const std::vector<float> af = to_float(a), bf = to_float(b);
            // C has 3 extra columns per row (ldc = N + 3) that must stay untouched.
            std::vector<float> got = to_float(c0);
            const MatrixView<float> A = c.a_transposed ? MatrixView<float>{af.data(), 1, c.M} : cpu_detail::row_major(af.data(), c.K);
            const MatrixView<float> B = c.b_transposed ? MatrixView<float>{bf.data(), 1, c.K} : cpu_detail::row_major(bf.data(), c.N);
            cpu_detail::gemm(c.M, c.N, c.K, A, B, got.data(), c.N + 3, c.accumulate, ops, c.parallel);
            const double u = std::ldexp(1.0, -24);
            auto operand = [&](float v) { return p == Precision::bf16 ? double(round_to_bf16(v)) : double(v); };
            std::size_t bad = 0, beyond = 0;
            for (int i = 0; i < c.M; ++i)
                for (int j = 0; j < c.N + 3; ++j) {
                    const double start = c0[std::size_t(i) * (c.N + 3) + j], ours = got[std::size_t(i) * (c.N + 3) + j];
                    if (j >= c.N) {
                        bad += ours != start;
                        continue;
                    }
                    double sum = c.accumulate ? start : 0, m = std::abs(sum), plain = sum;
                    for (int k = 0; k < c.K; ++k) {
                        const double term = operand(A(i, k)) * operand(B(k, j));
                        sum += term, m += std::abs(term), plain += double(A(i, k)) * B(k, j);
                    }
                    bad += !(std::abs(ours - sum) <= 8 * std::sqrt(c.K + 1.0) * u * m);  // the rule, partial sums <= m
                    beyond += std::abs(ours - plain) > 8 * std::sqrt(c.K + 1.0) * u * m;
                }
            CHECK(bad == 0);
            // bf16 did round its operands: most results are off the unrounded product by more than float's rule.
            if (p == Precision::bf16 && c.K > 2) CHECK(beyond > std::size_t(c.M) * c.N / 2);
        }
}

namespace {

// The loops every kernel set compiles (simd/loops.inl) against double arithmetic on the same float
// inputs. Each result is a few float roundings of terms whose magnitudes `m` the reference adds up,
// so the rule's bound is 8 u m (sums over many values run in double and round once).
struct LoopCheck {
    const char* what;
    std::size_t bad = 0, worst_i = 0;
    double worst = 0;
    std::vector<float> ours;

    void expect(std::size_t i, double exact, double m) {
        const double err = std::abs(double(ours[i]) - exact), bound = 8 * std::ldexp(1.0, -24) * m + 1e-30;
        if (!(err <= bound)) ++bad;
        if (err / bound > worst || std::isnan(err)) worst = err / bound, worst_i = i;
    }
    ~LoopCheck() {
        INFO(std::string(what) << " on the " << std::string(to_string(cpu_kernels())) << " kernels: " << bad
                  << " outside the bound; worst error/bound " << worst << " at " << worst_i);
        CHECK(bad == 0);
    }
};

// Sizes that leave tails after every vector width and cross the loops' 4096-value blocks.
constexpr std::size_t kLoopSizes[] = {1, 7, 33, 4095, 4097, 10007};

}  // namespace

TEST_CASE("the per-set loops equal double precision: activations, Adam, SGD, channel biases") {
    cpu dev;
    for (std::size_t n : kLoopSizes) {
        CAPTURE(n);
        const Shape s{1, 1, 1, int(n)};
        const auto x = to_float(float_values(n, 91)), dy = to_float(float_values(n, 92));
        auto xt = Tensor<cpu>::from_host(dev, s, x), dyt = Tensor<cpu>::from_host(dev, s, dy);
        auto check_op = [&](const char* what, auto op) {
            auto yt = Tensor<cpu>::zeros(dev, s), dxt = Tensor<cpu>::zeros(dev, s);
            pointwise_forward(dev, op, xt, yt);
            pointwise_backward(dev, op, xt, yt, dyt, dxt);
            const auto y = yt.to_host(dev);
            LoopCheck fy{what, 0, 0, 0, y}, fdx{what, 0, 0, 0, dxt.to_host(dev)};
            for (std::size_t i = 0; i < n; ++i) {
                const double f = op.f(double(x[i]));
                fy.expect(i, f, std::abs(f) + std::abs(x[i]) * 1e-30);
                // df from our (float) y, as the layer passes it: dy * df(x, y) in double.
                const double d = double(dy[i]) * op.df(double(x[i]), double(y[i]));
                fdx.expect(i, d, std::abs(dy[i]) * (1 + double(y[i]) * y[i]));
            }
        };
        check_op("LeakyReLU(0.2)", LeakyReLUOp{0.2f});
        check_op("Tanh", TanhOp{});
        check_op("Sigmoid", SigmoidOp{});
        check_op("ReLU", ReLUOp{});

        // Adam at step 3 with weight decay, from moments already nonzero.
        const auto p0 = to_float(float_values(n, 93)), m0 = to_float(float_values(n, 94));
        auto v0 = to_float(float_values(n, 95));
        for (float& e : v0) e = e * e;
        auto pt = Tensor<cpu>::from_host(dev, s, p0), mt = Tensor<cpu>::from_host(dev, s, m0),
             vt = Tensor<cpu>::from_host(dev, s, v0);
        const double lr = 2e-4, b1 = 0.5, b2 = 0.999, eps = 1e-8, wd = 0.01;
        adam_update(dev, pt, dyt, mt, vt, lr, b1, b2, eps, wd, 3);
        {
            LoopCheck cp{"Adam p", 0, 0, 0, pt.to_host(dev)}, cm{"Adam m", 0, 0, 0, mt.to_host(dev)},
                cv{"Adam v", 0, 0, 0, vt.to_host(dev)};
            const double bc1 = 1 - std::pow(b1, 3), bc2 = 1 - std::pow(b2, 3);
            for (std::size_t i = 0; i < n; ++i) {
                const double g = dy[i] + wd * p0[i], m = b1 * m0[i] + (1 - b1) * g, v = b2 * v0[i] + (1 - b2) * g * g;
                const double step = lr / bc1 * m / (std::sqrt(v / bc2) + eps);
                const double gm = std::abs(dy[i]) + wd * std::abs(p0[i]);
                cm.expect(i, m, b1 * std::abs(m0[i]) + (1 - b1) * gm);
                cv.expect(i, v, b2 * v0[i] + (1 - b2) * gm * gm);
                // The step's relative error is a few u of m and v (their own magnitudes over their values).
                const double rel = (b1 * std::abs(m0[i]) + (1 - b1) * gm) / std::max(std::abs(m), 1e-30) +
                                   (b2 * v0[i] + (1 - b2) * gm * gm) / std::max(v, 1e-30);
                cp.expect(i, p0[i] - step, std::abs(p0[i]) + std::abs(step) * (4 + rel));
            }
        }
        // SGD with Nesterov momentum, not the first step.
        auto qt = Tensor<cpu>::from_host(dev, s, p0), bt = Tensor<cpu>::from_host(dev, s, m0);
        sgd_update(dev, qt, dyt, bt, 0.1, 0.9, 0.0, 0.01, true, false);
        {
            LoopCheck cq{"SGD p", 0, 0, 0, qt.to_host(dev)}, cb{"SGD buf", 0, 0, 0, bt.to_host(dev)};
            for (std::size_t i = 0; i < n; ++i) {
                const double d = dy[i] + 0.01 * p0[i], buf = 0.9 * m0[i] + d, step = d + 0.9 * buf;
                const double dm = std::abs(dy[i]) + 0.01 * std::abs(p0[i]), bm = 0.9 * std::abs(m0[i]) + dm;
                cb.expect(i, buf, bm);
                cq.expect(i, p0[i] - 0.1 * step, std::abs(p0[i]) + 0.1 * (dm + 0.9 * bm));
            }
        }
    }
    // Channel biases over planes of every tail length; the gradient accumulates onto what is there.
    for (const Shape s : {Shape{2, 3, 5, 7}, Shape{1, 2, 33, 31}, Shape{3, 5, 1, 1}}) {
        CAPTURE(to_string(s));
        const auto y0 = to_float(float_values(s.numel(), 96)), b = to_float(float_values(s.c, 97)),
                   db0 = to_float(float_values(s.c, 98));
        auto yt = Tensor<cpu>::from_host(dev, s, y0), dbt = Tensor<cpu>::from_host(dev, Shape{s.c, 1, 1, 1}, db0);
        const auto bt = Tensor<cpu>::from_host(dev, Shape{s.c, 1, 1, 1}, b);
        add_channel_bias(dev, yt, bt);
        channel_bias_backward(dev, Tensor<cpu>::from_host(dev, s, y0), dbt);
        LoopCheck cy{"bias", 0, 0, 0, yt.to_host(dev)}, cdb{"bias gradient", 0, 0, 0, dbt.to_host(dev)};
        std::vector<double> sum(db0.begin(), db0.end()), m(s.c, 0.0);
        for (std::size_t i = 0; i < s.numel(); ++i) {
            const int c = int(i / s.plane()) % s.c;
            cy.expect(i, double(y0[i]) + b[c], std::abs(y0[i]) + std::abs(b[c]));
            sum[c] += y0[i], m[c] += std::abs(y0[i]);
        }
        for (int c = 0; c < s.c; ++c) cdb.expect(c, sum[c], m[c] + std::abs(db0[c]));
    }
}

TEST_CASE("the per-set norm loops equal double precision: statistics, forward and backward, odd planes") {
    cpu dev;
    for (const Shape s : {Shape{2, 3, 5, 7}, Shape{1, 2, 33, 31}, Shape{1, 1, 1, 2}, Shape{2, 2, 70, 70}}) {
        CAPTURE(to_string(s));
        const auto g = NormGroups::per_plane(s);
        const auto x = to_float(float_values(s.numel(), 101)), dy = to_float(float_values(s.numel(), 102)),
                   w = to_float(float_values(s.c, 103)), b = to_float(float_values(s.c, 104));
        const Shape gs{g.groups, 1, 1, 1}, cs{s.c, 1, 1, 1};
        const auto xt = Tensor<cpu>::from_host(dev, s, x), dyt = Tensor<cpu>::from_host(dev, s, dy),
                   wt = Tensor<cpu>::from_host(dev, cs, w), bt = Tensor<cpu>::from_host(dev, cs, b);
        auto mean = Tensor<cpu>::zeros(dev, gs), rstd = Tensor<cpu>::zeros(dev, gs), var = Tensor<cpu>::zeros(dev, gs);
        auto yt = Tensor<cpu>::zeros(dev, s), dxt = Tensor<cpu>::zeros(dev, s);
        auto dwt = Tensor<cpu>::zeros(dev, cs), dbt = Tensor<cpu>::zeros(dev, cs);
        const double eps = 1e-5;
        norm_statistics(dev, xt, g, eps, mean, rstd, &var);
        norm_forward(dev, xt, g, mean, rstd, wt, bt, yt);
        norm_backward(dev, xt, dyt, g, mean, rstd, wt, true, &dxt, &dwt, &dbt);

        LoopCheck cmean{"mean", 0, 0, 0, mean.to_host(dev)}, crstd{"rstd", 0, 0, 0, rstd.to_host(dev)},
            cvar{"variance", 0, 0, 0, var.to_host(dev)}, cy{"norm forward", 0, 0, 0, yt.to_host(dev)},
            cdx{"norm dx", 0, 0, 0, dxt.to_host(dev)}, cdw{"norm dweight", 0, 0, 0, dwt.to_host(dev)},
            cdb{"norm dbias", 0, 0, 0, dbt.to_host(dev)};
        const std::size_t M = s.plane();
        std::vector<double> dw(s.c, 0.0), db(s.c, 0.0), dwm(s.c, 0.0), dbm(s.c, 0.0);
        for (int k = 0; k < g.groups; ++k) {
            const int c = k % s.c;
            const float* px = x.data() + k * M;
            const float* pdy = dy.data() + k * M;
            double mu = 0, absx = 0, ss = 0;
            for (std::size_t i = 0; i < M; ++i) mu += px[i], absx += std::abs(px[i]);
            mu /= M, absx /= M;
            for (std::size_t i = 0; i < M; ++i) ss += (px[i] - mu) * (px[i] - mu);
            const double v = ss / M, r = 1 / std::sqrt(v + eps);
            cmean.expect(k, mu, absx);
            cvar.expect(k, v, v);
            crstd.expect(k, r, r);
            // y = x * scale + shift in float, scale = r w, shift = b - mean scale.
            const double scale = r * w[c];
            double a = 0, bsum = 0, am = 0, bm = 0;
            for (std::size_t i = 0; i < M; ++i) {
                const double xhat = (px[i] - mu) * r;
                cy.expect(k * M + i, xhat * w[c] + b[c], (std::abs(px[i]) + std::abs(mu)) * std::abs(scale) + std::abs(b[c]));
                a += pdy[i], bsum += pdy[i] * xhat, am += std::abs(pdy[i]), bm += std::abs(pdy[i] * xhat);
            }
            dw[c] += bsum, db[c] += a, dwm[c] += bm, dbm[c] += am;
            // dx = w r (dy - a/M - xhat b/M); xhat carries a float error of (|x| + |mean|) r u.
            for (std::size_t i = 0; i < M; ++i) {
                const double xhat = (px[i] - mu) * r;
                const double d = scale * (pdy[i] - a / M - xhat * bsum / M);
                const double m = std::abs(scale) * (std::abs(pdy[i]) + am / M + (std::abs(xhat) + (std::abs(px[i]) + std::abs(mu)) * r) * bm / M);
                cdx.expect(k * M + i, d, m);
            }
        }
        for (int c = 0; c < s.c; ++c) cdw.expect(c, dw[c], dwm[c] * 4), cdb.expect(c, db[c], dbm[c]);
    }
}

int main(int argc, char** argv) {
    // A forced set this CPU cannot run is a skip (exit 77), not a failure: ctest names it skipped.
    if (const char* forced = std::getenv("CYCLEGAN_CPU_KERNELS"); forced && *forced) {
        for (const auto& [name, k] : cpu_kernel_choices)
            if (forced == std::string(name) && !cpu_kernels_available(k)) {
                std::printf("skipped: this CPU or build cannot run the %s kernels (it can run: %s)\n", forced,
                            cpu_detail::available_list().c_str());
                return 77;
            }
    }
    std::printf("kernel set: %s\n", to_string(cpu_kernels()));
    // Tiny budgets: every convolution here runs in bands of one or a few output rows (im2col) or
    // one row of Winograd tiles, so the checks also cover the band edges (and a last, shorter band).
    cpu::set_tuning({.conv_column_budget = 100, .winograd_budget = 100});
    doctest::Context context(argc, argv);
    return context.run();
}
