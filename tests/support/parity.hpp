#pragma once
// Parity with PyTorch, under one rule. tests/fixtures/*.py write one safetensors file per case with
//   x, dy                  the input and the output gradient fed to backward
//   <name>                 each parameter and buffer, under our (= PyTorch's) names
//   y, dx, grad.<name>     the exact results, computed in float64 from those same values
//   after.<name>           (optional) buffers after the forward, e.g. running statistics
//   bound.<each result>    how far a correct implementation in the fixture's precision may be from
//                          it: a rounding-error estimate carried through the computation, scaled
//                          by the magnitudes summed and the reduction lengths (tests/fixtures/bounds.py)
// The rule: |ours - exact| <= bound, element by element. It holds for any correct implementation
// (the fixture script checks it on PyTorch's own float32 results) and does not depend on which
// kernels either side ran, so it gives the same verdict on every CPU.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <cyclegan/cyclegan.hpp>
#include <cyclegan/io/safetensors.hpp>

#ifndef CYCLEGAN_FIXTURE_DIR
#error "CYCLEGAN_FIXTURE_DIR must name the folder the fixture scripts write to"
#endif

namespace cyclegan::test {

inline safetensors::LazyFile load_fixture(const std::string& name) {
    const auto path = std::filesystem::path(CYCLEGAN_FIXTURE_DIR) / (name + ".safetensors");
    REQUIRE_MESSAGE(std::filesystem::exists(path),
                    "missing fixture " << path << ": run tests/fixtures/generate.py (ctest does, as 'fixtures')");
    return safetensors::LazyFile::open(path);
}

inline Shape fixture_shape(const safetensors::LazyFile& f, const std::string& name) {
    std::vector<int> dims;
    for (auto d : f.info(name).shape) dims.push_back(static_cast<int>(d));
    return shape_of_dims(dims);
}

template <class B = cpu>
Tensor<B> fixture_tensor(B& dev, const safetensors::LazyFile& f, const std::string& name) {
    return Tensor<B>::from_host(dev, fixture_shape(f, name), f.values<typename B::scalar>(name));
}

// How a result compares with the exact one under its bound.
struct Agreement {
    std::size_t violations = 0, worst_index = 0;
    double worst_ratio = 0;  // the largest |ours - exact| / bound
    double ours_at_worst = 0, exact_at_worst = 0, bound_at_worst = 0;
    bool ok() const { return violations == 0; }
};

template <class T>
Agreement compare(const std::vector<T>& ours, const std::vector<double>& exact, const std::vector<double>& bound) {
    REQUIRE(exact.size() == bound.size());
    REQUIRE_MESSAGE(ours.size() == exact.size(), ours.size() << " values where the fixture has " << exact.size());
    Agreement a;
    for (std::size_t i = 0; i < ours.size(); ++i) {
        const double err = std::abs(double(ours[i]) - exact[i]);
        if (!(err <= bound[i])) ++a.violations;  // NaN counts as a violation
        const double ratio = bound[i] > 0 ? err / bound[i] : (err > 0 ? INFINITY : 0);
        if (ratio > a.worst_ratio || std::isnan(err)) {
            a.worst_ratio = std::isnan(err) ? INFINITY : ratio;
            a.worst_index = i;
            a.ours_at_worst = ours[i], a.exact_at_worst = exact[i], a.bound_at_worst = bound[i];
        }
    }
    return a;
}

inline std::string describe(const std::string& what, const Agreement& a) {
    std::ostringstream s;
    s << what << ": " << a.violations << " values outside the bound; worst error/bound " << a.worst_ratio << " at "
      << a.worst_index << " (ours " << a.ours_at_worst << ", exact " << a.exact_at_worst << ", bound " << a.bound_at_worst << ")";
    return s.str();
}

// The rule for the fixture result `name` (and its bound.<name>).
template <class T>
Agreement compare(const safetensors::LazyFile& f, const std::string& name, const std::vector<T>& ours) {
    REQUIRE_MESSAGE(f.contains("bound." + name), "fixture lacks bound." << name);
    return compare(ours, f.values<double>(name), f.values<double>("bound." + name));
}

template <class T>
void expect_within_bound(const safetensors::LazyFile& f, const std::string& name, const std::vector<T>& ours) {
    const Agreement a = compare(f, name, ours);
    INFO(describe(name, a));
    CHECK(a.ok());
}

// Loads parameters and buffers from the fixture into `net` (every one must be there).
template <class Net>
void load_fixture_parameters(Network<Net>& net, const safetensors::LazyFile& f) {
    using T = typename Network<Net>::backend::scalar;
    for (const auto& t : net.named_tensors()) {
        REQUIRE_MESSAGE(f.contains(t.spec.name), "fixture lacks parameter " << t.spec.name);
        const auto v = f.values<T>(t.spec.name);
        REQUIRE_MESSAGE(v.size() == t.value.numel(), t.spec.name << ": fixture has " << v.size() << " values");
        net.device().upload(v.data(), t.value.data(), v.size());
    }
}

// Every result of one forward and backward of `net` (parameters already loaded) on the fixture's
// x and dy, by name: y, after.<buffer>, dx, grad.<parameter>.
template <class Net>
std::vector<std::pair<std::string, std::vector<typename Network<Net>::backend::scalar>>> run_fixture(
    Network<Net>& net, const safetensors::LazyFile& f) {
    using B = typename Network<Net>::backend;
    B& dev = net.device();
    net.zero_grad();
    typename Network<Net>::Context ctx;
    auto y = net.forward(fixture_tensor(dev, f, "x"), ctx);
    REQUIRE(y.shape() == fixture_shape(f, "y"));
    std::vector<std::pair<std::string, std::vector<typename B::scalar>>> out{{"y", y.to_host(dev)}};
    for (const auto& t : net.named_tensors())
        if (f.contains("after." + t.spec.name)) out.emplace_back("after." + t.spec.name, t.value.to_host(dev));
    Tensor<B> dx;
    net.backward(ctx, fixture_tensor(dev, f, "dy"), &dx, Grad::accumulate);
    out.emplace_back("dx", dx.to_host(dev));
    for (const auto& t : net.named_tensors())
        if (!t.grad.empty()) out.emplace_back("grad." + t.spec.name, t.grad.to_host(dev));
    return out;
}

// Loads the fixture's parameters, runs one forward and backward, and holds y, dx, every gradient
// and every updated buffer to the rule. Float networks (cpu) meet float32 fixtures, double ones
// (cpu64) the float64 fixtures of whole networks, whose bounds are about 1e-12 of the values: there
// agreement shows the architectures are the same, not just close.
template <class Net>
void check_parity(Network<Net>& net, const std::string& case_name) {
    INFO("fixture " << case_name);
    const auto f = load_fixture(case_name);
    load_fixture_parameters(net, f);
    for (const auto& [name, ours] : run_fixture(net, f)) expect_within_bound(f, name, ours);
}

}  // namespace cyclegan::test
