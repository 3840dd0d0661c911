// InstanceNorm2d and BatchNorm2d: values by hand, running statistics, finite-difference gradients
// in every mode, PyTorch parity.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "support/gradcheck.hpp"
#include "support/parity.hpp"

#include <cyclegan/backend/cpu/norm.hpp>
#include <cyclegan/layers/norm2d.hpp>

using namespace cyclegan;
using test::gradcheck;
using test::random_tensor;

namespace {

template <class L, class T>
void set(Network<L>& net, const std::string& name, std::vector<T> values) {
    const auto& t = net.find(name);
    REQUIRE(values.size() == t.value.numel());
    net.device().upload(values.data(), t.value.data(), values.size());
}

template <class L>
std::vector<typename Network<L>::scalar> get(Network<L>& net, const std::string& name) {
    return net.find(name).value.to_host(net.device());
}

template <class T>
void check_values(const std::vector<T>& ours, const std::vector<double>& expected, double eps = 1e-6) {
    REQUIRE(ours.size() == expected.size());
    for (std::size_t i = 0; i < ours.size(); ++i) {
        INFO("element " << i);
        CHECK(double(ours[i]) == doctest::Approx(expected[i]).epsilon(eps));
    }
}

std::vector<std::string> names_of(const auto& net) {
    std::vector<std::string> out;
    for (const auto& t : net.named_tensors()) out.push_back(t.spec.name);
    return out;
}

// Sets running_mean and running_var to values away from 0 and 1.
template <class L>
void set_running(Network<L>& net, int channels) {
    std::vector<double> m(channels), v(channels);
    for (int c = 0; c < channels; ++c) {
        m[c] = 0.3 * c - 0.4;
        v[c] = 0.6 + 0.5 * c;
    }
    set(net, "running_mean", m);
    set(net, "running_var", v);
}

}  // namespace

TEST_CASE("InstanceNorm2d forward by hand: each (n, c) plane by its own statistics") {
    cpu64 dev;
    Network<InstanceNorm2d<cpu64>> net(dev, InstanceNorm2d<cpu64>(2, {.eps = 0}));
    CHECK(net.named_tensors().empty());
    // Image 0: channel 0 = 1..4 (mean 2.5, var 1.25), channel 1 = 2,2,2,6 (mean 3, var 3).
    // Image 1: channel 0 = 10 x image 0's (same output), channel 1 = image 0's + 100 (same output).
    auto x = Tensor<cpu64>::from_host(dev, {2, 2, 2, 2},
                                      std::vector<double>{1, 2, 3, 4, 2, 2, 2, 6, 10, 20, 30, 40, 102, 102, 102, 106});
    const double a = 1 / std::sqrt(1.25), b = 1 / std::sqrt(3.0);
    const std::vector<double> plane0{-1.5 * a, -0.5 * a, 0.5 * a, 1.5 * a}, plane1{-b, -b, -b, 3 * b};
    std::vector<double> expected;
    for (int n = 0; n < 2; ++n)
        for (const auto* p : {&plane0, &plane1}) expected.insert(expected.end(), p->begin(), p->end());
    check_values(net(x).to_host(dev), expected);

    SUBCASE("eps is added to the variance") {
        Network<InstanceNorm2d<cpu64>> with_eps(dev, InstanceNorm2d<cpu64>(2, {.eps = 0.25}));
        const auto y = with_eps(x).to_host(dev);
        CHECK(y[0] == doctest::Approx(-1.5 / std::sqrt(1.5)));
        CHECK(y[7] == doctest::Approx(3 / std::sqrt(3.25)));
    }
}

TEST_CASE("InstanceNorm2d forward by hand: affine scales and shifts by channel") {
    cpu dev;
    Network<InstanceNorm2d<cpu>> net(dev, InstanceNorm2d<cpu>(2, {.eps = 0, .affine = true}));
    CHECK(names_of(net) == std::vector<std::string>{"weight", "bias"});
    CHECK(net.find("weight").spec.role == ParamRole::norm_weight);
    CHECK(net.find("bias").spec.role == ParamRole::norm_bias);
    set(net, "weight", std::vector<float>{2, -1});
    set(net, "bias", std::vector<float>{0.5f, 3});
    // Each plane is -1, 1 (mean 0, var 1) after normalising, from any two distinct values.
    auto x = Tensor<cpu>::from_host(dev, {2, 2, 1, 2}, std::vector<float>{0, 4, 7, 5, -3, -1, 2, 8});
    check_values(net(x).to_host(dev), {-1.5, 2.5, 2, 4, -1.5, 2.5, 4, 2}, 1e-6);
}

TEST_CASE("BatchNorm2d forward by hand in training: statistics over N*H*W, running statistics updated") {
    cpu64 dev;
    Network<BatchNorm2d<cpu64>> net(dev, BatchNorm2d<cpu64>(2, {.eps = 0}));
    CHECK(names_of(net) == std::vector<std::string>{"weight", "bias", "running_mean", "running_var"});
    CHECK(net.find("running_mean").grad.empty());
    CHECK(net.find("running_var").spec.role == ParamRole::running_var);
    check_values(get(net, "running_mean"), {0, 0});  // as PyTorch initialises them
    check_values(get(net, "running_var"), {1, 1});
    set(net, "weight", std::vector<double>{1, 2});
    set(net, "bias", std::vector<double>{0, -1});
    // Channel 0 over both images: 1, 3, 5, 7 (mean 4, biased var 5, unbiased 20/3).
    // Channel 1: 0, 0, 0, 4 (mean 1, biased var 3, unbiased 4).
    auto x = Tensor<cpu64>::from_host(dev, {2, 2, 1, 2}, std::vector<double>{1, 3, 0, 0, 5, 7, 0, 4});
    const double a = 1 / std::sqrt(5.0), b = 1 / std::sqrt(3.0);
    check_values(net(x).to_host(dev), {-3 * a, -a, -2 * b - 1, -2 * b - 1, a, 3 * a, -2 * b - 1, 6 * b - 1});
    check_values(get(net, "running_mean"), {0.9 * 0 + 0.1 * 4, 0.9 * 0 + 0.1 * 1});
    check_values(get(net, "running_var"), {0.9 * 1 + 0.1 * 20.0 / 3, 0.9 * 1 + 0.1 * 4});
}

TEST_CASE("BatchNorm2d running statistics follow PyTorch's update, step after step") {
    cpu64 dev;
    const double momentum = 0.3;
    Network<BatchNorm2d<cpu64>> net(dev, BatchNorm2d<cpu64>(3, {.momentum = momentum}));
    set_running(net, 3);
    double rm[3], rv[3];
    for (int c = 0; c < 3; ++c) {
        rm[c] = 0.3 * c - 0.4;
        rv[c] = 0.6 + 0.5 * c;
    }
    const Shape s{2, 3, 3, 5};
    for (int step = 0; step < 3; ++step) {
        auto x = random_tensor(dev, s, 40 + step, -2 + step, 3);
        const auto v = x.to_host(dev);
        net(x);
        // By hand: mean and unbiased variance over the M = N*H*W values of each channel.
        for (int c = 0; c < 3; ++c) {
            const double m = s.n * s.plane();
            double sum = 0, sq = 0;
            for (int n = 0; n < s.n; ++n)
                for (std::size_t i = 0; i < s.plane(); ++i) sum += v[(n * s.c + c) * s.plane() + i];
            const double mean = sum / m;
            for (int n = 0; n < s.n; ++n)
                for (std::size_t i = 0; i < s.plane(); ++i) {
                    const double d = v[(n * s.c + c) * s.plane() + i] - mean;
                    sq += d * d;
                }
            rm[c] = (1 - momentum) * rm[c] + momentum * mean;
            rv[c] = (1 - momentum) * rv[c] + momentum * sq / (m - 1);
        }
        INFO("step " << step);
        check_values(get(net, "running_mean"), {rm[0], rm[1], rm[2]}, 1e-12);
        check_values(get(net, "running_var"), {rv[0], rv[1], rv[2]}, 1e-12);
    }
}

TEST_CASE("BatchNorm2d forward by hand in eval: running statistics, left unchanged") {
    cpu dev;
    Network<BatchNorm2d<cpu>> net(dev, BatchNorm2d<cpu>(2, {.eps = 0}));
    set(net, "weight", std::vector<float>{3, 1});
    set(net, "bias", std::vector<float>{1, 0});
    set(net, "running_mean", std::vector<float>{1, -2});
    set(net, "running_var", std::vector<float>{4, 0.25f});
    net.eval();
    auto x = Tensor<cpu>::from_host(dev, {1, 2, 1, 3}, std::vector<float>{1, 3, -1, -2, 0, -3});
    // Channel 0: 3 (x - 1) / 2 + 1; channel 1: (x + 2) / 0.5.
    check_values(net(x).to_host(dev), {1, 4, -2, 0, 4, -2});
    check_values(get(net, "running_mean"), {1, -2});
    check_values(get(net, "running_var"), {4, 0.25});
    SUBCASE("and training changes them") {
        net.train();
        net(x);
        CHECK(get(net, "running_mean") != std::vector<float>{1, -2});
    }
}

TEST_CASE("BatchNorm2d without track_running_stats has no buffers and uses batch statistics in eval") {
    cpu64 dev;
    Network<BatchNorm2d<cpu64>> net(dev, BatchNorm2d<cpu64>(3, {.track_running_stats = false}));
    CHECK(names_of(net) == std::vector<std::string>{"weight", "bias"});
    CHECK(net.buffers().empty());
    set(net, "weight", std::vector<double>{1.5, 0.5, -1});
    set(net, "bias", std::vector<double>{0.25, -2, 1});
    auto x = random_tensor(dev, {2, 3, 3, 4}, 11, -1, 2);
    const auto train = net(x).to_host(dev);
    net.eval();
    const auto eval = net(x).to_host(dev);
    CHECK(train == eval);
    // Batch statistics: each channel of the output has mean 0 and variance var / (var + eps) ~ 1.
    for (int c = 0; c < 3; ++c) {
        double sum = 0, sq = 0;
        for (int n = 0; n < 2; ++n)
            for (int i = 0; i < 12; ++i) sum += eval[(n * 3 + c) * 12 + i];
        for (int n = 0; n < 2; ++n)
            for (int i = 0; i < 12; ++i) sq += std::pow(eval[(n * 3 + c) * 12 + i] - sum / 24, 2);
        const double w = get(net, "weight")[c], b = get(net, "bias")[c];
        CHECK(sum / 24 == doctest::Approx(b).epsilon(1e-9));
        CHECK(sq / 24 == doctest::Approx(w * w).epsilon(1e-3));
    }
}

TEST_CASE("BatchNorm2d without affine has only the running statistics") {
    cpu dev;
    Network<BatchNorm2d<cpu>> net(dev, BatchNorm2d<cpu>(4, {.affine = false}), "model.1");
    CHECK(names_of(net) == std::vector<std::string>{"model.1.running_mean", "model.1.running_var"});
    CHECK(net.parameter_count() == 0);
    CHECK(net.buffers().numel() == 8);
}

TEST_CASE("Norm layers name their parameters under a Sequential like nn.Sequential") {
    cpu dev;
    Network<Sequential<Conv2d<cpu>, InstanceNorm2d<cpu>, BatchNorm2d<cpu>>> net(
        dev, Sequential(Conv2d<cpu>(1, 2, 3), InstanceNorm2d<cpu>(2, {.affine = true}), BatchNorm2d<cpu>(2)));
    CHECK(names_of(net) == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "2.weight",
                                                    "2.bias", "2.running_mean", "2.running_var"});
    CHECK(net(Tensor<cpu>::full(dev, {2, 1, 5, 5}, 1.0f)).shape() == Shape{2, 2, 3, 3});
}

TEST_CASE("InstanceNorm2d gradients match finite differences") {
    cpu64 dev;
    SUBCASE("without affine, batch 2, odd sizes") {
        Network<InstanceNorm2d<cpu64>> net(dev, InstanceNorm2d<cpu64>(3));
        gradcheck(net, random_tensor(dev, {2, 3, 5, 3}, 1));
    }
    SUBCASE("with affine") {
        Network<InstanceNorm2d<cpu64>> net(dev, InstanceNorm2d<cpu64>(3, {.affine = true}), "", {.gain = 0.5});
        gradcheck(net, random_tensor(dev, {2, 3, 3, 5}, 2));
    }
    SUBCASE("with affine, large eps, in eval (the same computation)") {
        Network<InstanceNorm2d<cpu64>> net(dev, InstanceNorm2d<cpu64>(2, {.eps = 0.1, .affine = true}), "", {.gain = 0.5});
        net.eval();
        gradcheck(net, random_tensor(dev, {3, 2, 1, 7}, 3));
    }
}

TEST_CASE("BatchNorm2d gradients match finite differences") {
    cpu64 dev;
    SUBCASE("training, affine") {
        Network<BatchNorm2d<cpu64>> net(dev, BatchNorm2d<cpu64>(3), "", {.gain = 0.5});
        gradcheck(net, random_tensor(dev, {2, 3, 3, 5}, 4));
    }
    SUBCASE("training, no affine") {
        Network<BatchNorm2d<cpu64>> net(dev, BatchNorm2d<cpu64>(2, {.affine = false}));
        gradcheck(net, random_tensor(dev, {3, 2, 3, 3}, 5));
    }
    SUBCASE("eval with running statistics (constants)") {
        Network<BatchNorm2d<cpu64>> net(dev, BatchNorm2d<cpu64>(3), "", {.gain = 0.5});
        set_running(net, 3);
        net.eval();
        gradcheck(net, random_tensor(dev, {2, 3, 5, 3}, 6));
    }
    SUBCASE("eval without affine") {
        Network<BatchNorm2d<cpu64>> net(dev, BatchNorm2d<cpu64>(3, {.affine = false}));
        set_running(net, 3);
        net.eval();
        gradcheck(net, random_tensor(dev, {2, 3, 3, 3}, 7));
    }
    SUBCASE("eval without track_running_stats (batch statistics)") {
        Network<BatchNorm2d<cpu64>> net(dev, BatchNorm2d<cpu64>(2, {.track_running_stats = false}), "", {.gain = 0.5});
        net.eval();
        gradcheck(net, random_tensor(dev, {2, 2, 5, 3}, 8));
    }
    SUBCASE("training, a single image (statistics over H*W only)") {
        Network<BatchNorm2d<cpu64>> net(dev, BatchNorm2d<cpu64>(2), "", {.gain = 0.5});
        gradcheck(net, random_tensor(dev, {1, 2, 3, 3}, 9));
    }
}

TEST_CASE("Norm layers inside a network: gradients through conv, norm and activation") {
    cpu64 dev;
    Network<Sequential<Conv2d<cpu64>, BatchNorm2d<cpu64>, Tanh<cpu64>, InstanceNorm2d<cpu64>>> net(
        dev, Sequential(Conv2d<cpu64>(2, 3, 3, {.padding = 1}), BatchNorm2d<cpu64>(3), Tanh<cpu64>(),
                        InstanceNorm2d<cpu64>(3, {.affine = true})), "", {.gain = 0.5});
    gradcheck(net, random_tensor(dev, {2, 2, 3, 5}, 12));
}

TEST_CASE("Norm layers' gradients accumulate, and Grad::ignore skips them but still gives dx") {
    cpu64 dev;
    Network<BatchNorm2d<cpu64>> bn(dev, BatchNorm2d<cpu64>(2), "", {.gain = 0.5});
    Network<InstanceNorm2d<cpu64>> in(dev, InstanceNorm2d<cpu64>(2, {.affine = true}), "", {.gain = 0.5});
    auto x = random_tensor(dev, {2, 2, 3, 3}, 20);
    auto dy = random_tensor(dev, x.shape(), 21);
    auto run = [&](auto& net, Tensor<cpu64>* dx, Grad grad) {
        typename std::remove_reference_t<decltype(net)>::Context ctx;
        net.forward(x, ctx);
        net.backward(ctx, dy, dx, grad);
    };
    auto check = [&](auto& net) {
        net.zero_grad();
        Tensor<cpu64> dx;
        run(net, &dx, Grad::ignore);
        for (double g : net.gradients().to_host(dev)) CHECK(g == 0.0);
        double norm = 0;
        for (double v : dx.to_host(dev)) norm += v * v;
        CHECK(norm > 0);
        run(net, nullptr, Grad::accumulate);  // no dx asked for: the weight gradients still come
        const auto once = net.gradients().to_host(dev);
        run(net, &dx, Grad::accumulate);
        const auto twice = net.gradients().to_host(dev);
        REQUIRE(once.size() == 4);
        for (std::size_t i = 0; i < once.size(); ++i) {
            CHECK(once[i] != 0.0);
            CHECK(twice[i] == doctest::Approx(2 * once[i]));
        }
    };
    check(bn);
    check(in);
}

TEST_CASE("Norm layers reject bad input with the layer's name and the shape") {
    cpu dev;
    Network<InstanceNorm2d<cpu>> in(dev, InstanceNorm2d<cpu>(3));
    Network<BatchNorm2d<cpu>> bn(dev, BatchNorm2d<cpu>(3));
    CHECK_THROWS_WITH_AS(in(Tensor<cpu>::zeros(dev, {1, 2, 4, 4})),
                         "InstanceNorm2d: expected 3 input channels, got input of shape [1, 2, 4, 4]", shape_error);
    CHECK_THROWS_WITH_AS(bn(Tensor<cpu>::zeros(dev, {2, 4, 4, 4})),
                         "BatchNorm2d: expected 3 input channels, got input of shape [2, 4, 4, 4]", shape_error);
    CHECK_THROWS_WITH_AS(in(Tensor<cpu>::zeros(dev, {2, 3, 1, 1})),
                         "InstanceNorm2d: expected more than 1 spatial element, got input of shape [2, 3, 1, 1]",
                         shape_error);
    CHECK_THROWS_WITH_AS(bn(Tensor<cpu>::zeros(dev, {1, 3, 1, 1})),
                         "BatchNorm2d: expected more than 1 value per channel when using batch statistics, got "
                         "input of shape [1, 3, 1, 1]",
                         shape_error);
    CHECK_NOTHROW(bn(Tensor<cpu>::zeros(dev, {2, 3, 1, 1})));  // two values per channel are enough
    bn.eval();
    CHECK_NOTHROW(bn(Tensor<cpu>::zeros(dev, {1, 3, 1, 1})));  // running statistics need no batch
    SUBCASE("a layer outside a Network has no parameters to use") {
        BatchNorm2d<cpu> loose(3);
        BatchNorm2d<cpu>::Context ctx;
        CHECK_THROWS_AS(loose.forward(dev, Tensor<cpu>::zeros(dev, {2, 3, 2, 2}), ctx, Phase::train), std::logic_error);
        InstanceNorm2d<cpu> loose_in(3, {.affine = true});
        InstanceNorm2d<cpu>::Context ictx;
        CHECK_THROWS_AS(loose_in.forward(dev, Tensor<cpu>::zeros(dev, {2, 3, 2, 2}), ictx, Phase::train), std::logic_error);
    }
}

TEST_CASE("Norm layers in float agree with double") {
    cpu dev32;
    cpu64 dev64;
    Network<BatchNorm2d<cpu>> f(dev32, BatchNorm2d<cpu>(3), "", {.gain = 0.5});
    Network<BatchNorm2d<cpu64>> d(dev64, BatchNorm2d<cpu64>(3), "", {.gain = 0.5});
    const auto xv = test::random_values(2 * 3 * 4 * 5, 30, -3, 5);
    const auto yd = d(Tensor<cpu64>::from_host(dev64, {2, 3, 4, 5}, xv)).to_host(dev64);
    const auto yf = f(Tensor<cpu>::from_host(dev32, {2, 3, 4, 5}, std::vector<float>(xv.begin(), xv.end()))).to_host(dev32);
    check_values(yf, yd, 1e-5);
}

TEST_SUITE("parity") {
    TEST_CASE("InstanceNorm2d equals torch.nn.InstanceNorm2d") {
        cpu dev;
        SUBCASE("affine off") {
            Network<InstanceNorm2d<cpu>> net(dev, InstanceNorm2d<cpu>(4));
            test::check_parity(net, "instnorm2d");
        }
        SUBCASE("affine on") {
            Network<InstanceNorm2d<cpu>> net(dev, InstanceNorm2d<cpu>(3, {.affine = true}));
            test::check_parity(net, "instnorm2d_affine");
        }
        SUBCASE("affine on, eps 1e-3, eval") {
            Network<InstanceNorm2d<cpu>> net(dev, InstanceNorm2d<cpu>(3, {.eps = 1e-3, .affine = true}));
            net.eval();
            test::check_parity(net, "instnorm2d_affine_eval");
        }
    }
    TEST_CASE("BatchNorm2d equals torch.nn.BatchNorm2d") {
        cpu dev;
        SUBCASE("train: output, gradients and running statistics after") {
            Network<BatchNorm2d<cpu>> net(dev, BatchNorm2d<cpu>(5));
            const auto f = test::load_fixture("batchnorm2d_train");
            REQUIRE(f.contains("after.running_mean"));  // else check_parity would not compare them
            REQUIRE(f.contains("after.running_var"));
            test::check_parity(net, "batchnorm2d_train");
        }
        SUBCASE("train, eps 1e-3, momentum 0.3") {
            Network<BatchNorm2d<cpu>> net(dev, BatchNorm2d<cpu>(3, {.eps = 1e-3, .momentum = 0.3}));
            test::check_parity(net, "batchnorm2d_train_momentum");
        }
        SUBCASE("eval with non-trivial running statistics") {
            Network<BatchNorm2d<cpu>> net(dev, BatchNorm2d<cpu>(4));
            net.eval();
            test::check_parity(net, "batchnorm2d_eval");
        }
        SUBCASE("affine off, train") {
            Network<BatchNorm2d<cpu>> net(dev, BatchNorm2d<cpu>(3, {.affine = false}));
            test::check_parity(net, "batchnorm2d_noaffine");
        }
        SUBCASE("affine off, eval") {
            Network<BatchNorm2d<cpu>> net(dev, BatchNorm2d<cpu>(3, {.affine = false}));
            net.eval();
            test::check_parity(net, "batchnorm2d_noaffine_eval");
        }
        SUBCASE("no running statistics, eval (batch statistics)") {
            Network<BatchNorm2d<cpu>> net(dev, BatchNorm2d<cpu>(3, {.track_running_stats = false}));
            net.eval();
            test::check_parity(net, "batchnorm2d_notrack_eval");
        }
    }
}
