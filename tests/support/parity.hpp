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

inline Tensor<cpu> fixture_tensor(cpu& dev, const safetensors::File& f, const std::string& name) {
    return Tensor<cpu>::from_host(dev, fixture_shape(f, name), f.values<float>(name));
}

// |a - b| <= tol * max(|b|, scale): relative to PyTorch's value, but with a floor at the typical
// magnitude of the tensor so that entries that cancel to ~0 are not held to an impossible bound.
inline void expect_close(const std::string& what, const std::vector<float>& ours,
                         const std::vector<float>& theirs, double tol = 1e-4) {
    REQUIRE_MESSAGE(ours.size() == theirs.size(), what << ": " << ours.size() << " values vs PyTorch's " << theirs.size());
    double scale = 0;
    for (float v : theirs) scale = std::max(scale, static_cast<double>(std::abs(v)));
    scale = std::max(scale * 1e-2, 1e-6);
    std::size_t bad = 0, worst_i = 0;
    double worst = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) {
        const double err = std::abs(double(ours[i]) - theirs[i]) / std::max(std::abs(double(theirs[i])), scale);
        if (err > tol) ++bad;
        if (err > worst) { worst = err; worst_i = i; }
    }
    INFO(what << ": worst relative error " << worst << " at " << worst_i << " (ours "
              << (ours.empty() ? 0.f : ours[worst_i]) << ", PyTorch " << (theirs.empty() ? 0.f : theirs[worst_i]) << ")");
    CHECK(bad == 0);
}

// Loads parameters and buffers from the fixture into `net` (every one must be there), runs one
// forward and backward on the fixture's x and dy, and compares y, dx and every gradient.
template <class Net>
void check_parity(Network<Net>& net, const std::string& case_name, double tol = 1e-4) {
    INFO("fixture " << case_name);
    const auto f = load_fixture(case_name);
    cpu& dev = net.device();
    for (const auto& t : net.named_tensors()) {
        REQUIRE_MESSAGE(f.contains(t.spec.name), "fixture lacks parameter " << t.spec.name);
        const auto v = f.values<float>(t.spec.name);
        REQUIRE_MESSAGE(v.size() == t.value.numel(), t.spec.name << ": fixture has " << v.size() << " values");
        dev.upload(v.data(), t.value.data(), v.size());
    }
    net.zero_grad();
    auto x = fixture_tensor(dev, f, "x");
    typename Network<Net>::Context ctx;
    auto y = net.forward(x, ctx);
    CHECK(y.shape() == fixture_shape(f, "y"));
    expect_close("y", y.to_host(dev), f.values<float>("y"), tol);
    for (const auto& t : net.named_tensors())
        if (f.contains("after." + t.spec.name))
            expect_close("after." + t.spec.name, t.value.to_host(dev), f.values<float>("after." + t.spec.name), tol);
    Tensor<cpu> dx;
    net.backward(ctx, fixture_tensor(dev, f, "dy"), &dx, Grad::accumulate);
    expect_close("dx", dx.to_host(dev), f.values<float>("dx"), tol);
    for (const auto& t : net.named_tensors())
        if (!t.grad.empty()) expect_close("grad." + t.spec.name, t.grad.to_host(dev), f.values<float>("grad." + t.spec.name), tol);
}

}  // namespace cyclegan::test
