// Conv2d and ConvTranspose2d: values by hand, finite-difference gradients, PyTorch parity.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#define CYCLEGAN_KERNEL_DEFINITIONS 1  // asks cpu_detail::conv_algorithm which kernel a case takes
#include <algorithm>
#include <array>

#include "support/gradcheck.hpp"
#include "support/parity.hpp"

using namespace cyclegan;
using test::gradcheck;

// Tiny budgets: every convolution here runs in bands of one or a few output rows (im2col) or one
// row of Winograd tiles, so the checks below also cover the band edges (and a last, shorter band).
// Set before main, so before any test runs.
static const bool small_bands = (cpu::set_tuning({.conv_column_budget = 100, .winograd_budget = 100}), true);
using test::random_tensor;

namespace {

template <class B, class L>
void set_params(Network<L>& net, std::vector<std::vector<typename B::scalar>> values) {
    auto& named = net.named_tensors();
    REQUIRE(named.size() == values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        REQUIRE(values[i].size() == named[i].value.numel());
        net.device().upload(values[i].data(), named[i].value.data(), values[i].size());
    }
}

}  // namespace

TEST_CASE("Conv2d forward by hand: 2x2 kernel over a 3x3 image, with bias") {
    cpu dev;
    Network<Conv2d<cpu>> net(dev, Conv2d<cpu>(1, 1, 2));
    set_params<cpu>(net, {{1, 2, 3, 4}, {0.5f}});
    // x = 1..9 row by row; y[i][j] = x[i][j] + 2 x[i][j+1] + 3 x[i+1][j] + 4 x[i+1][j+1] + 0.5
    auto x = Tensor<cpu>::from_host(dev, {1, 1, 3, 3}, std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9});
    auto y = net(x).to_host(dev);
    CHECK(y == std::vector<float>{37.5f, 47.5f, 67.5f, 77.5f});
}

TEST_CASE("Conv2d forward by hand: stride 2, padding 1 reads zeros outside") {
    cpu dev;
    Network<Conv2d<cpu>> net(dev, Conv2d<cpu>(1, 1, 3, {.stride = 2, .padding = 1, .bias = false}));
    set_params<cpu>(net, {{1, 1, 1, 1, 1, 1, 1, 1, 1}});
    auto x = Tensor<cpu>::full(dev, {1, 1, 4, 4}, 1.0f);
    auto y = net(x);
    CHECK(y.shape() == Shape{1, 1, 2, 2});
    // Windows centred at (0,0), (0,2), (2,0), (2,2): 4, 6, 6, 9 ones inside the image.
    CHECK(y.to_host(dev) == std::vector<float>{4, 6, 6, 9});
}

TEST_CASE("ConvTranspose2d forward by hand: stride 2 scatters each input pixel") {
    cpu dev;
    Network<ConvTranspose2d<cpu>> net(dev, ConvTranspose2d<cpu>(1, 1, 2, {.stride = 2, .bias = false}));
    set_params<cpu>(net, {{1, 2, 3, 4}});
    auto x = Tensor<cpu>::from_host(dev, {1, 1, 1, 2}, std::vector<float>{1, 10});
    auto y = net(x);
    CHECK(y.shape() == Shape{1, 1, 2, 4});
    CHECK(y.to_host(dev) == std::vector<float>{1, 2, 10, 20, 3, 4, 30, 40});
}

TEST_CASE("ConvTranspose2d output size follows output_padding") {
    cpu dev;
    Network<ConvTranspose2d<cpu>> net(dev, ConvTranspose2d<cpu>(2, 3, 3, {.stride = 2, .padding = 1, .output_padding = 1}));
    auto y = net(Tensor<cpu>::zeros(dev, {1, 2, 5, 6}));
    CHECK(y.shape() == Shape{1, 3, 10, 12});
    CHECK_THROWS_AS(ConvTranspose2d<cpu>(2, 3, 3, {.stride = 2, .output_padding = 2}), std::invalid_argument);
}

TEST_CASE("a kernel larger than the padded input is refused at any stride, as PyTorch refuses it") {
    // floor((1 + 2 - 4) / 2) + 1 = 0 rows: C++'s division towards zero would have made it 1.
    const Conv2dGeometry g{4, 2, 1, 1};
    CHECK(g.out_h(1) == 0);
    CHECK(g.out_h(2) == 1);
    CHECK(g.out_w(6) == 3);
    cpu dev;
    Network<Conv2d<cpu>> net(dev, Conv2d<cpu>(1, 1, 4, {.stride = 2, .padding = 1}));
    CHECK_THROWS_WITH_AS(net(Tensor<cpu>::zeros(dev, {1, 1, 1, 4})), "Conv2d: input [1, 1, 1, 4] is smaller than the kernel",
                         shape_error);
    CHECK(net(Tensor<cpu>::zeros(dev, {1, 1, 2, 4})).shape() == Shape{1, 1, 1, 2});
}

TEST_CASE("ConvTranspose2d checks its input: channels, and an output its padding leaves") {
    cpu dev;
    Network<ConvTranspose2d<cpu>> net(dev, ConvTranspose2d<cpu>(2, 3, 3, {.padding = 2}));
    CHECK_THROWS_WITH_AS(net(Tensor<cpu>::zeros(dev, {1, 3, 4, 4})),
                         "ConvTranspose2d: expected 2 input channels, got input of shape [1, 3, 4, 4]", shape_error);
    // (1 - 1) * 1 - 2 * 2 + 2 + 1 = -1 rows
    CHECK_THROWS_WITH_AS(net(Tensor<cpu>::zeros(dev, {1, 2, 1, 4})),
                         "ConvTranspose2d: input [1, 2, 1, 4] gives no output ([1, 3, -1, 2]): its padding is more than "
                         "the kernel reaches",
                         shape_error);
    CHECK(net(Tensor<cpu>::zeros(dev, {1, 2, 3, 4})).shape() == Shape{1, 3, 1, 2});
}

TEST_CASE("Conv2d rejects a wrong channel count and names the shape") {
    cpu dev;
    Network<Conv2d<cpu>> net(dev, Conv2d<cpu>(3, 4, 3));
    CHECK_THROWS_WITH_AS(net(Tensor<cpu>::zeros(dev, {1, 2, 5, 5})),
                         "Conv2d: expected 3 input channels, got input of shape [1, 2, 5, 5]", shape_error);
    CHECK_THROWS_AS(net(Tensor<cpu>::zeros(dev, {1, 3, 2, 2})), shape_error);
}

TEST_CASE("Conv2d gradients match finite differences") {
    cpu64 dev;
    SUBCASE("3x3, padding 1, odd sizes, batch 2") {
        Network<Conv2d<cpu64>> net(dev, Conv2d<cpu64>(3, 4, 3, {.padding = 1}), "", {.gain = 0.5});
        gradcheck(net, random_tensor(dev, {2, 3, 5, 7}, 1));
    }
    SUBCASE("4x4, stride 2, padding 1") {
        Network<Conv2d<cpu64>> net(dev, Conv2d<cpu64>(2, 3, 4, {.stride = 2, .padding = 1}), "", {.gain = 0.5});
        gradcheck(net, random_tensor(dev, {2, 2, 7, 6}, 2));
    }
    SUBCASE("3x3, dilation 2, no bias, rectangular kernel") {
        Network<Conv2d<cpu64>> net(dev, Conv2d<cpu64>(2, 2, {3, 2}, {.padding = {2, 1}, .dilation = 2, .bias = false}), "", {.gain = 0.5});
        gradcheck(net, random_tensor(dev, {1, 2, 6, 5}, 3));
    }
}

TEST_CASE("Conv2d with reflect and replicate padding: the padded pair's values, and gradients") {
    SUBCASE("equal ReflectionPad2d / ReplicationPad2d followed by an unpadded Conv2d") {
        cpu64 dev;
        auto x = random_tensor(dev, {2, 2, 5, 6}, 21);
        for (auto mode : {PaddingMode::reflect, PaddingMode::replicate}) {
            Network<Conv2d<cpu64>> folded(dev, Conv2d<cpu64>(2, 3, 3, {.padding = 2, .padding_mode = mode}), "", {.gain = 0.5, .seed = 4});
            using Pair = Sequential<OneOf<ReflectionPad2d<cpu64>, ReplicationPad2d<cpu64>>, Conv2d<cpu64>>;
            Network<Pair> pair(dev,
                               Pair(mode == PaddingMode::reflect ? OneOf<ReflectionPad2d<cpu64>, ReplicationPad2d<cpu64>>(ReflectionPad2d<cpu64>(2))
                                                                 : OneOf<ReflectionPad2d<cpu64>, ReplicationPad2d<cpu64>>(ReplicationPad2d<cpu64>(2)),
                                    Conv2d<cpu64>(2, 3, 3)),
                               "", {.gain = 0.5, .seed = 4});
            const auto a = folded(x).to_host(dev), b = pair(x).to_host(dev);
            REQUIRE(a.size() == b.size());
            for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-12));
        }
    }
    SUBCASE("gradients") {
        cpu64 dev;
        Network<Conv2d<cpu64>> reflect(dev, Conv2d<cpu64>(2, 2, 7, {.padding = 3, .padding_mode = PaddingMode::reflect}), "", {.gain = 0.3});
        gradcheck(reflect, random_tensor(dev, {2, 2, 5, 4}, 22));
        Network<Conv2d<cpu64>> replicate(dev, Conv2d<cpu64>(2, 3, 3, {.stride = 2, .padding = 2, .padding_mode = PaddingMode::replicate}), "", {.gain = 0.3});
        gradcheck(replicate, random_tensor(dev, {1, 2, 5, 6}, 23));
    }
    SUBCASE("reflect padding as wide as the image is refused") {
        cpu dev;
        Network<Conv2d<cpu>> net(dev, Conv2d<cpu>(1, 1, 7, {.padding = 3, .padding_mode = PaddingMode::reflect}));
        CHECK_THROWS_AS(net(Tensor<cpu>::zeros(dev, {1, 1, 3, 8})), shape_error);
    }
}

TEST_CASE("Convolutions with few output channels (no column buffer) equal the GEMM path, and their gradients") {
    // Conv2d with 3 outputs takes conv_thin.hpp's path; with 9 it takes im2col + GEMM. Given the same
    // weights for the first 3 outputs, both give those outputs, and the same dx for a dy that is zero
    // on the other 6.
    cpu64 dev;
    struct Case {
        const char* name;
        int C;
        Pair2 k;
        Conv2dOptions o;
        Shape x;
    };
    for (const Case& c : {Case{"7x7 reflect (the generator's last conv)", 20, 7, {.padding = 3, .padding_mode = PaddingMode::reflect}, {2, 20, 9, 8}},
                          Case{"4x4 stride 2, zeros (the PatchGAN's last conv)", 40, 4, {.stride = 2, .padding = 1}, {1, 40, 9, 7}},
                          Case{"5x3 dilation 2, replicate, no bias", 12, {5, 3}, {.padding = {4, 2}, .dilation = 2, .bias = false, .padding_mode = PaddingMode::replicate}, {1, 12, 7, 6}}}) {
        INFO(c.name);
        Network<Conv2d<cpu64>> thin(dev, Conv2d<cpu64>(c.C, 3, c.k, c.o), "", {.gain = 0.3, .seed = 8});
        Network<Conv2d<cpu64>> wide(dev, Conv2d<cpu64>(c.C, 9, c.k, c.o), "", {.gain = 0.3, .seed = 9});
        const std::size_t w3 = thin.named_tensors()[0].value.numel();
        dev.copy(thin.named_tensors()[0].value.data(), wide.named_tensors()[0].value.data(), w3);
        if (c.o.bias) dev.copy(thin.named_tensors()[1].value.data(), wide.named_tensors()[1].value.data(), 3);
        const auto x = random_tensor(dev, c.x, 31);
        typename Network<Conv2d<cpu64>>::Context ct, cw;
        const auto yt = thin.forward(x, ct), yw = wide.forward(x, cw);
        const Shape ys = yt.shape();
        const auto dyt = random_tensor(dev, ys, 32);
        auto dyw = Tensor<cpu64>::zeros(dev, yw.shape());
        for (int n = 0; n < ys.n; ++n)
            dev.copy(dyt.images(n).data(), dyw.images(n).data(), ys.image());  // outputs 0-2 of each image
        Tensor<cpu64> dxt, dxw;
        thin.backward(ct, dyt, &dxt);
        wide.backward(cw, dyw, &dxw);
        for (int n = 0; n < ys.n; ++n)
            for (std::size_t i = 0; i < ys.image(); ++i)
                CHECK(yt.images(n).data()[i] == doctest::Approx(yw.images(n).data()[i]).epsilon(1e-12));
        const auto a = dxt.to_host(dev), b = dxw.to_host(dev);
        for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-12));
        const auto ga = thin.gradients().to_host(dev), gb = wide.gradients().to_host(dev);
        for (std::size_t i = 0; i < w3; ++i) CHECK(ga[i] == doctest::Approx(gb[i]).epsilon(1e-12));
        gradcheck(thin, random_tensor(dev, c.x, 33));
    }
}

namespace {

// Runs Winograd F(M x M, 3x3) and im2col + GEMM on the same x, w, dy and returns the largest
// difference of y, dx and dw (which both start from the same nonzero values: the filter gradient
// accumulates) relative to the largest value of each.
template <int M, class T>
std::array<double, 3> winograd_against_gemm(Shape xs, int O, int pad, PaddingMode mode, std::uint64_t seed) {
    using namespace cpu_detail;
    const Conv2dGeometry g{3, 1, pad, 1, mode};
    const Shape ws{O, xs.c, 3, 3}, ys{xs.n, O, g.out_h(xs.h), g.out_w(xs.w)};
    auto values = [&](Shape s, std::uint64_t k) {
        const auto d = test::random_values(s.numel(), seed + k);
        return std::vector<T>(d.begin(), d.end());
    };
    const auto x = values(xs, 1), w = values(ws, 2), dy = values(ys, 3), dw0 = values(ws, 4);
    std::vector<T> y[2] = {std::vector<T>(ys.numel()), std::vector<T>(ys.numel())};
    std::vector<T> dx[2] = {std::vector<T>(xs.numel(), T(7)), std::vector<T>(xs.numel(), T(7))};  // overwritten
    std::vector<T> dw[2] = {dw0, dw0};
    conv2d_forward_winograd<M>(x.data(), xs, w.data(), y[0].data(), ys, g);
    conv2d_backward_data_winograd<M>(dy.data(), ys, w.data(), dx[0].data(), xs, g);
    conv2d_backward_filter_winograd<M>(x.data(), xs, dy.data(), ys, dw[0].data(), g);
    conv2d_forward_gemm(x.data(), xs, w.data(), y[1].data(), ys, g);
    conv2d_backward_data_gemm(dy.data(), ys, w.data(), dx[1].data(), xs, g);
    conv2d_backward_filter_gemm(x.data(), xs, dy.data(), ys, dw[1].data(), g);
    auto relative = [](const std::vector<T>& a, const std::vector<T>& b) {
        double diff = 0, top = 0;
        for (std::size_t i = 0; i < a.size(); ++i) {
            diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
            top = std::max(top, std::abs(double(b[i])));
        }
        return diff / top;
    };
    return {relative(y[0], y[1]), relative(dx[0], dx[1]), relative(dw[0], dw[1])};
}

}  // namespace

TEST_CASE("Winograd F(2x2, 3x3) and F(4x4, 3x3) equal im2col + GEMM: forward, dx and dw") {
    struct Case {
        const char* name;
        Shape x;
        int O, pad;
        PaddingMode mode;
    };
    // Sizes that are not multiples of the tile, channel counts that are not multiples of the SIMD
    // lanes, more tiles in a row than lanes (70 wide), batch 2, every padding mode, and padding 0
    // and 2 (an output smaller and larger than the input).
    for (const Case& c : {Case{"reflect, batch 2, odd sizes", {2, 19, 11, 13}, 21, 1, PaddingMode::reflect},
                          Case{"replicate, 8x8", {1, 16, 8, 8}, 24, 1, PaddingMode::replicate},
                          Case{"zeros, no padding, 70 wide", {1, 17, 7, 70}, 18, 0, PaddingMode::zeros},
                          Case{"zeros, padding 2", {1, 16, 5, 38}, 16, 2, PaddingMode::zeros},
                          Case{"reflect, 1x1 output tiles", {1, 20, 3, 3}, 17, 1, PaddingMode::reflect}}) {
        INFO(c.name);
        for (const auto& e : {winograd_against_gemm<2, double>(c.x, c.O, c.pad, c.mode, 40),
                              winograd_against_gemm<4, double>(c.x, c.O, c.pad, c.mode, 50)})
            for (double r : e) CHECK(r < 1e-12);
    }
}

TEST_CASE("Conv2d takes Winograd for 3x3 stride-1 kernels over 16 or more channels and 512 pixels, and its gradients are right") {
    using cpu_detail::ConvAlgorithm;
    using cpu_detail::conv_algorithm;
    const Conv2dGeometry res{3, 1, 1, 1, PaddingMode::reflect};
    CHECK(conv_algorithm(res, 256, {1, 256, 64, 64}) == ConvAlgorithm::winograd);
    CHECK(conv_algorithm(res, 16, {1, 16, 32, 16}) == ConvAlgorithm::winograd);
    CHECK(conv_algorithm(res, 16, {2, 16, 16, 16}) == ConvAlgorithm::winograd);  // the batch counts
    CHECK(conv_algorithm(res, 256, {1, 256, 16, 16}) == ConvAlgorithm::gemm);    // too few pixels
    CHECK(conv_algorithm(res, 15, {1, 64, 64, 64}) == ConvAlgorithm::gemm);
    CHECK(conv_algorithm({3, 2, 1}, 256, {1, 256, 64, 64}) == ConvAlgorithm::gemm);      // stride 2
    CHECK(conv_algorithm({3, 1, 2, 2}, 256, {1, 256, 64, 64}) == ConvAlgorithm::gemm);   // dilation 2
    CHECK(conv_algorithm({{3, 5}, 1, 1}, 256, {1, 256, 64, 64}) == ConvAlgorithm::gemm);  // 3x5
    CHECK(conv_algorithm({7, 1, 3}, 64, {1, 3, 64, 64}) == ConvAlgorithm::thin);
    cpu64 dev;
    Network<Conv2d<cpu64>> net(dev, Conv2d<cpu64>(16, 16, 3, {.padding = 1, .padding_mode = PaddingMode::reflect}), "", {.gain = 0.3});
    REQUIRE(conv_algorithm(res, 16, {1, 16, 32, 17}) == ConvAlgorithm::winograd);
    gradcheck(net, random_tensor(dev, {1, 16, 32, 17}, 62));
}

TEST_CASE("the CPU's tuning settings reach the kernels, and settings that cannot work are refused") {
    using cpu_detail::ConvAlgorithm;
    using cpu_detail::conv_algorithm;
    const CpuTuning before = cpu::tuning();
    const Conv2dGeometry res{3, 1, 1, 1, PaddingMode::reflect};
    REQUIRE(conv_algorithm(res, 16, {1, 16, 32, 16}) == ConvAlgorithm::winograd);
    CpuTuning t = before;
    t.winograd_min_channels = CpuTuning::winograd_off();
    cpu::set_tuning(t);
    CHECK(conv_algorithm(res, 16, {1, 16, 32, 16}) == ConvAlgorithm::gemm);
    t.winograd_min_channels = 8;
    t.winograd_min_pixels = 64;
    cpu::set_tuning(t);
    CHECK(conv_algorithm(res, 8, {1, 8, 8, 8}) == ConvAlgorithm::winograd);
    cpu::set_tuning(before);
    CHECK(conv_algorithm(res, 8, {1, 8, 8, 8}) == ConvAlgorithm::gemm);
    CHECK_THROWS_WITH_AS(cpu::set_tuning({.conv_column_budget = 0}), "CpuTuning: conv_column_budget must be positive",
                         std::invalid_argument);
    CHECK_THROWS_AS(cpu::set_tuning({.winograd_min_channels = 0}), std::invalid_argument);
    CHECK(cpu::tuning().conv_column_budget == before.conv_column_budget);  // a refused setting changes nothing
}

TEST_CASE("ConvTranspose2d gradients match finite differences") {
    cpu64 dev;
    SUBCASE("3x3, stride 2, padding 1, output_padding 1, batch 2") {
        Network<ConvTranspose2d<cpu64>> net(dev, ConvTranspose2d<cpu64>(3, 2, 3, {.stride = 2, .padding = 1, .output_padding = 1}), "", {.gain = 0.5});
        gradcheck(net, random_tensor(dev, {2, 3, 3, 5}, 4));
    }
    SUBCASE("4x4, stride 2, no bias") {
        Network<ConvTranspose2d<cpu64>> net(dev, ConvTranspose2d<cpu64>(2, 3, 4, {.stride = 2, .padding = 1, .bias = false}), "", {.gain = 0.5});
        gradcheck(net, random_tensor(dev, {1, 2, 3, 4}, 5));
    }
}

TEST_CASE("Conv2d with Grad::ignore leaves the weight gradients untouched but still computes dx") {
    cpu64 dev;
    Network<Conv2d<cpu64>> net(dev, Conv2d<cpu64>(2, 2, 3, {.padding = 1}));
    auto x = random_tensor(dev, {1, 2, 4, 4}, 9);
    Network<Conv2d<cpu64>>::Context ctx;
    auto y = net.forward(x, ctx);
    Tensor<cpu64> dx;
    net.backward(ctx, random_tensor(dev, y.shape(), 10), &dx, Grad::ignore);
    for (double g : net.gradients().to_host(dev)) CHECK(g == 0.0);
    double norm = 0;
    for (double v : dx.to_host(dev)) norm += v * v;
    CHECK(norm > 0);
}

TEST_SUITE("parity") {
    TEST_CASE("Conv2d equals torch.nn.Conv2d") {
        cpu dev;
        SUBCASE("3x3 padding 1") {
            Network<Conv2d<cpu>> net(dev, Conv2d<cpu>(3, 5, 3, {.padding = 1}));
            test::check_parity(net, "conv2d_k3_p1");
        }
        SUBCASE("4x4 stride 2 padding 1") {
            Network<Conv2d<cpu>> net(dev, Conv2d<cpu>(4, 6, 4, {.stride = 2, .padding = 1}));
            test::check_parity(net, "conv2d_k4_s2_p1");
        }
        SUBCASE("3x3 dilation 2 no bias") {
            Network<Conv2d<cpu>> net(dev, Conv2d<cpu>(3, 4, 3, {.padding = 2, .dilation = 2, .bias = false}));
            test::check_parity(net, "conv2d_k3_d2_nobias");
        }
        SUBCASE("7x7 no padding") {
            Network<Conv2d<cpu>> net(dev, Conv2d<cpu>(2, 3, 7));
            test::check_parity(net, "conv2d_k7_p0");
        }
        SUBCASE("7x7 padding 3, padding_mode reflect") {
            Network<Conv2d<cpu>> net(dev, Conv2d<cpu>(3, 4, 7, {.padding = 3, .padding_mode = PaddingMode::reflect}));
            test::check_parity(net, "conv2d_k7_p3_reflect");
        }
        SUBCASE("3x3 stride 2 padding 1, padding_mode replicate") {
            Network<Conv2d<cpu>> net(dev, Conv2d<cpu>(2, 3, 3, {.stride = 2, .padding = 1, .padding_mode = PaddingMode::replicate}));
            test::check_parity(net, "conv2d_k3_s2_p1_replicate");
        }
    }
    TEST_CASE("the parity rule catches a weight off by 1e-3 and reflection read one pixel off") {
        cpu dev;
        auto outside = [](const auto& results, const safetensors::LazyFile& f) {
            std::size_t failed = 0;
            for (const auto& result : results) {  // (clang 14 cannot capture structured bindings in INFO's lambda)
                const auto a = test::compare(f, result.first, result.second);
                INFO(test::describe(result.first, a));
                failed += !a.ok();
            }
            return failed;
        };
        SUBCASE("one weight of a 3x3 Conv2d times 1 + 1e-3") {
            const auto f = test::load_fixture("conv2d_k3_p1");
            Network<Conv2d<cpu>> net(dev, Conv2d<cpu>(3, 5, 3, {.padding = 1}));
            test::load_fixture_parameters(net, f);
            CHECK(outside(test::run_fixture(net, f), f) == 0);
            // Each weight at least as large as the median one, perturbed on its own: a weight near
            // zero changed by 1e-3 of itself changes nothing measurable, in any precision.
            const auto w0 = f.values<float>("weight");
            std::vector<float> sorted(w0.size());
            std::transform(w0.begin(), w0.end(), sorted.begin(), [](float v) { return std::abs(v); });
            std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
            int perturbed = 0;
            for (std::size_t i = 0; i < w0.size(); ++i) {
                if (std::abs(w0[i]) < sorted[sorted.size() / 2]) continue;
                auto w = w0;
                w[i] *= 1 + 1e-3f;
                dev.upload(w.data(), net.find("weight").value.data(), w.size());
                INFO("weight " << i << " = " << w0[i]);
                CHECK(outside(test::run_fixture(net, f), f) > 0);
                ++perturbed;
            }
            CHECK(perturbed >= 67);  // of 135
        }
        SUBCASE("reflection padding that repeats the edge (replication) before a 3x3 Conv2d") {
            const auto f = test::load_fixture("reflect_pad1_conv3");
            using Net = Sequential<ReplicationPad2d<cpu>, Conv2d<cpu>>;
            Network<Net> net(dev, Net(ReplicationPad2d<cpu>(1), Conv2d<cpu>(3, 4, 3)));
            test::load_fixture_parameters(net, f);
            CHECK(outside(test::run_fixture(net, f), f) > 0);
        }
    }
    TEST_CASE("ConvTranspose2d equals torch.nn.ConvTranspose2d") {
        cpu dev;
        SUBCASE("3x3 stride 2 padding 1 output_padding 1") {
            Network<ConvTranspose2d<cpu>> net(dev, ConvTranspose2d<cpu>(5, 3, 3, {.stride = 2, .padding = 1, .output_padding = 1}));
            test::check_parity(net, "convt2d_k3_s2_p1_op1");
        }
        SUBCASE("4x4 stride 2 padding 1 no bias") {
            Network<ConvTranspose2d<cpu>> net(dev, ConvTranspose2d<cpu>(3, 4, 4, {.stride = 2, .padding = 1, .bias = false}));
            test::check_parity(net, "convt2d_k4_s2_p1_nobias");
        }
    }
}
