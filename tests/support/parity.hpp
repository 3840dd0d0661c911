#pragma once
// Parity with PyTorch. tests/fixtures/*.py write one safetensors file per case with
//   x, dy                  the input and the output gradient fed to backward
//   <name>                 each parameter and buffer, under our (= PyTorch's) names
//   y, dx, grad.<name>     PyTorch's output, input gradient and parameter gradients
//   after.<name>           (optional) buffers after the forward, e.g. running statistics
// The C++ side builds the same layer, loads those tensors, runs forward and backward in float,
// and must agree to a relative 1e-4.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <cyclegan/cyclegan.hpp>
#include <cyclegan/io/safetensors.hpp>

#ifndef CYCLEGAN_FIXTURE_DIR
#error "CYCLEGAN_FIXTURE_DIR must name the folder the fixture scripts write to"
#endif

namespace cyclegan::test {

inline safetensors::File load_fixture(const std::string& name) {
    const auto path = std::filesystem::path(CYCLEGAN_FIXTURE_DIR) / (name + ".safetensors");
    REQUIRE_MESSAGE(std::filesystem::exists(path),
                    "missing fixture " << path << ": run tests/fixtures/generate.py (ctest does, as 'fixtures')");
    return safetensors::File::read(path);
}

inline Shape fixture_shape(const safetensors::File& f, const std::string& name) {
    std::vector<int> dims;
    for (auto d : f.info(name).shape) dims.push_back(static_cast<int>(d));
    return shape_of_dims(dims);
}

template <class B = cpu>
Tensor<B> fixture_tensor(B& dev, const safetensors::File& f, const std::string& name) {
    return Tensor<B>::from_host(dev, fixture_shape(f, name), f.values<typename B::scalar>(name));
}

// |a - b| <= tol * max(|b|, scale): relative to PyTorch's value, but with a floor at the typical
// magnitude of the tensor so that entries that cancel to ~0 are not held to an impossible bound.
// In absolute terms: |ours - theirs| <= tol * max(|theirs|, 1% of the largest magnitude).
// `magnitude` overrides the tensor's own largest magnitude: parameter gradients are judged at the
// scale of the whole network's gradients, because some are analytically zero (a bias followed by
// instance norm) and float32 leaves only rounding noise there, of either sign.
template <class T>
void expect_close(const std::string& what, const std::vector<T>& ours, const std::vector<T>& theirs,
                  double tol = 1e-4, double magnitude = 0) {
    REQUIRE_MESSAGE(ours.size() == theirs.size(), what << ": " << ours.size() << " values vs PyTorch's " << theirs.size());
    double scale = magnitude;
    for (T v : theirs) scale = std::max(scale, static_cast<double>(std::abs(v)));
    scale = std::max(scale * 1e-2, 1e-12);
    std::size_t bad = 0, worst_i = 0;
    double worst = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) {
        const double err = std::abs(double(ours[i]) - theirs[i]) / std::max(std::abs(double(theirs[i])), scale);
        if (err > tol) ++bad;
        if (err > worst) { worst = err; worst_i = i; }
    }
    INFO(what << ": worst relative error " << worst << " at " << worst_i << " (ours "
              << (ours.empty() ? T(0) : ours[worst_i]) << ", PyTorch " << (theirs.empty() ? T(0) : theirs[worst_i]) << ")");
    CHECK(bad == 0);
}

// Loads parameters and buffers from the fixture into `net` (every one must be there), runs one
// forward and backward on the fixture's x and dy, and compares y, dx and every gradient.
// Float networks (cpu) meet float32 fixtures; double ones (cpu64) the float64 fixtures of whole
// networks, where agreement to 1e-6 shows the architectures are the same, not just close.
template <class Net>
void check_parity(Network<Net>& net, const std::string& case_name, double tol = 1e-4) {
    using B = typename Network<Net>::backend;
    using T = typename B::scalar;
    INFO("fixture " << case_name);
    const auto f = load_fixture(case_name);
    B& dev = net.device();
    for (const auto& t : net.named_tensors()) {
        REQUIRE_MESSAGE(f.contains(t.spec.name), "fixture lacks parameter " << t.spec.name);
        const auto v = f.values<T>(t.spec.name);
        REQUIRE_MESSAGE(v.size() == t.value.numel(), t.spec.name << ": fixture has " << v.size() << " values");
        dev.upload(v.data(), t.value.data(), v.size());
    }
    net.zero_grad();
    auto x = fixture_tensor(dev, f, "x");
    typename Network<Net>::Context ctx;
    auto y = net.forward(x, ctx);
    CHECK(y.shape() == fixture_shape(f, "y"));
    expect_close("y", y.to_host(dev), f.values<T>("y"), tol);
    for (const auto& t : net.named_tensors())
        if (f.contains("after." + t.spec.name))
            expect_close("after." + t.spec.name, t.value.to_host(dev), f.values<T>("after." + t.spec.name), tol);
    Tensor<B> dx;
    net.backward(ctx, fixture_tensor(dev, f, "dy"), &dx, Grad::accumulate);
    expect_close("dx", dx.to_host(dev), f.values<T>("dx"), tol);
    double grad_magnitude = 0;
    for (const auto& t : net.named_tensors())
        if (!t.grad.empty())
            for (T v : f.values<T>("grad." + t.spec.name)) grad_magnitude = std::max(grad_magnitude, double(std::abs(v)));
    for (const auto& t : net.named_tensors())
        if (!t.grad.empty())
            expect_close("grad." + t.spec.name, t.grad.to_host(dev), f.values<T>("grad." + t.spec.name), tol, grad_magnitude);
}

}  // namespace cyclegan::test
