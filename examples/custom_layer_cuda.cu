// The worked example's layer on the GPU (nvcc compiles this file): forward and backward of
// ChannelScale on cuda against the CPU's float kernels, on the same values.
#include <cmath>
#include <cstdio>
#include <vector>

#include "channel_scale.hpp"

using namespace cyclegan;
using example::ChannelScale;

int check_on_cuda() {
    if (cuda::device_count() == 0) return -1;
    const Shape s{2, 3, 5, 7};
    std::vector<float> xv(s.numel()), dyv(s.numel());
    for (std::size_t i = 0; i < xv.size(); ++i) xv[i] = std::sin(0.7f * i), dyv[i] = std::cos(0.3f * i);
    auto run = [&](auto& dev) {
        using B = std::remove_reference_t<decltype(dev)>;
        Network<ChannelScale<B>> net(dev, ChannelScale<B>(3));
        const std::vector<float> w{0.5f, -2.0f, 1.25f};
        dev.upload(w.data(), net.parameters().data(), w.size());
        typename Network<ChannelScale<B>>::Context ctx;
        const auto y = net.forward(Tensor<B>::from_host(dev, s, xv), ctx);
        Tensor<B> dx;
        net.backward(ctx, Tensor<B>::from_host(dev, s, dyv), &dx);
        std::vector<float> out = y.to_host(dev), d = dx.to_host(dev), g = net.gradients().to_host(dev);
        out.insert(out.end(), d.begin(), d.end());
        out.insert(out.end(), g.begin(), g.end());
        return out;
    };
    cpu host(1);
    cuda gpu;
    const auto a = run(host), b = run(gpu);
    int failures = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::abs(a[i] - b[i]) > 1e-5f * std::max(1.0f, std::abs(a[i]))) ++failures;
    std::printf("ChannelScale on the GPU: %zu values, %d differ from the CPU's\n", a.size(), failures);
    return failures ? 1 : 0;
}
