// Conv2d and ConvTranspose2d: values by hand, finite-difference gradients, PyTorch parity.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
// A tiny column budget: every convolution here runs in bands of one or a few output rows, so the
// checks below also cover the band edges (and a last, shorter band).
#define CYCLEGAN_CONV_COLUMN_BUDGET 100
#include "support/gradcheck.hpp"
#include "support/parity.hpp"

using namespace cyclegan;
using test::gradcheck;
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
