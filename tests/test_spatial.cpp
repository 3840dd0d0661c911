// Padding (reflection, replication, zero) and Upsample (nearest, bilinear): values by hand,
// finite-difference gradients, PyTorch parity, errors.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "support/gradcheck.hpp"
#include "support/parity.hpp"

#include <algorithm>

#include <cyclegan/backend/cpu/pad.hpp>
#include <cyclegan/backend/cpu/upsample.hpp>
#include <cyclegan/layers/padding.hpp>
#include <cyclegan/layers/upsample.hpp>

using namespace cyclegan;
using test::gradcheck;
using test::random_tensor;

namespace {

using Floats = std::vector<float>;

// Forward of `layer` on x, compared element by element with `expected`.
template <class L>
void check_forward(L layer, Shape in, const Floats& x, Shape out, const Floats& expected) {
    cpu dev;
    Network<L> net(dev, std::move(layer));
    auto y = net(Tensor<cpu>::from_host(dev, in, x));
    CHECK(y.shape() == out);
    const auto got = y.to_host(dev);
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("element " << i);
        CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-6));
    }
}

// Backward of `layer` for an output gradient of ones: how often (with what weight) each input
// pixel was read.
template <class L>
Floats ones_backward(L layer, Shape in) {
    cpu dev;
    Network<L> net(dev, std::move(layer));
    typename Network<L>::Context ctx;
    auto y = net.forward(Tensor<cpu>::zeros(dev, in), ctx);
    Tensor<cpu> dx;
    net.backward(ctx, Tensor<cpu>::full(dev, y.shape(), 1.0f), &dx);
    CHECK(dx.shape() == in);
    return dx.to_host(dev);
}

Floats iota(int n) {
    Floats v(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) v[i] = static_cast<float>(i + 1);
    return v;
}

}  // namespace

static_assert(Layer<ReflectionPad2d<cpu>> && Layer<ReplicationPad2d<cpu64>> && Layer<ZeroPad2d<cpu>>);
static_assert(Layer<Upsample<cpu>> && Layer<Upsample<cpu64>>);
static_assert(!ParametricLayer<ReflectionPad2d<cpu>> && !ParametricLayer<Upsample<cpu>>);

TEST_CASE("pad modes map padded coordinates to source pixels") {
    // n = 3: padded coordinates -3 .. 5
    const int reflect[] = {3, 2, 1, 0, 1, 2, 1, 0, -1};  // -3 and 5 are out of reflection's range
    const int replicate[] = {0, 0, 0, 0, 1, 2, 2, 2, 2};
    const int zero[] = {-1, -1, -1, 0, 1, 2, -1, -1, -1};
    for (int i = -2; i <= 4; ++i) CHECK(padded_source(i, 3, PaddingMode::reflect) == reflect[i + 3]);
    for (int i = -3; i <= 5; ++i) {
        CHECK(padded_source(i, 3, PaddingMode::replicate) == replicate[i + 3]);
        CHECK(padded_source(i, 3, PaddingMode::zeros) == zero[i + 3]);
    }
    CHECK(padding_fits(PaddingMode::reflect, 2, 3));
    CHECK_FALSE(padding_fits(PaddingMode::reflect, 3, 3));
}

TEST_CASE("ReflectionPad2d forward by hand") {
    SUBCASE("a row [1, 2, 3] padded by 2 on each side") {
        check_forward(ReflectionPad2d<cpu>(2, 2, 0, 0), {1, 1, 1, 3}, {1, 2, 3}, {1, 1, 1, 7},
                      {3, 2, 1, 2, 3, 2, 1});
    }
    SUBCASE("2x2 padded by 1 everywhere: columns and rows read 1 0 1 0") {
        check_forward(ReflectionPad2d<cpu>(1), {1, 1, 2, 2}, {1, 2, 3, 4}, {1, 1, 4, 4},
                      {4, 3, 4, 3, 2, 1, 2, 1, 4, 3, 4, 3, 2, 1, 2, 1});
    }
    SUBCASE("2x3, asymmetric (left 1, right 2, top 1, bottom 0), two channels") {
        Floats x = iota(12);  // channel 0: 1..6, channel 1: 7..12
        Floats c0 = {5, 4, 5, 6, 5, 4, 2, 1, 2, 3, 2, 1, 5, 4, 5, 6, 5, 4};
        Floats expected = c0;
        for (float v : c0) expected.push_back(v + 6);
        check_forward(ReflectionPad2d<cpu>(1, 2, 1, 0), {1, 2, 2, 3}, x, {1, 2, 3, 6}, expected);
    }
}

TEST_CASE("ReplicationPad2d forward by hand") {
    SUBCASE("a row [1, 2, 3], left 2, right 1") {
        check_forward(ReplicationPad2d<cpu>(2, 1, 0, 0), {1, 1, 1, 3}, {1, 2, 3}, {1, 1, 1, 6},
                      {1, 1, 1, 2, 3, 3});
    }
    SUBCASE("2x3, pads wider than the image (right 1, top 2, bottom 1), batch 2") {
        Floats x = iota(12);
        Floats i0 = {1, 2, 3, 3, 1, 2, 3, 3, 1, 2, 3, 3, 4, 5, 6, 6, 4, 5, 6, 6};
        Floats expected = i0;
        for (float v : i0) expected.push_back(v + 6);
        check_forward(ReplicationPad2d<cpu>(0, 1, 2, 1), {2, 1, 2, 3}, x, {2, 1, 5, 4}, expected);
    }
    SUBCASE("1x1 padded by 2 is a constant 5x5") {
        check_forward(ReplicationPad2d<cpu>(2), {1, 1, 1, 1}, {7}, {1, 1, 5, 5}, Floats(25, 7.0f));
    }
}

TEST_CASE("ZeroPad2d forward by hand") {
    check_forward(ZeroPad2d<cpu>(1, 2, 1, 0), {1, 1, 1, 3}, {1, 2, 3}, {1, 1, 2, 6},
                  {0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0});
    check_forward(ZeroPad2d<cpu>(1), {1, 1, 1, 1}, {5}, {1, 1, 3, 3}, {0, 0, 0, 0, 5, 0, 0, 0, 0});
}

TEST_CASE("padding backward by hand: each input pixel gets the gradient of every copy of it") {
    // [1, 2, 3] reflect-padded by 2 reads pixels 2 1 0 1 2 1 0.
    CHECK(ones_backward(ReflectionPad2d<cpu>(2, 2, 0, 0), {1, 1, 1, 3}) == Floats{2, 3, 2});
    // Replication, left 2, right 1, reads 0 0 0 1 2 2.
    CHECK(ones_backward(ReplicationPad2d<cpu>(2, 1, 0, 0), {1, 1, 1, 3}) == Floats{3, 1, 2});
    // Replication by 2 of a 1x3 row in 2-D: every padded row reads the one row, 5 times over.
    CHECK(ones_backward(ReplicationPad2d<cpu>(2), {1, 1, 1, 3}) == Floats{15, 5, 15});
    // Zeros read nothing: the gradient passes through once.
    CHECK(ones_backward(ZeroPad2d<cpu>(3, 0, 1, 2), {2, 1, 2, 3}) == Floats(12, 1.0f));
}

TEST_CASE("Upsample nearest forward by hand") {
    SUBCASE("scale 2") {
        check_forward(Upsample<cpu>(), {1, 1, 2, 2}, {1, 2, 3, 4}, {1, 1, 4, 4},
                      {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
    }
    SUBCASE("scale 3, a row of two, batch 2") {
        Floats row = {1, 1, 1, 2, 2, 2};
        Floats expected;
        for (int r = 0; r < 3; ++r) expected.insert(expected.end(), row.begin(), row.end());
        for (int r = 0; r < 3; ++r)
            for (float v : row) expected.push_back(v + 2);
        check_forward(Upsample<cpu>({.scale_factor = 3}), {2, 1, 1, 2}, {1, 2, 3, 4}, {2, 1, 3, 6}, expected);
    }
}

TEST_CASE("Upsample bilinear forward by hand") {
    const UpsampleOptions bilinear2{.scale_factor = 2, .mode = UpsampleMode::bilinear};
    SUBCASE("1x3 row at scale 2: src = max(d/2 - 1/4, 0), the last half pixel clamps") {
        Floats row = {1, 1.25f, 1.75f, 2.25f, 2.75f, 3};
        Floats expected = row;
        expected.insert(expected.end(), row.begin(), row.end());
        check_forward(Upsample<cpu>(bilinear2), {1, 1, 1, 3}, {1, 2, 3}, {1, 1, 2, 6}, expected);
    }
    SUBCASE("2x2 at scale 2 is separable: 8 a(i) + 4 a(j), a = 0, 1/4, 3/4, 1") {
        check_forward(Upsample<cpu>(bilinear2), {1, 1, 2, 2}, {0, 4, 8, 12}, {1, 1, 4, 4},
                      {0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12});
    }
    SUBCASE("a row [1, 2] at scale 3") {
        Floats row = {1, 1, 4.0f / 3, 5.0f / 3, 2, 2};
        Floats expected;
        for (int r = 0; r < 3; ++r) expected.insert(expected.end(), row.begin(), row.end());
        check_forward(Upsample<cpu>({.scale_factor = 3, .mode = UpsampleMode::bilinear}), {1, 1, 1, 2},
                      {1, 2}, {1, 1, 3, 6}, expected);
    }
    SUBCASE("align_corners: a row [1, 2] at scale 2 puts the corners on the input's") {
        check_forward(Upsample<cpu>({.scale_factor = 2, .mode = UpsampleMode::bilinear, .align_corners = true}),
                      {1, 1, 1, 2}, {1, 2}, {1, 1, 2, 4}, {1, 4.0f / 3, 5.0f / 3, 2, 1, 4.0f / 3, 5.0f / 3, 2});
    }
}

TEST_CASE("linear_taps follow PyTorch's formulas") {
    // in 3, scale 2, align_corners False: src = 2.25 at dst 5 -> i0 = 2, i1 clamped to 2.
    auto t = linear_taps(5, 3, 2, false);
    CHECK(t.i0 == 2);
    CHECK(t.i1 == 2);
    CHECK(t.lambda == doctest::Approx(0.25));
    t = linear_taps(0, 3, 2, false);  // src -0.25 clamps to 0
    CHECK((t.i0 == 0 && t.i1 == 1 && t.lambda == 0.0));
    t = linear_taps(4, 3, 3, false);  // (4.5) / 3 - 0.5 = 1 exactly
    CHECK((t.i0 == 1 && t.i1 == 2));
    CHECK(t.lambda == doctest::Approx(0.0));
    t = linear_taps(3, 3, 2, true);  // 3 * 2 / 5 = 1.2
    CHECK((t.i0 == 1 && t.i1 == 2));
    CHECK(t.lambda == doctest::Approx(0.2));
    CHECK(nearest_source(5, 3) == 1);
    CHECK(nearest_source(6, 3) == 2);
}

TEST_CASE("Upsample backward by hand") {
    // Nearest at scale 3: each pixel was copied 9 times.
    CHECK(ones_backward(Upsample<cpu>({.scale_factor = 3}), {2, 1, 1, 2}) == Floats(4, 9.0f));
    // Bilinear weights along an axis sum to 1 per output, and over a 1x3 row at scale 2 each input
    // collects 2 per output row (1 + 1/4 + 3/4, ...), times 2 output rows.
    CHECK(ones_backward(Upsample<cpu>({.scale_factor = 2, .mode = UpsampleMode::bilinear}), {1, 1, 1, 3}) ==
          Floats{4, 4, 4});
    // A single dy pixel spreads with the forward weights: dy at (0, 1) of a 1x3 -> 2x6 upsample.
    cpu dev;
    Network<Upsample<cpu>> net(dev, Upsample<cpu>({.scale_factor = 2, .mode = UpsampleMode::bilinear}));
    Network<Upsample<cpu>>::Context ctx;
    net.forward(Tensor<cpu>::zeros(dev, {1, 1, 1, 3}), ctx);
    Floats dy(12, 0.0f);
    dy[1] = 1;  // output column 1 = 0.75 x0 + 0.25 x1
    Tensor<cpu> dx;
    net.backward(ctx, Tensor<cpu>::from_host(dev, {1, 1, 2, 6}, dy), &dx);
    CHECK(dx.to_host(dev) == Floats{0.75f, 0.25f, 0});
}

TEST_CASE("padding gradients match finite differences") {
    cpu64 dev;
    SUBCASE("reflection, symmetric 2, odd sizes, batch 2") {
        Network<ReflectionPad2d<cpu64>> net(dev, ReflectionPad2d<cpu64>(2));
        gradcheck(net, random_tensor(dev, {2, 2, 5, 3}, 1));
    }
    SUBCASE("reflection, asymmetric, pads up to size - 1") {
        Network<ReflectionPad2d<cpu64>> net(dev, ReflectionPad2d<cpu64>(4, 3, 2, 1));
        gradcheck(net, random_tensor(dev, {2, 2, 3, 5}, 2));
    }
    SUBCASE("replication, symmetric 3 on a 3x5 image") {
        Network<ReplicationPad2d<cpu64>> net(dev, ReplicationPad2d<cpu64>(3));
        gradcheck(net, random_tensor(dev, {2, 2, 3, 5}, 3));
    }
    SUBCASE("replication, asymmetric, wider than the image") {
        Network<ReplicationPad2d<cpu64>> net(dev, ReplicationPad2d<cpu64>(0, 6, 4, 1));
        gradcheck(net, random_tensor(dev, {2, 1, 3, 5}, 4));
    }
    SUBCASE("zero, symmetric 1") {
        Network<ZeroPad2d<cpu64>> net(dev, ZeroPad2d<cpu64>(1));
        gradcheck(net, random_tensor(dev, {2, 2, 3, 5}, 5));
    }
    SUBCASE("zero, asymmetric") {
        Network<ZeroPad2d<cpu64>> net(dev, ZeroPad2d<cpu64>(2, 0, 3, 1));
        gradcheck(net, random_tensor(dev, {2, 2, 5, 3}, 6));
    }
    SUBCASE("reflection then a 3x3 convolution, as in the ResNet generator") {
        using Net = Sequential<ReflectionPad2d<cpu64>, Conv2d<cpu64>>;
        Network<Net> net(dev, Net(ReflectionPad2d<cpu64>(1), Conv2d<cpu64>(2, 3, 3)), "", {.gain = 0.5});
        gradcheck(net, random_tensor(dev, {2, 2, 5, 3}, 7));
    }
}

TEST_CASE("Upsample gradients match finite differences") {
    cpu64 dev;
    struct Case {
        const char* name;
        UpsampleOptions o;
        Shape in;
    };
    const Case cases[] = {
        {"nearest x2", {.scale_factor = 2}, {2, 2, 3, 5}},
        {"nearest x3", {.scale_factor = 3}, {2, 1, 5, 3}},
        {"bilinear x2", {.scale_factor = 2, .mode = UpsampleMode::bilinear}, {2, 2, 3, 5}},
        {"bilinear x3", {.scale_factor = 3, .mode = UpsampleMode::bilinear}, {2, 1, 5, 3}},
        {"bilinear x2 align_corners", {.scale_factor = 2, .mode = UpsampleMode::bilinear, .align_corners = true}, {2, 2, 3, 5}},
        {"bilinear x3 align_corners", {.scale_factor = 3, .mode = UpsampleMode::bilinear, .align_corners = true}, {2, 1, 5, 3}},
        {"bilinear x1 is the identity", {.scale_factor = 1, .mode = UpsampleMode::bilinear}, {2, 1, 3, 3}},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        Network<Upsample<cpu64>> net(dev, Upsample<cpu64>(c.o));
        gradcheck(net, random_tensor(dev, c.in, 11));
    }
}

TEST_CASE("Upsample at scale 1 returns its input") {
    cpu64 dev;
    auto x = random_tensor(dev, {2, 2, 3, 5}, 12);
    for (auto mode : {UpsampleMode::nearest, UpsampleMode::bilinear}) {
        Network<Upsample<cpu64>> net(dev, Upsample<cpu64>({.scale_factor = 1, .mode = mode}));
        CHECK(net(x).to_host(dev) == x.to_host(dev));
    }
}

TEST_CASE("float and double kernels agree") {
    cpu dev32;
    cpu64 dev64;
    auto x64 = random_tensor(dev64, {2, 3, 5, 7}, 13);
    const auto xv = x64.to_host(dev64);
    auto x32 = Tensor<cpu>::from_host(dev32, x64.shape(), Floats(xv.begin(), xv.end()));
    auto compare = [&](auto layer32, auto layer64) {
        Network<decltype(layer32)> n32(dev32, layer32);
        Network<decltype(layer64)> n64(dev64, layer64);
        const auto a = n32(x32).to_host(dev32);
        const auto b = n64(x64).to_host(dev64);
        REQUIRE(a.size() == b.size());
        double worst = 0;
        for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
        CHECK(worst < 1e-6);
    };
    compare(ReflectionPad2d<cpu>(4, 1, 2, 3), ReflectionPad2d<cpu64>(4, 1, 2, 3));
    compare(Upsample<cpu>({.scale_factor = 3, .mode = UpsampleMode::bilinear}),
            Upsample<cpu64>({.scale_factor = 3, .mode = UpsampleMode::bilinear}));
}

TEST_CASE("padding rejects bad pads and inputs it cannot pad") {
    cpu dev;
    SUBCASE("reflection pad as large as the input") {
        Network<ReflectionPad2d<cpu>> net(dev, ReflectionPad2d<cpu>(3));
        CHECK_THROWS_WITH_AS(net(Tensor<cpu>::zeros(dev, {1, 1, 3, 5})),
                             "ReflectionPad2d: each pad must be less than the input size, got padding "
                             "(left 3, right 3, top 3, bottom 3) for input of shape [1, 1, 3, 5]",
                             shape_error);
        CHECK(net(Tensor<cpu>::zeros(dev, {1, 1, 4, 4})).shape() == Shape{1, 1, 10, 10});
    }
    SUBCASE("reflection: one side too large is enough") {
        Network<ReflectionPad2d<cpu>> right(dev, ReflectionPad2d<cpu>(0, 3, 0, 0));
        CHECK_THROWS_AS(right(Tensor<cpu>::zeros(dev, {1, 1, 5, 3})), shape_error);
        Network<ReflectionPad2d<cpu>> bottom(dev, ReflectionPad2d<cpu>(0, 0, 0, 5));
        CHECK_THROWS_AS(bottom(Tensor<cpu>::zeros(dev, {1, 1, 5, 9})), shape_error);
        CHECK(bottom(Tensor<cpu>::zeros(dev, {1, 1, 6, 9})).shape() == Shape{1, 1, 11, 9});
    }
    SUBCASE("negative pads") {
        CHECK_THROWS_WITH_AS(ReflectionPad2d<cpu>(-1), "ReflectionPad2d: negative padding (left -1, right -1, top -1, bottom -1)",
                             std::invalid_argument);
        CHECK_THROWS_AS(ZeroPad2d<cpu>(0, 0, -2, 0), std::invalid_argument);
        CHECK_THROWS_AS(ReplicationPad2d<cpu>(1, -1, 0, 0), std::invalid_argument);
    }
    SUBCASE("replication of an empty image") {
        Network<ReplicationPad2d<cpu>> net(dev, ReplicationPad2d<cpu>(1));
        CHECK_THROWS_WITH_AS(net(Tensor<cpu>(dev, {1, 1, 0, 3})),
                             "ReplicationPad2d: the input must not be empty, got padding (left 1, right 1, "
                             "top 1, bottom 1) for input of shape [1, 1, 0, 3]",
                             shape_error);
    }
    SUBCASE("an output gradient of the wrong shape") {
        Network<ZeroPad2d<cpu>> net(dev, ZeroPad2d<cpu>(1));
        Network<ZeroPad2d<cpu>>::Context ctx;
        net.forward(Tensor<cpu>::zeros(dev, {1, 2, 3, 3}), ctx);
        Tensor<cpu> dx;
        CHECK_THROWS_AS(net.backward(ctx, Tensor<cpu>::zeros(dev, {1, 2, 3, 3}), &dx), shape_error);
    }
}

TEST_CASE("Upsample rejects bad options and empty inputs") {
    cpu dev;
    CHECK_THROWS_WITH_AS(Upsample<cpu>({.scale_factor = 0}), "Upsample: scale_factor must be a positive integer, got 0",
                         std::invalid_argument);
    CHECK_THROWS_AS(Upsample<cpu>({.scale_factor = -2}), std::invalid_argument);
    CHECK_THROWS_WITH_AS(Upsample<cpu>({.align_corners = true}),
                         "Upsample: align_corners can only be set with mode bilinear", std::invalid_argument);
    Network<Upsample<cpu>> net(dev, Upsample<cpu>());
    CHECK_THROWS_WITH_AS(net(Tensor<cpu>(dev, {1, 3, 0, 4})), "Upsample: input of shape [1, 3, 0, 4] has no pixels",
                         shape_error);
    Network<Upsample<cpu>>::Context ctx;
    net.forward(Tensor<cpu>::zeros(dev, {1, 1, 2, 3}), ctx);
    Tensor<cpu> dx;
    CHECK_THROWS_AS(net.backward(ctx, Tensor<cpu>::zeros(dev, {1, 1, 4, 4}), &dx), shape_error);
}

TEST_SUITE("parity") {
    TEST_CASE("padding equals torch.nn.{Reflection,Replication,Zero}Pad2d") {
        cpu dev;
        SUBCASE("ReflectionPad2d(3)") {
            Network<ReflectionPad2d<cpu>> net(dev, ReflectionPad2d<cpu>(3));
            test::check_parity(net, "reflect_pad3");
        }
        SUBCASE("ReflectionPad2d((4, 1, 2, 4))") {
            Network<ReflectionPad2d<cpu>> net(dev, ReflectionPad2d<cpu>(4, 1, 2, 4));
            test::check_parity(net, "reflect_pad_4_1_2_4");
        }
        SUBCASE("ReplicationPad2d(2)") {
            Network<ReplicationPad2d<cpu>> net(dev, ReplicationPad2d<cpu>(2));
            test::check_parity(net, "replicate_pad2");
        }
        SUBCASE("ReplicationPad2d((3, 0, 1, 5))") {
            Network<ReplicationPad2d<cpu>> net(dev, ReplicationPad2d<cpu>(3, 0, 1, 5));
            test::check_parity(net, "replicate_pad_3_0_1_5");
        }
        SUBCASE("ZeroPad2d(1)") {
            Network<ZeroPad2d<cpu>> net(dev, ZeroPad2d<cpu>(1));
            test::check_parity(net, "zero_pad1");
        }
        SUBCASE("ZeroPad2d((0, 2, 3, 1))") {
            Network<ZeroPad2d<cpu>> net(dev, ZeroPad2d<cpu>(0, 2, 3, 1));
            test::check_parity(net, "zero_pad_0_2_3_1");
        }
        SUBCASE("Sequential(ReflectionPad2d(1), Conv2d(3, 4, 3))") {
            using Net = Sequential<ReflectionPad2d<cpu>, Conv2d<cpu>>;
            Network<Net> net(dev, Net(ReflectionPad2d<cpu>(1), Conv2d<cpu>(3, 4, 3)));
            test::check_parity(net, "reflect_pad1_conv3");
        }
    }
    TEST_CASE("Upsample equals torch.nn.Upsample") {
        cpu dev;
        struct Case {
            const char* fixture;
            UpsampleOptions o;
        };
        const Case cases[] = {
            {"upsample_nearest_x2", {.scale_factor = 2}},
            {"upsample_nearest_x3", {.scale_factor = 3}},
            {"upsample_bilinear_x2", {.scale_factor = 2, .mode = UpsampleMode::bilinear}},
            {"upsample_bilinear_x3", {.scale_factor = 3, .mode = UpsampleMode::bilinear}},
            {"upsample_bilinear_x2_align", {.scale_factor = 2, .mode = UpsampleMode::bilinear, .align_corners = true}},
            {"upsample_bilinear_x3_align", {.scale_factor = 3, .mode = UpsampleMode::bilinear, .align_corners = true}},
        };
        for (const auto& c : cases) {
            Network<Upsample<cpu>> net(dev, Upsample<cpu>(c.o));
            test::check_parity(net, c.fixture);
        }
    }
}
