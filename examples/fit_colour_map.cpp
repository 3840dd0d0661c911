// A small network, composed from the library's layers as one type, learns a colour mapping
// (red <-> blue swapped, green inverted) from random images by gradient descent on its flat
// parameter buffer. Shows: composition, Network, per-call contexts, forward/backward.
#include <cyclegan/cyclegan.hpp>

#include <cstdio>
#include <random>
#include <vector>

using namespace cyclegan;

using ColourNet = Sequential<Conv2d<cpu>, LeakyReLU<cpu>, Conv2d<cpu>, Tanh<cpu>>;

// target(r, g, b) = (b, -g, r) on pixels in [-1, 1]
static std::vector<float> target_of(const std::vector<float>& x, Shape s) {
    std::vector<float> t(x.size());
    for (int n = 0; n < s.n; ++n) {
        const float* in = x.data() + n * s.image();
        float* out = t.data() + n * s.image();
        for (std::size_t i = 0; i < s.plane(); ++i) {
            out[i] = in[2 * s.plane() + i];
            out[s.plane() + i] = -in[s.plane() + i];
            out[2 * s.plane() + i] = in[i];
        }
    }
    return t;
}

int main() {
    cpu dev;  // every core
    Network<ColourNet> net(dev,
                           ColourNet(Conv2d<cpu>(3, 16, 1), LeakyReLU<cpu>(0.2), Conv2d<cpu>(16, 3, 1), Tanh<cpu>{}),
                           "model", {.type = InitType::kaiming, .seed = 1});
    std::printf("network: %zu parameters\n", net.parameter_count());
    for (const auto& t : net.named_tensors()) {
        std::printf("  %-16s [", t.spec.name.c_str());
        for (std::size_t i = 0; i < t.spec.dims.size(); ++i) std::printf(i ? ", %d" : "%d", t.spec.dims[i]);
        std::printf("]\n");
    }

    const Shape s{4, 3, 16, 16};
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> pixel(-0.9f, 0.9f);
    std::vector<float> velocity(net.parameter_count(), 0.0f);
    const float lr = 0.05f, momentum = 0.9f;
    double first_loss = 0, loss = 0;

    for (int step = 0; step <= 400; ++step) {
        std::vector<float> x(s.numel());
        for (auto& v : x) v = pixel(rng);
        const auto target = target_of(x, s);

        Network<ColourNet>::Context ctx;
        auto y = net.forward(Tensor<cpu>::from_host(dev, s, x), ctx);
        auto out = y.to_host(dev);
        // MSE loss and its gradient, computed on the host for this small example.
        loss = 0;
        std::vector<float> dy(out.size());
        for (std::size_t i = 0; i < out.size(); ++i) {
            const float d = out[i] - target[i];
            loss += d * d;
            dy[i] = 2 * d / static_cast<float>(out.size());
        }
        loss /= static_cast<double>(out.size());
        if (step == 0) first_loss = loss;

        net.zero_grad();
        net.backward(ctx, Tensor<cpu>::from_host(dev, s, dy));  // weight gradients only
        float* p = net.parameters().data();
        const float* g = net.gradients().data();
        for (std::size_t i = 0; i < velocity.size(); ++i) {  // SGD with momentum over the flat buffer
            velocity[i] = momentum * velocity[i] + g[i];
            p[i] -= lr * velocity[i];
        }
        if (step % 100 == 0) std::printf("step %3d  mse %.5f\n", step, loss);
    }
    std::printf("mse fell from %.4f to %.4f (%.1fx)\n", first_loss, loss, first_loss / loss);
    return loss < first_loss / 10 ? 0 : 1;
}
