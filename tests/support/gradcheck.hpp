#pragma once
// Finite-difference gradient checks in double precision (cyclegan::cpu64).
//
// For a network f and a fixed random weighting r, the scalar L(x, θ) = Σ r ⊙ f(x; θ) has
// dL/dx = backward(r). Central differences of L along every input element and every parameter
// must match what backward returned.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <cyclegan/cyclegan.hpp>

namespace cyclegan::test {

inline std::vector<double> random_values(std::size_t n, std::uint64_t seed, double lo = -1, double hi = 1) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> d(lo, hi);
    std::vector<double> v(n);
    for (auto& e : v) e = d(rng);
    return v;
}

// On cpu64 the doubles themselves; on cpu (float) the same draws rounded.
template <class T>
Tensor<basic_cpu<T>> random_tensor(basic_cpu<T>& dev, Shape s, std::uint64_t seed, double lo = -1, double hi = 1) {
    const auto v = random_values(s.numel(), seed, lo, hi);
    return Tensor<basic_cpu<T>>::from_host(dev, s, std::vector<T>(v.begin(), v.end()));
}

struct GradcheckOptions {
    double eps = 1e-6;
    double tolerance = 1e-6;  // on |analytic - numeric| / max(1, |numeric|)
    bool check_input = true;
    std::uint64_t seed = 7;
};

template <class Net>
double weighted_sum(Network<Net>& net, const Tensor<cpu64>& x, const std::vector<double>& r) {
    typename Network<Net>::Context ctx;
    auto y = net.forward(x, ctx).to_host(net.device());
    double s = 0;
    for (std::size_t i = 0; i < y.size(); ++i) s += r[i] * y[i];
    return s;
}

// Checks input and parameter gradients of `net` at `x`. Every element is perturbed: keep sizes small.
template <class Net>
void gradcheck(Network<Net>& net, const Tensor<cpu64>& x, GradcheckOptions o = {}) {
    cpu64& dev = net.device();
    typename Network<Net>::Context ctx;
    auto y = net.forward(x, ctx);
    const auto r = random_values(y.numel(), o.seed);
    auto dy = Tensor<cpu64>::from_host(dev, y.shape(), r);
    net.zero_grad();
    Tensor<cpu64> dx;
    net.backward(ctx, dy, o.check_input ? &dx : nullptr, Grad::accumulate);

    auto compare = [&](const char* what, std::size_t i, double analytic, double numeric) {
        const double err = std::abs(analytic - numeric) / std::max(1.0, std::abs(numeric));
        INFO(what << "[" << i << "]: analytic " << analytic << ", numeric " << numeric);
        CHECK(err < o.tolerance);
    };
    auto central = [&](double* p) {
        const double keep = *p;
        *p = keep + o.eps;
        const double up = weighted_sum(net, x, r);
        *p = keep - o.eps;
        const double down = weighted_sum(net, x, r);
        *p = keep;
        return (up - down) / (2 * o.eps);
    };

    if (o.check_input) {
        REQUIRE(dx.shape() == x.shape());
        const auto analytic = dx.to_host(dev);
        for (std::size_t i = 0; i < x.numel(); ++i) compare("dx", i, analytic[i], central(x.data() + i));
    }
    for (const auto& t : net.named_tensors()) {
        if (t.grad.empty()) continue;
        const auto analytic = t.grad.to_host(dev);
        for (std::size_t i = 0; i < t.value.numel(); ++i)
            compare(t.spec.name.c_str(), i, analytic[i], central(t.value.data() + i));
    }
}

}  // namespace cyclegan::test
