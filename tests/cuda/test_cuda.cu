// The GPU backend against the CPU backend: every layer's forward and backward, the losses, the
// optimizers, whole networks and a whole CycleGAN training step, and re-entrancy on the GPU.
// Without a CUDA device the program exits with 77, which ctest reports as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cyclegan/cuda.cuh>

#include "../support/every_layer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

using namespace cyclegan;

namespace {

// Tolerances, relative to the largest magnitude of the CPU's result. TF32 is off in these tests,
// so both sides multiply in FP32 and differ only in summation order: 1e-4 covers a layer; a
// training step compounds thousands of layers' differences through Adam's normalised update.
constexpr double layer_tol = 1e-4;
constexpr double step_tol = 2e-3;

std::vector<float> random_values(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng);
    return v;
}

// |a - b| <= tol * max(1e-3, max |a|) everywhere, reporting the worst element.
void check_close(const std::vector<float>& cpu_values, const std::vector<float>& gpu_values, double tol,
                 const char* what) {
    INFO(what);
    REQUIRE(cpu_values.size() == gpu_values.size());
    double scale = 1e-3, worst = 0;
    std::size_t at = 0;
    for (float v : cpu_values) scale = std::max(scale, double(std::fabs(v)));
    for (std::size_t i = 0; i < cpu_values.size(); ++i) {
        const double d = std::fabs(double(cpu_values[i]) - double(gpu_values[i]));
        if (d > worst) worst = d, at = i;
    }
    INFO("worst difference " << worst << " at element " << at << " of " << cpu_values.size() << ", scale " << scale);
    CHECK(worst <= tol * scale);
}

// Everything one forward and backward of a layer produces, brought to the host.
struct LayerRun {
    std::vector<float> y, dx, grads, buffers;
};

// The same layer on either backend: Network initialises its parameters on the host from the seed,
// so both start equal. The output gradient is random too; optionally an evaluation-mode pass.
template <class B, class Make>
LayerRun run_layer(B& dev, Make make, Shape xs, bool training = true, int warm_passes = 0) {
    auto net = make(std::type_identity<B>{});
    Network<decltype(net)> network(dev, std::move(net), "layer", InitOptions{.seed = 5});
    for (int i = 0; i < warm_passes; ++i) {  // batch norm: running statistics from a few batches
        typename decltype(network)::Context ctx;
        network.forward(Tensor<B>::from_host(dev, xs, random_values(xs.numel(), 100 + i)), ctx);
    }
    network.train(training);
    const Tensor<B> x = Tensor<B>::from_host(dev, xs, random_values(xs.numel(), 1));
    typename decltype(network)::Context ctx;
    Tensor<B> y = network.forward(x, ctx);
    const Tensor<B> dy = Tensor<B>::from_host(dev, y.shape(), random_values(y.numel(), 2));
    Tensor<B> dx;
    network.backward(ctx, dy, &dx);
    return {y.to_host(dev), dx.to_host(dev), network.gradients().to_host(dev), network.buffers().to_host(dev)};
}

template <class Make>
void compare_layer(const char* name, Make make, Shape xs, bool training = true, int warm_passes = 0,
                   double tol = layer_tol) {
    INFO(name << " on " << to_string(xs));
    cpu host(2);
    cuda gpu;
    gpu.set_allow_tf32(false);
    const LayerRun a = run_layer(host, make, xs, training, warm_passes);
    const LayerRun b = run_layer(gpu, make, xs, training, warm_passes);
    check_close(a.y, b.y, tol, "forward");
    check_close(a.dx, b.dx, tol, "input gradient");
    check_close(a.grads, b.grads, tol, "parameter gradients");
    check_close(a.buffers, b.buffers, tol, "buffers (running statistics)");
}

#define LAYER(...) [](auto tag) { using B = typename decltype(tag)::type; return __VA_ARGS__; }

}  // namespace

TEST_CASE("memory: fill, upload, download and copy round-trip") {
    cuda gpu;
    const auto values = random_values(1000, 3);
    auto t = Tensor<cuda>::from_host(gpu, {2, 5, 10, 10}, values);
    CHECK(t.to_host(gpu) == values);
    CHECK(t.clone(gpu).to_host(gpu) == values);
    auto z = Tensor<cuda>::full(gpu, {1, 1, 3, 3}, 2.5f);
    CHECK(z.to_host(gpu) == std::vector<float>(9, 2.5f));
    CHECK(t.images(1).to_host(gpu) == std::vector<float>(values.begin() + 500, values.end()));
}

TEST_CASE("every layer of test::for_each_layer equals the CPU's") {
    test::for_each_layer([](const char* name, auto make, Shape xs) { compare_layer(name, make, xs); });
}

TEST_CASE("Conv2d equals the CPU's in every padding mode, stride and dilation") {
    compare_layer("3x3 zeros", LAYER(Conv2d<B>(5, 7, 3, {.padding = 1})), {2, 5, 9, 11});
    compare_layer("4x4 stride 2 (PatchGAN)", LAYER(Conv2d<B>(3, 8, 4, {.stride = 2, .padding = 1})), {1, 3, 16, 16});
    compare_layer("7x7 reflect (c7s1)", LAYER(Conv2d<B>(3, 6, 7, {.padding = 3, .padding_mode = PaddingMode::reflect})),
                  {1, 3, 13, 12});
    compare_layer("3x3 replicate", LAYER(Conv2d<B>(4, 4, 3, {.padding = 2, .padding_mode = PaddingMode::replicate})),
                  {2, 4, 7, 8});
    compare_layer("dilated, no bias", LAYER(Conv2d<B>(4, 3, 3, {.padding = 2, .dilation = 2, .bias = false})),
                  {1, 4, 10, 9});
}

TEST_CASE("ConvTranspose2d equals the CPU's") {
    compare_layer("3x3 stride 2, output_padding 1",
                  LAYER(ConvTranspose2d<B>(6, 4, 3, {.stride = 2, .padding = 1, .output_padding = 1})), {2, 6, 5, 7});
    compare_layer("4x4 stride 2 no bias", LAYER(ConvTranspose2d<B>(3, 5, 4, {.stride = 2, .padding = 1, .bias = false})),
                  {1, 3, 6, 6});
}

TEST_CASE("InstanceNorm2d and BatchNorm2d equal the CPU's") {
    compare_layer("instance", LAYER(InstanceNorm2d<B>(5)), {2, 5, 9, 7});
    compare_layer("instance affine", LAYER(InstanceNorm2d<B>(5, {.affine = true})), {2, 5, 9, 7});
    compare_layer("batch, training", LAYER(BatchNorm2d<B>(4)), {3, 4, 6, 5});
    compare_layer("batch, eval after training", LAYER(BatchNorm2d<B>(4)), {3, 4, 6, 5}, false, 3);
}

TEST_CASE("activations equal the CPU's") {
    compare_layer("ReLU", LAYER(ReLU<B>{}), {2, 3, 5, 7});
    compare_layer("LeakyReLU 0.2", LAYER(LeakyReLU<B>(0.2)), {2, 3, 5, 7});
    compare_layer("Tanh", LAYER(Tanh<B>{}), {2, 3, 5, 7});
    compare_layer("Sigmoid", LAYER(Sigmoid<B>{}), {2, 3, 5, 7});
}

TEST_CASE("Dropout draws the CPU's mask") {
    compare_layer("p 0.5", LAYER(Dropout<B>(0.5, 9)), {2, 4, 8, 8}, true, 0, 0.0);
}

TEST_CASE("padding layers equal the CPU's") {
    compare_layer("reflect", LAYER(ReflectionPad2d<B>(1, 2, 3, 1)), {2, 3, 6, 5});
    compare_layer("replicate", LAYER(ReplicationPad2d<B>(2)), {1, 3, 4, 5});
    compare_layer("zeros", LAYER(ZeroPad2d<B>(1, 0, 2, 3)), {1, 2, 4, 4});
}

TEST_CASE("Upsample equals the CPU's") {
    compare_layer("nearest x2", LAYER(Upsample<B>({.scale_factor = 2})), {2, 3, 5, 4});
    compare_layer("bilinear x2", LAYER(Upsample<B>({.scale_factor = 2, .mode = UpsampleMode::bilinear})), {1, 3, 5, 6});
    compare_layer("bilinear x3 align_corners",
                  LAYER(Upsample<B>({.scale_factor = 3, .mode = UpsampleMode::bilinear, .align_corners = true})),
                  {1, 2, 4, 5});
}

TEST_CASE("channel concatenation (SkipConcat) and residual sums equal the CPU's") {
    compare_layer("skip", LAYER(SkipConcat(Sequential(Conv2d<B>(3, 4, 3, {.padding = 1}), ReLU<B>{}))), {2, 3, 6, 6});
    compare_layer("residual", LAYER(Residual(Sequential(Conv2d<B>(4, 4, 3, {.padding = 1}), Tanh<B>{}))), {1, 4, 5, 5});
}

TEST_CASE("whole networks equal the CPU's") {
    compare_layer("resnet_6blocks ngf 8", LAYER(ResnetGenerator6<B>({.ngf = 8})), {1, 3, 32, 32}, true, 0, 1e-3);
    compare_layer("unet_128 ngf 4", LAYER(UnetGenerator<B, 7>({.ngf = 4})), {1, 3, 128, 128}, true, 0, 1e-3);
    compare_layer("basic PatchGAN ndf 8", LAYER(PatchDiscriminator<B, 3>({.ndf = 8})), {2, 3, 32, 32}, true, 0, 1e-3);
}

TEST_CASE("losses equal the CPU's, value and gradient") {
    cpu host(2);
    cuda gpu;
    const Shape s{2, 1, 6, 6};
    const auto p = random_values(s.numel(), 4), t = random_values(s.numel(), 5);
    auto run = [&](auto& dev, auto loss_fn) {
        using B = std::remove_reference_t<decltype(dev)>;
        const auto pred = Tensor<B>::from_host(dev, s, p), target = Tensor<B>::from_host(dev, s, t);
        Tensor<B> g;
        const double v = loss_fn(dev, pred, target, &g);
        return std::pair{v, g.to_host(dev)};
    };
    auto each = [&](const char* name, auto loss_fn) {
        INFO(name);
        const auto [a, ga] = run(host, loss_fn);
        const auto [b, gb] = run(gpu, loss_fn);
        CHECK(b == doctest::Approx(a).epsilon(1e-6));
        check_close(ga, gb, 1e-6, "gradient");
    };
    each("LSGAN", [](auto& d, const auto& x, const auto&, auto* g) { return LSGAN{}(d, x, Target::real, Player::generator, g, 0.5); });
    each("vanilla", [](auto& d, const auto& x, const auto&, auto* g) { return VanillaGAN{}(d, x, Target::fake, Player::discriminator, g); });
    each("hinge", [](auto& d, const auto& x, const auto&, auto* g) { return HingeGAN{}(d, x, Target::real, Player::discriminator, g); });
    each("L1", [](auto& d, const auto& x, const auto& y, auto* g) { return L1Loss{}(d, x, y, g, 10.0); });
    each("MSE", [](auto& d, const auto& x, const auto& y, auto* g) { return MSELoss{}(d, x, y, g); });
}

TEST_CASE("Adam and SGD steps equal the CPU's") {
    cpu host(2);
    cuda gpu;
    const Shape s{1, 1, 1, 1000};
    auto run = [&](auto& dev, auto make_state) {
        using B = std::remove_reference_t<decltype(dev)>;
        auto p = Tensor<B>::from_host(dev, s, random_values(s.numel(), 6));
        auto state = make_state(dev);
        for (int step = 0; step < 5; ++step)
            state.step(p, Tensor<B>::from_host(dev, s, random_values(s.numel(), 10 + step)));
        return p.to_host(dev);
    };
    check_close(run(host, [&](auto& d) { return Adam::State<cpu>(d, s.numel(), {.lr = 0.01, .weight_decay = 0.1}); }),
                run(gpu, [&](auto& d) { return Adam::State<cuda>(d, s.numel(), {.lr = 0.01, .weight_decay = 0.1}); }),
                1e-5, "Adam");
    check_close(run(host, [&](auto& d) { return SGD::State<cpu>(d, s.numel(), {.lr = 0.1, .momentum = 0.9}); }),
                run(gpu, [&](auto& d) { return SGD::State<cuda>(d, s.numel(), {.lr = 0.1, .momentum = 0.9}); }),
                1e-5, "SGD");
}

TEST_CASE("a whole CycleGAN training step equals the CPU's") {
    // The paper's networks with fewer filters, 32x32 images, three steps: losses and final weights.
    auto train = [](auto& dev) {
        using B = std::remove_reference_t<decltype(dev)>;
        CycleGAN<ResnetGenerator9<B>, PatchDiscriminator<B, 3>> model(dev, {.ngf = 8}, {.ndf = 8}, {.pool_size = 2});
        std::vector<double> losses;
        for (int step = 0; step < 3; ++step) {
            const Shape s{1, 3, 32, 32};
            const auto l = model.train_step(Tensor<B>::from_host(dev, s, random_values(s.numel(), 20 + step)),
                                            Tensor<B>::from_host(dev, s, random_values(s.numel(), 30 + step)));
            for (double v : l.values()) losses.push_back(v);
        }
        // Every named tensor's values with its role, networks in a fixed order.
        std::vector<std::tuple<std::string, ParamRole, std::vector<float>>> weights;
        auto collect = [&](const auto& network) {
            for (const auto& t : network.named_tensors())
                weights.emplace_back(network.name() + "." + t.spec.name, t.spec.role, t.value.to_host(dev));
        };
        collect(model.G_A), collect(model.G_B), collect(model.D_A), collect(model.D_B);
        return std::pair{losses, weights};
    };
    cpu host(2);
    cuda gpu;
    gpu.set_allow_tf32(false);
    const auto [la, wa] = train(host);
    const auto [lb, wb] = train(gpu);
    for (std::size_t i = 0; i < la.size(); ++i) {
        INFO("step " << i / 8 << " loss " << CycleGANLosses::names[i % 8]);
        CHECK(lb[i] == doctest::Approx(la[i]).epsilon(step_tol));
    }
    // Final weights, by test_training.cpp's rule against PyTorch: Adam's first steps move every
    // weight by about lr whatever its gradient's size, so rounding-level differences show as a
    // fraction of lr (lr / 4 allowed); a bias before instance norm has a gradient that is zero up
    // to rounding and may drift by up to lr a step either way without changing any output.
    const double lr = 2e-4;
    REQUIRE(wa.size() == wb.size());
    for (std::size_t k = 0; k < wa.size(); ++k) {
        const auto& [name, role, a] = wa[k];
        const auto& b = std::get<2>(wb[k]);
        double worst = 0;
        for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double(a[i]) - double(b[i])));
        INFO(name << ": largest difference " << worst);
        CHECK(worst <= (role == ParamRole::bias ? 3 * 2 * lr : lr / 4));
    }
}

TEST_CASE("re-entrancy on the GPU: three applications, backwards in another order") {
    cuda gpu;
    gpu.set_allow_tf32(false);
    using Net = Sequential<Conv2d<cuda>, InstanceNorm2d<cuda>, ReLU<cuda>, Conv2d<cuda>>;
    auto make = [] { return Net(Conv2d<cuda>(3, 6, 3, {.padding = 1}), InstanceNorm2d<cuda>(6), ReLU<cuda>{},
                                Conv2d<cuda>(6, 2, 3, {.padding = 1, .padding_mode = PaddingMode::reflect})); };
    const Shape s{1, 3, 8, 8};
    // Separately: each input's gradients alone.
    std::vector<std::vector<float>> alone_dx, alone_grads;
    Network<Net> one(gpu, make(), "", InitOptions{.seed = 11});
    for (int k = 0; k < 3; ++k) {
        one.zero_grad();
        typename Network<Net>::Context ctx;
        auto y = one.forward(Tensor<cuda>::from_host(gpu, s, random_values(s.numel(), 40 + k)), ctx);
        Tensor<cuda> dx;
        one.backward(ctx, Tensor<cuda>::from_host(gpu, y.shape(), random_values(y.numel(), 50 + k)), &dx);
        alone_dx.push_back(dx.to_host(gpu));
        alone_grads.push_back(one.gradients().to_host(gpu));
    }
    // Together: three forwards alive at once, backwards in the order 2, 0, 1.
    Network<Net> net(gpu, make(), "", InitOptions{.seed = 11});
    typename Network<Net>::Context ctx[3];
    Tensor<cuda> y[3];
    for (int k = 0; k < 3; ++k) y[k] = net.forward(Tensor<cuda>::from_host(gpu, s, random_values(s.numel(), 40 + k)), ctx[k]);
    std::vector<float> sum(alone_grads[0].size(), 0.0f);
    for (int k : {2, 0, 1}) {
        Tensor<cuda> dx;
        net.backward(ctx[k], Tensor<cuda>::from_host(gpu, y[k].shape(), random_values(y[k].numel(), 50 + k)), &dx);
        check_close(alone_dx[k], dx.to_host(gpu), 1e-6, "input gradient");
        for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += alone_grads[k][i];
    }
    check_close(sum, net.gradients().to_host(gpu), 1e-5, "accumulated parameter gradients");
}

TEST_CASE("convolution algorithms are chosen once per shape") {
    cuda gpu;
    Network<Conv2d<cuda>> conv(gpu, Conv2d<cuda>(4, 4, 3, {.padding = 1}), "", {});
    const auto x = Tensor<cuda>::from_host(gpu, {1, 4, 16, 16}, random_values(1024, 7));
    conv(x);
    const std::size_t after_first = gpu.conv_plans().size();
    conv(x);
    CHECK(after_first == 1);
    CHECK(gpu.conv_plans().size() == 1);
    conv(Tensor<cuda>::from_host(gpu, {1, 4, 8, 8}, random_values(256, 8)));
    CHECK(gpu.conv_plans().size() == 2);
}

TEST_CASE("TF32, PyTorch's default for convolutions, stays close to FP32") {
    cpu host(2);
    cuda gpu;  // allow_tf32 on by default
    CHECK(gpu.allow_tf32());
    auto make = LAYER(Conv2d<B>(64, 64, 3, {.padding = 1}));
    const LayerRun a = run_layer(host, make, {1, 64, 16, 16});
    const LayerRun b = run_layer(gpu, make, {1, 64, 16, 16});
    check_close(a.y, b.y, 1e-2, "forward with TF32");  // 10-bit mantissas: about 1e-3 relative
}

int main(int argc, char** argv) {
    if (cuda::device_count() == 0) {
        std::puts("no CUDA device: the GPU tests are skipped");
        return 77;  // ctest's SKIP_RETURN_CODE
    }
    doctest::Context context(argc, argv);
    return context.run();
}
