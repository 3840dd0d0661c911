// docs/adding-a-layer.md's worked example, built and run by ctest (custom_layer_example): a layer
// defined outside the library (channel_scale.hpp) composed with the library's own, its values
// checked by hand and its gradients against finite differences. Exits 1 when a check fails.
#include <cmath>
#include <cstdio>
#include <vector>

#include "channel_scale.hpp"

using namespace cyclegan;
using example::ChannelScale;

#if CYCLEGAN_EXAMPLE_HAS_CUDA
// custom_layer_cuda.cu: the layer on the GPU against the CPU; -1 without a GPU, else the failures.
int check_on_cuda();
#endif

template <class B>
using Block = Sequential<Conv2d<B>, ChannelScale<B>, ReLU<B>>;

int main() {
    cpu64 dev(1);
    Network<Block<cpu64>> net(dev, Block<cpu64>(Conv2d<cpu64>(2, 3, 3, {.padding = 1}), ChannelScale<cpu64>(3), ReLU<cpu64>{}),
                              "block", {.gain = 0.5});
    int failures = 0;

    // Values by hand: with the convolution's weights at 0 and its bias at b, y[c] = relu(b[c] * s[c]).
    {
        std::vector<double> p = net.parameters().to_host(dev);
        const auto& w = net.find("block.0.weight");
        const auto& b = net.find("block.0.bias");
        const auto& s = net.find("block.1.weight");
        for (std::size_t i = 0; i < w.value.numel(); ++i) p[w.offset + i] = 0;
        const double bias[] = {1.0, -1.0, 0.5}, scale[] = {2.0, 3.0, -4.0}, expect[] = {2.0, 0.0, 0.0};
        for (int c = 0; c < 3; ++c) p[b.offset + c] = bias[c], p[s.offset + c] = scale[c];
        dev.upload(p.data(), net.parameters().data(), p.size());
        const auto y = net(Tensor<cpu64>::full(dev, {1, 2, 4, 5}, 1.0)).to_host(dev);
        for (int c = 0; c < 3; ++c)
            if (y[static_cast<std::size_t>(c) * 20] != expect[c]) {
                std::printf("value: channel %d is %g, expected %g\n", c, y[static_cast<std::size_t>(c) * 20], expect[c]);
                ++failures;
            }
    }

    // Gradients: loss = sum(y * r) for a fixed r; every parameter's dloss/dp by central differences.
    std::vector<double> p(net.parameters().numel());
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = std::sin(1.7 * static_cast<double>(i) + 0.3);
    dev.upload(p.data(), net.parameters().data(), p.size());
    const Shape xs{2, 2, 5, 4};
    std::vector<double> xv(xs.numel()), rv(Shape{2, 3, 5, 4}.numel());
    for (std::size_t i = 0; i < xv.size(); ++i) xv[i] = std::cos(0.9 * static_cast<double>(i));
    for (std::size_t i = 0; i < rv.size(); ++i) rv[i] = std::sin(0.37 * static_cast<double>(i) + 1.0);
    const auto x = Tensor<cpu64>::from_host(dev, xs, xv);
    const auto r = Tensor<cpu64>::from_host(dev, Shape{2, 3, 5, 4}, rv);
    auto loss = [&] {
        const auto y = net(x).to_host(dev);
        double sum = 0;
        for (std::size_t i = 0; i < y.size(); ++i) sum += y[i] * rv[i];
        return sum;
    };
    net.zero_grad();
    Network<Block<cpu64>>::Context ctx;
    net.forward(x, ctx);
    Tensor<cpu64> dx;
    net.backward(ctx, r, &dx);
    const auto grad = net.gradients().to_host(dev);
    double worst = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
        const double h = 1e-6, keep = p[i];
        p[i] = keep + h;
        dev.upload(p.data(), net.parameters().data(), p.size());
        const double up = loss();
        p[i] = keep - h;
        dev.upload(p.data(), net.parameters().data(), p.size());
        const double down = loss();
        p[i] = keep;
        const double numeric = (up - down) / (2 * h);
        worst = std::max(worst, std::abs(numeric - grad[i]) / std::max(1.0, std::abs(numeric)));
    }
    dev.upload(p.data(), net.parameters().data(), p.size());
    std::printf("ChannelScale in a Network: %zu parameters, largest gradient error %.2g\n", p.size(), worst);
    if (!(worst < 1e-6)) ++failures;
#if CYCLEGAN_EXAMPLE_HAS_CUDA
    if (const int gpu = check_on_cuda(); gpu < 0)
        std::printf("no GPU: the CUDA kernels were compiled, not run\n");
    else
        failures += gpu;
#endif
    if (failures) std::printf("FAILED: %d checks\n", failures);
    return failures ? 1 : 0;
}
