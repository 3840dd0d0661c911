// Composition: Sequential, Residual, Repeat, SkipConcat and Network — names, flat buffers,
// gradients, re-entrancy, PyTorch parity of a composed network; and the safetensors reader.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "support/gradcheck.hpp"
#include "support/every_layer.hpp"
#include "support/parity.hpp"
#include "support/message.hpp"

#include <algorithm>
#include <fstream>

// Where cyclegan::cyclegan links the compiled kernels, a program's files declare the entry points
// and never read the kernel sets' code (core/compiled.hpp): simd_kernels.hpp defines the target.
#if defined(CYCLEGAN_COMPILED_KERNELS) && CYCLEGAN_COMPILED_KERNELS
#if !CYCLEGAN_DETAIL_KERNELS_DECLARED || defined(CYCLEGAN_AVX512_TARGET)
#error "a file built through cyclegan::cyclegan read the CPU kernels' code (simd_kernels.hpp)"
#endif
#endif

using namespace cyclegan;
using test::gradcheck;
using test::random_tensor;

namespace {

// The network of tests/fixtures/layers_compose.py, on any backend.
template <class B>
using ResBlock = Residual<Sequential<Conv2d<B>, Tanh<B>, Conv2d<B>>>;
template <class B>
using Down = Sequential<Conv2d<B>, LeakyReLU<B>, ConvTranspose2d<B>>;
template <class B>
using Composed = Sequential<Conv2d<B>, ReLU<B>, Repeat<2, ResBlock<B>>, SkipConcat<Down<B>>, Conv2d<B>, Tanh<B>>;

template <class B>
Composed<B> make_composed() {
    ResBlock<B> block(Sequential(Conv2d<B>(4, 4, 3, {.padding = 1}), Tanh<B>{}, Conv2d<B>(4, 4, 3, {.padding = 1})),
                      "conv_block");
    return Composed<B>(Conv2d<B>(3, 4, 3, {.padding = 1}), ReLU<B>{}, Repeat<2, ResBlock<B>>(block),
                       SkipConcat(Down<B>(Conv2d<B>(4, 4, 4, {.stride = 2, .padding = 1}), LeakyReLU<B>(0.2),
                                          ConvTranspose2d<B>(4, 2, 4, {.stride = 2, .padding = 1}))),
                       Conv2d<B>(6, 3, 1), Tanh<B>{});
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
    return m;
}

}  // namespace

TEST_CASE("parameter names follow nn.Sequential numbering and attribute names") {
    cpu dev;
    Network<Composed<cpu>> net(dev, make_composed<cpu>(), "model");
    std::vector<std::string> names;
    for (const auto& t : net.named_tensors()) names.push_back(t.spec.name);
    const std::vector<std::string> expected = {
        "model.0.weight", "model.0.bias",
        "model.2.conv_block.0.weight", "model.2.conv_block.0.bias", "model.2.conv_block.2.weight", "model.2.conv_block.2.bias",
        "model.3.conv_block.0.weight", "model.3.conv_block.0.bias", "model.3.conv_block.2.weight", "model.3.conv_block.2.bias",
        "model.4.model.0.weight", "model.4.model.0.bias", "model.4.model.2.weight", "model.4.model.2.bias",
        "model.5.weight", "model.5.bias"};
    CHECK(names == expected);
    CHECK(net.find("model.4.model.2.weight").spec.dims == std::vector<int>{4, 2, 4, 4});  // ConvTranspose2d: [in, out, kh, kw]
    CHECK_THROWS_AS(net.find("model.9.weight"), std::out_of_range);
}

TEST_CASE("parameters and gradients sit in one flat buffer each, in declaration order") {
    cpu dev;
    Network<Composed<cpu>> net(dev, make_composed<cpu>());
    std::size_t offset = 0;
    for (const auto& t : net.named_tensors()) {
        CHECK(t.offset == offset);
        CHECK(t.value.data() == net.parameters().data() + offset);
        CHECK(t.grad.data() == net.gradients().data() + offset);
        offset += t.value.numel();
    }
    CHECK(offset == net.parameter_count());
    // 3*4*9+4 + 2*2*(4*4*9+4) + (4*4*16+4) + (4*2*16+2) + (6*3+3)
    CHECK(net.parameter_count() == 112 + 592 + 260 + 130 + 21);
    CHECK(net.buffers().empty());
}

TEST_CASE("initialisation is seeded: same seed, same weights; another seed, other weights") {
    cpu dev;
    Network<Composed<cpu>> a(dev, make_composed<cpu>(), "", {.seed = 5});
    Network<Composed<cpu>> b(dev, make_composed<cpu>(), "", {.seed = 5});
    Network<Composed<cpu>> c(dev, make_composed<cpu>(), "", {.seed = 6});
    CHECK(a.parameters().to_host(dev) == b.parameters().to_host(dev));
    CHECK(a.parameters().to_host(dev) != c.parameters().to_host(dev));
    for (const auto& t : a.named_tensors())
        if (t.spec.role == ParamRole::bias)
            for (float v : t.value.to_host(dev)) CHECK(v == 0.0f);
}

TEST_CASE("composed network: gradients match finite differences") {
    cpu64 dev;
    SUBCASE("Sequential with Repeat<Residual> and SkipConcat, batch 2, odd width") {
        Network<Composed<cpu64>> net(dev, make_composed<cpu64>(), "", {.gain = 0.3, .seed = 1});
        gradcheck(net, random_tensor(dev, {2, 3, 4, 6}, 11));
    }
    SUBCASE("Residual alone") {
        Network<ResBlock<cpu64>> net(
            dev, ResBlock<cpu64>(Sequential(Conv2d<cpu64>(2, 2, 3, {.padding = 1}), Tanh<cpu64>{},
                                            Conv2d<cpu64>(2, 2, 3, {.padding = 1}))), "", {.gain = 0.3});
        gradcheck(net, random_tensor(dev, {2, 2, 3, 5}, 12));
    }
    SUBCASE("SkipConcat around a stride-2 down/up pair") {
        using Net = SkipConcat<Down<cpu64>>;
        Network<Net> net(dev, Net(Down<cpu64>(Conv2d<cpu64>(2, 3, 4, {.stride = 2, .padding = 1}), LeakyReLU<cpu64>(0.2),
                                              ConvTranspose2d<cpu64>(3, 1, 4, {.stride = 2, .padding = 1}))), "", {.gain = 0.3});
        gradcheck(net, random_tensor(dev, {2, 2, 4, 6}, 13));
    }
}

// L = sum r * y + sum over taps of q_t * feature_t: its gradients by finite differences (every
// 7th input, every 5th weight) equal one backward with dy = r and the taps' gradients q_t. Then a
// second forward and backward with the same taps and no gradients set gives the plain input
// gradient: the taps' were added once and forgotten.
template <class Net>
void check_tap_gradients(Network<Net>& net, const Tensor<cpu64>& x, const std::vector<std::string>& paths) {
    cpu64& dev = net.device();
    Taps<cpu64> taps(paths);
    typename Network<Net>::Context ctx;
    const auto y = net.forward(x, ctx, taps);
    const auto r = test::random_values(y.numel(), 5);
    std::vector<std::vector<double>> q;
    for (std::size_t t = 0; t < taps.size(); ++t) q.push_back(test::random_values(taps.feature(t).numel(), 100 + t));
    auto loss = [&] {
        Taps<cpu64> again(paths);
        typename Network<Net>::Context c;
        const auto out = net.forward(x, c, again).to_host(dev);
        double sum = 0;
        for (std::size_t i = 0; i < out.size(); ++i) sum += r[i] * out[i];
        for (std::size_t t = 0; t < again.size(); ++t) {
            const auto f = again.feature(t).to_host(dev);
            for (std::size_t i = 0; i < f.size(); ++i) sum += q[t][i] * f[i];
        }
        return sum;
    };
    for (std::size_t t = 0; t < taps.size(); ++t) taps.set_gradient(t, Tensor<cpu64>::from_host(dev, taps.feature(t).shape(), q[t]));
    net.zero_grad();
    Tensor<cpu64> dx;
    net.backward(ctx, Tensor<cpu64>::from_host(dev, y.shape(), r), &dx, Grad::accumulate, taps);
    auto numeric = [&](double* p) {
        const double keep = *p, eps = 1e-6;
        *p = keep + eps;
        const double up = loss();
        *p = keep - eps;
        const double down = loss();
        *p = keep;
        return (up - down) / (2 * eps);
    };
    const auto d_x = dx.to_host(dev);
    for (std::size_t i = 0; i < x.numel(); i += 7) CHECK(d_x[i] == doctest::Approx(numeric(x.data() + i)).epsilon(1e-6));
    const auto d_w = net.gradients().to_host(dev);
    for (std::size_t i = 0; i < net.parameter_count(); i += 5)
        CHECK(d_w[i] == doctest::Approx(numeric(net.parameters().data() + i)).epsilon(1e-6));

    typename Network<Net>::Context again, plain;
    (void)net.forward(x, again, taps);
    Tensor<cpu64> dx_again, dx_plain;
    net.backward(again, Tensor<cpu64>::from_host(dev, y.shape(), r), &dx_again, Grad::ignore, taps);
    (void)net.forward(x, plain);
    net.backward(plain, Tensor<cpu64>::from_host(dev, y.shape(), r), &dx_plain, Grad::ignore);
    CHECK(dx_again.to_host(dev) == dx_plain.to_host(dev));
    CHECK(dx_plain.to_host(dev) != d_x);
}

TEST_CASE("taps: a forward gives chosen layers' outputs by path, and a backward takes their gradients with the output's") {
    cpu64 dev;
    Network<Composed<cpu64>> net(dev, make_composed<cpu64>(), "model", {.gain = 0.3, .seed = 3});
    Taps<cpu64> taps({"model.0", "model.1", "model.3"});
    CHECK_THROWS_AS((void)taps.feature(0), std::logic_error);  // no forward yet
    auto x = random_tensor(dev, {2, 3, 4, 6}, 21);
    Network<Composed<cpu64>>::Context ctx, plain;
    const auto y = net.forward(x, ctx, taps);

    // The output is the network's, and the features are the layers' outputs: the ReLU's is the
    // convolution's with the negatives zeroed, and the convolution's kept its negatives (the ReLU
    // was not let write over it).
    CHECK(net.forward(x, plain).to_host(dev) == y.to_host(dev));
    const auto conv = taps.feature(0).to_host(dev), relu = taps.feature(1).to_host(dev);
    REQUIRE(conv.size() == relu.size());
    CHECK(std::any_of(conv.begin(), conv.end(), [](double v) { return v < 0; }));
    for (std::size_t i = 0; i < conv.size(); ++i) CHECK(relu[i] == std::max(conv[i], 0.0));
    CHECK(taps.feature(2).shape() == Shape{2, 4, 4, 6});

    SUBCASE("layers of a Sequential, of a Repeat, a Residual's block and a layer in it, a SkipConcat's block") {
        check_tap_gradients(net, x, {"model.0", "model.1", "model.3", "model.2.conv_block", "model.2.conv_block.1", "model.4.model"});
    }
    SUBCASE("the layer a OneOf chose and an Optional's, which take their holder's number") {
        using Net = Sequential<Conv2d<cpu64>, OneOf<ReLU<cpu64>, Tanh<cpu64>>, Optional<Tanh<cpu64>>, Conv2d<cpu64>>;
        Network<Net> chosen(dev, Net(Conv2d<cpu64>(3, 4, 3, {.padding = 1}), Tanh<cpu64>{}, Tanh<cpu64>{}, Conv2d<cpu64>(4, 2, 1)),
                            "model", {.gain = 0.5, .seed = 4});
        check_tap_gradients(chosen, x, {"model.1", "model.2"});
    }
}

TEST_CASE("taps: a path no layer has, a path asked twice, the network's own name, a gradient of another shape") {
    cpu dev;
    Network<Composed<cpu>> net(dev, make_composed<cpu>(), "model");
    auto x = Tensor<cpu>::full(dev, {1, 3, 4, 4}, 0.5f);
    Network<Composed<cpu>>::Context ctx;
    Taps<cpu> wrong({"model.9"});
    const std::string message = test::message_of([&] { (void)net.forward(x, ctx, wrong); });
    CHECK(message == "Taps: the network has no layer 'model.9'; the layers in 'model' are 'model.0', 'model.1', 'model.2', "
                     "'model.3', 'model.4', 'model.5', 'model.6'");
    Taps<cpu> deeper({"model.4.model.7"});
    CHECK(test::message_of([&] { (void)net.forward(x, ctx, deeper); }) ==
          "Taps: the network has no layer 'model.4.model.7'; the layers in 'model.4.model' are 'model.4.model.0', "
          "'model.4.model.1', 'model.4.model.2'");
    CHECK_THROWS_AS(Taps<cpu>({"model.1", "model.1"}), std::invalid_argument);
    Taps<cpu> whole({"model"});
    CHECK(test::message_of([&] { (void)net.forward(x, ctx, whole); }) ==
          "Taps: 'model' is the network itself: forward returns its output");
    Taps<cpu> last({"model.5"});
    (void)net.forward(x, ctx, last);
    CHECK_THROWS_AS(last.set_gradient(0, Tensor<cpu>::full(dev, {1, 1, 4, 4}, 1.f)), shape_error);
}

TEST_CASE("re-entrancy: three applications, backwards in shuffled order, equal three separate runs") {
    cpu64 dev;
    Network<Composed<cpu64>> net(dev, make_composed<cpu64>(), "", {.gain = 0.3, .seed = 2});
    const Shape s{1, 3, 4, 6};
    std::vector<Tensor<cpu64>> xs, dys;
    for (int i = 0; i < 3; ++i) {
        xs.push_back(random_tensor(dev, s, 100 + i));
        dys.push_back(random_tensor(dev, s, 200 + i));
    }
    // Separately: forward and backward one at a time; sum the weight gradients.
    std::vector<double> separate(net.parameter_count(), 0.0);
    std::vector<std::vector<double>> dx_separate;
    for (int i = 0; i < 3; ++i) {
        net.zero_grad();
        Network<Composed<cpu64>>::Context ctx;
        net.forward(xs[i], ctx);
        Tensor<cpu64> dx;
        net.backward(ctx, dys[i], &dx);
        dx_separate.push_back(dx.to_host(dev));
        const auto g = net.gradients().to_host(dev);
        for (std::size_t k = 0; k < g.size(); ++k) separate[k] += g[k];
    }
    // Interleaved: three forwards holding three contexts, then backwards in the order 2, 0, 1.
    net.zero_grad();
    Network<Composed<cpu64>>::Context ctx[3];
    for (int i = 0; i < 3; ++i) net.forward(xs[i], ctx[i]);
    std::vector<double> dx_interleaved[3];
    for (int i : {2, 0, 1}) {
        Tensor<cpu64> dx;
        net.backward(ctx[i], dys[i], &dx);
        dx_interleaved[i] = dx.to_host(dev);
    }
    CHECK(max_abs_diff(net.gradients().to_host(dev), separate) < 1e-12);
    for (int i = 0; i < 3; ++i) CHECK(max_abs_diff(dx_interleaved[i], dx_separate[i]) < 1e-12);
}

TEST_CASE("Grad::ignore freezes the weights but still gives the input gradient; dx is optional") {
    cpu64 dev;
    Network<Composed<cpu64>> net(dev, make_composed<cpu64>(), "", {.gain = 0.3});
    auto x = random_tensor(dev, {1, 3, 4, 4}, 1);
    auto dy = random_tensor(dev, {1, 3, 4, 4}, 2);
    Network<Composed<cpu64>>::Context c1, c2, c3;

    net.zero_grad();
    net.forward(x, c1);
    Tensor<cpu64> dx_frozen;
    net.backward(c1, dy, &dx_frozen, Grad::ignore);
    for (double g : net.gradients().to_host(dev)) REQUIRE(g == 0.0);

    net.forward(x, c2);
    Tensor<cpu64> dx_full;
    net.backward(c2, dy, &dx_full, Grad::accumulate);
    CHECK(max_abs_diff(dx_frozen.to_host(dev), dx_full.to_host(dev)) == 0.0);
    const auto g_with_dx = net.gradients().to_host(dev);

    net.zero_grad();
    net.forward(x, c3);
    net.backward(c3, dy, nullptr, Grad::accumulate);  // weights only
    CHECK(max_abs_diff(net.gradients().to_host(dev), g_with_dx) == 0.0);
    double norm = 0;
    for (double g : g_with_dx) norm += g * g;
    CHECK(norm > 0);
}

TEST_CASE("gradients accumulate across backward calls until zero_grad") {
    cpu64 dev;
    Network<Composed<cpu64>> net(dev, make_composed<cpu64>(), "", {.gain = 0.3});
    auto x = random_tensor(dev, {1, 3, 4, 4}, 1);
    auto dy = random_tensor(dev, {1, 3, 4, 4}, 2);
    net.zero_grad();
    for (int i = 0; i < 2; ++i) {
        Network<Composed<cpu64>>::Context ctx;
        net.forward(x, ctx);
        net.backward(ctx, dy);
    }
    const auto twice = net.gradients().to_host(dev);
    net.zero_grad();
    Network<Composed<cpu64>>::Context ctx;
    net.forward(x, ctx);
    net.backward(ctx, dy);
    auto once = net.gradients().to_host(dev);
    for (auto& g : once) g *= 2;
    CHECK(max_abs_diff(twice, once) < 1e-12);
}

TEST_CASE("the result does not depend on the thread count") {
    cpu dev(1);
    Network<Composed<cpu>> net(dev, make_composed<cpu>(), "", {.gain = 0.3});
    auto x = Tensor<cpu>::from_host(dev, {2, 3, 8, 8}, std::vector<float>(2 * 3 * 64, 0.25f));
    const auto one = net(x).to_host(dev);
    CHECK(dev.threads() == 1);
    dev.set_threads(2);
    CHECK(dev.threads() == 2);
    const auto two = net(x).to_host(dev);
    for (std::size_t i = 0; i < one.size(); ++i) CHECK(one[i] == doctest::Approx(two[i]).epsilon(1e-5));
    dev.set_threads(0);
    CHECK(dev.threads() >= 1);
}

TEST_CASE("shape errors name the layer and the shapes") {
    cpu dev;
    // A residual block whose shape changes at odd sides only: built, and refused when run there.
    using Halves = Residual<Sequential<Conv2d<cpu>, Upsample<cpu>>>;
    Network<Halves> net(dev, Halves(Sequential(Conv2d<cpu>(2, 2, 3, {.stride = 2, .padding = 1}), Upsample<cpu>())));
    CHECK(net(Tensor<cpu>::zeros(dev, {1, 2, 4, 4})).shape() == Shape{1, 2, 4, 4});
    CHECK_THROWS_WITH_AS(net(Tensor<cpu>::zeros(dev, {1, 2, 3, 3})),
                         "Residual: block maps [1, 2, 3, 3] to [1, 2, 4, 4]; a residual block must keep the shape",
                         shape_error);
    // One that changes the channels at every side: refused when built.
    using Bad = Residual<Sequential<Conv2d<cpu>>>;
    CHECK_THROWS_WITH_AS(Network<Bad>(dev, Bad(Sequential(Conv2d<cpu>(2, 3, 1)))),
                         "Residual: block maps [1, *, 256, 256] to [1, 3, 256, 256] but cannot take 3 channels itself; a "
                         "residual block must keep the shape; no image fits this composition (none of sides 1 to 16384)",
                         shape_error);
    Conv2d<cpu> loose(1, 1, 1);
    Conv2d<cpu>::Context ctx;
    CHECK_THROWS_AS(loose.forward(dev, Tensor<cpu>::zeros(dev, {1, 1, 1, 1}), ctx, Phase::train), std::logic_error);
    CHECK_THROWS_AS(Tensor<cpu>::from_host(dev, {1, 1, 2, 2}, std::vector<float>(3)), shape_error);
}

namespace {

// The message and the path of the shape_error f throws ("" when it throws none).
template <class F>
std::pair<std::string, std::string> shape_error_of(F&& f) {
    try {
        f();
    } catch (const shape_error& e) {
        return {e.what(), e.path()};
    }
    return {"", ""};
}

// The reference's ResNet block, and a generator-like network around two of them.
template <class B>
auto res_block(int c, int norm_channels) {
    return Residual(Sequential(ReflectionPad2d<B>(1), Conv2d<B>(c, c, 3), InstanceNorm2d<B>(norm_channels), ReLU<B>{},
                               ReflectionPad2d<B>(1), Conv2d<B>(c, c, 3), InstanceNorm2d<B>(c)),
                    "conv_block");
}
template <class B>
auto block_net(int norm_channels) {
    return Sequential(Conv2d<B>(3, 8, 3, {.padding = 1}), InstanceNorm2d<B>(8), ReLU<B>{},
                      Repeat<2, decltype(res_block<B>(8, 8))>([&](int k) { return res_block<B>(8, k == 1 ? norm_channels : 8); }),
                      Conv2d<B>(8, 3, 3, {.padding = 1}), Tanh<B>{});
}

}  // namespace

TEST_CASE("a Network walks its shapes when built: a composition no image fits is refused, naming the layer's path") {
    cpu dev;
    SUBCASE("channels that do not chain, inside a repeated residual block") {
        const auto [what, path] = shape_error_of([&] { Network net(dev, block_net<cpu>(16), "model"); });
        CHECK(path == "model.4.conv_block.2");  // the second block (model.4), its first norm
        CHECK(what.starts_with("InstanceNorm2d at model.4.conv_block.2: expected 16 input channels, got input of shape [1, 8, "));
    }
    SUBCASE("a residual block that changes the shape") {
        auto wrong = Sequential(Conv2d<cpu>(3, 4, 1), Residual(Sequential(Conv2d<cpu>(4, 4, 4, {.stride = 2, .padding = 1})), "block"));
        const auto [what, path] = shape_error_of([&] { Network net(dev, wrong, "net"); });
        CHECK(path == "net.1");
        CHECK(what == "Residual at net.1: block maps [1, 4, 256, 256] to [1, 4, 128, 128]; a residual block must keep the "
                      "shape; no image fits this composition (none of sides 1 to 16384)");
    }
    SUBCASE("a skip whose join cannot fit at any side") {
        auto wrong = Sequential(Conv2d<cpu>(3, 4, 1),
                                SkipConcat(Sequential(Conv2d<cpu>(4, 4, 4, {.stride = 2, .padding = 1}),
                                                      ConvTranspose2d<cpu>(4, 4, 4, {.stride = 2, .padding = 2}))));
        const auto [what, path] = shape_error_of([&] { Network net(dev, wrong, "model"); });
        CHECK(path == "model.1");
        CHECK(what.starts_with("SkipConcat at model.1: block maps [1, 4, 256, 256] to [1, 4, 254, 254]"));
    }
    SUBCASE("a network that fits some side is built, whatever side that is") {
        Network deep(dev, Sequential(ReflectionPad2d<cpu>(300), Conv2d<cpu>(1, 1, 3)), "deep");  // needs sides over 300
        CHECK(deep(Tensor<cpu>::zeros(dev, {1, 1, 301, 301})).shape() == Shape{1, 1, 899, 899});
        Network any(dev, Sequential(ReLU<cpu>{}, Tanh<cpu>{}));  // no layer fixes the channels
        CHECK(any(Tensor<cpu>::zeros(dev, {1, 7, 1, 1})).shape() == Shape{1, 7, 1, 1});
    }
}

TEST_CASE("run-time shape errors name the layer's path, and nothing has run when they are thrown") {
    cpu dev;
    Network net(dev, block_net<cpu>(8), "model");
    SUBCASE("forward") {
        const auto [what, path] = shape_error_of([&] { net(Tensor<cpu>::zeros(dev, {1, 4, 8, 8})); });
        CHECK(what == "Conv2d at model.0: expected 3 input channels, got input of shape [1, 4, 8, 8]");
        CHECK(path == "model.0");
        const auto [small, where] = shape_error_of([&] { net(Tensor<cpu>::zeros(dev, {1, 3, 1, 1})); });
        CHECK(where == "model.1");
        CHECK(small == "InstanceNorm2d at model.1: expected more than 1 spatial element, got input of shape [1, 8, 1, 1]");
        const auto [deep, deep_path] = shape_error_of([&] { net(Tensor<cpu>::zeros(dev, {1, 3, 1, 5})); });
        CHECK(deep_path == "model.3.conv_block.0");
    }
    SUBCASE("inside a block") {
        Network pad(dev, Sequential(Conv2d<cpu>(3, 8, 1), res_block<cpu>(8, 8)), "model");
        const auto [what, path] = shape_error_of([&] { pad(Tensor<cpu>::zeros(dev, {1, 3, 1, 4})); });
        CHECK(path == "model.1.conv_block.0");
        CHECK(what.starts_with("ReflectionPad2d at model.1.conv_block.0: each pad must be less than the input size"));
    }
    SUBCASE("backward") {
        Network<decltype(block_net<cpu>(8))>::Context ctx;
        net.forward(Tensor<cpu>::zeros(dev, {1, 3, 8, 8}), ctx);
        Tensor<cpu> dx;
        const auto [what, path] = shape_error_of([&] { net.backward(ctx, Tensor<cpu>::zeros(dev, {1, 3, 8, 9}), &dx); });
        CHECK(path == "model.6");
        CHECK(what == "Activation at model.6: output gradient of shape [1, 3, 8, 9] does not match the output's shape [1, 3, 8, 8]");
    }
    SUBCASE("batch statistics of one value, a kernel larger than its input: refused before any layer runs") {
        Network bn(dev, Sequential(Conv2d<cpu>(3, 2, 1), BatchNorm2d<cpu>(2), Conv2d<cpu>(2, 2, 5)), "model");
        const auto before = bn.buffers().to_host(dev);
        const auto [what, path] = shape_error_of([&] { bn(Tensor<cpu>::zeros(dev, {1, 3, 1, 1})); });
        CHECK(path == "model.1");
        CHECK(what.starts_with("BatchNorm2d at model.1: expected more than 1 value per channel"));
        const auto [kernel, kernel_path] = shape_error_of([&] { bn(Tensor<cpu>::full(dev, {2, 3, 4, 4}, 1.f)); });
        CHECK(kernel_path == "model.2");
        CHECK(kernel == "Conv2d at model.2: input [2, 2, 4, 4] is smaller than the kernel");
        CHECK(bn.buffers().to_host(dev) == before);  // the walk refused the input before batch norm ran
    }
    SUBCASE("a network without a name keeps the layer's message as it is") {
        Network<Conv2d<cpu>> conv(dev, Conv2d<cpu>(3, 4, 3));
        const auto [what, path] = shape_error_of([&] { conv(Tensor<cpu>::zeros(dev, {1, 2, 5, 5})); });
        CHECK(what == "Conv2d: expected 3 input channels, got input of shape [1, 2, 5, 5]");
        CHECK(path.empty());
    }
}

TEST_CASE("output_shape walks the layers as forward runs them, for every layer and composition") {
    cpu dev;
    test::for_each_layer([&](const char* name, auto make, Shape xs) {
        INFO(name);
        Network net(dev, make(std::type_identity<cpu>{}), "layer");
        CHECK(net.output_shape(xs) == net(Tensor<cpu>::zeros(dev, xs)).shape());
    });
    Network composed(dev, make_composed<cpu>(), "model");
    for (const Shape xs : {Shape{2, 3, 8, 6}, Shape{1, 3, 4, 4}})
        CHECK(composed.output_shape(xs) == composed(Tensor<cpu>::zeros(dev, xs)).shape());
    const auto [what, path] = shape_error_of([&] { composed.output_shape({1, 3, 5, 5}); });  // the skip cannot join 5 and 4
    CHECK(path == "model.4");
    CHECK(what.starts_with("SkipConcat at model.4: block maps [1, 4, 5, 5] to [1, 2, 4, 4]"));
}

TEST_CASE("size rules are derived by walking a network's layers") {
    CHECK(derive_size_rule(Conv2d<cpu>(1, 1, 3)) == SizeRule{1, 3});
    CHECK(derive_size_rule(Sequential(ReflectionPad2d<cpu>(2), Conv2d<cpu>(1, 1, 5))) == SizeRule{1, 3});
    CHECK(derive_size_rule(Sequential(ReflectionPad2d<cpu>(2), Conv2d<cpu>(1, 1, 5)), Output::same_size) == SizeRule{1, 3});
    CHECK(derive_size_rule(make_composed<cpu>(), Output::same_size) == SizeRule{2, 2});  // one stride-2 step, joined back
    CHECK(derive_size_rule(Sequential(Conv2d<cpu>(1, 1, 3, {.stride = 2, .padding = 1}), Upsample<cpu>()), Output::same_size) ==
          SizeRule{2, 2});
    CHECK_THROWS_AS(derive_size_rule(Conv2d<cpu>(1, 1, 3), Output::same_size), shape_error);  // it never keeps the size
    const auto [what, path] = shape_error_of([&] { derive_size_rule(Sequential(Conv2d<cpu>(1, 2, 1), Conv2d<cpu>(3, 1, 1))); });
    CHECK(what == "Conv2d: expected 3 input channels, got input of shape [1, 2, 256, 256]; no image side from 1 to 16384 fits this network");
}
TEST_CASE("tensor views share memory; clone copies") {
    cpu dev;
    auto t = Tensor<cpu>::from_host(dev, {2, 1, 1, 2}, std::vector<float>{1, 2, 3, 4});
    auto second = t.images(1);
    CHECK(second.to_host(dev) == std::vector<float>{3, 4});
    second.data()[0] = 30;
    CHECK(t.to_host(dev)[2] == 30);
    auto copy = t.clone(dev);
    copy.data()[0] = -1;
    CHECK(t.to_host(dev)[0] == 1);
    CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % cpu::alignment == 0);
    CHECK_THROWS_AS(t.images(1, 2), shape_error);
    CHECK_THROWS_AS(t.reshaped({1, 1, 1, 3}), shape_error);
}

TEST_CASE("safetensors: write, read back, and clear errors for damaged files") {
    namespace st = safetensors;
    const auto dir = std::filesystem::temp_directory_path() / "cyclegan_test_safetensors";
    std::filesystem::create_directories(dir);
    const auto path = dir / "a.safetensors";
    const std::string bytes = st::serialize({{"w", {2, 3}, {1, 2, 3, 4, 5, 6}}, {"b", {2}, {-1, 0.5f}}},
                                            {{"epoch", "7"}, {"note", "quote \" and \\ slash"}});
    { std::ofstream(path, std::ios::binary) << bytes; }
    const auto f = st::LazyFile::open(path);
    CHECK(f.values<float>("w") == std::vector<float>{1, 2, 3, 4, 5, 6});
    CHECK(f.values<double>("b") == std::vector<double>{-1, 0.5});
    CHECK(f.info("w").shape == std::vector<std::int64_t>{2, 3});
    CHECK(f.metadata().at("epoch") == "7");
    CHECK(f.metadata().at("note") == "quote \" and \\ slash");
    CHECK_THROWS_WITH_AS(f.info("nope"), (path.string() + ": no tensor named 'nope'").c_str(), st::format_error);

    const auto cut = dir / "truncated.safetensors";
    { std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 5); }
    CHECK_THROWS_WITH_AS(st::LazyFile::open(cut), doctest::Contains("truncated.safetensors: tensor"), st::format_error);

    const auto tiny = dir / "tiny.safetensors";
    { std::ofstream(tiny, std::ios::binary) << "abc"; }
    CHECK_THROWS_WITH_AS(st::LazyFile::open(tiny), doctest::Contains("too short"), st::format_error);

    std::string broken = bytes;
    broken[10] = '!';  // inside the JSON header
    const auto bad = dir / "bad_header.safetensors";
    { std::ofstream(bad, std::ios::binary) << broken; }
    CHECK_THROWS_WITH_AS(st::LazyFile::open(bad), doctest::Contains("bad_header.safetensors"), st::format_error);
    CHECK_THROWS_WITH_AS(st::LazyFile::open(dir / "missing.safetensors"), doctest::Contains("missing.safetensors: no such file"),
                         st::format_error);
    CHECK_THROWS_WITH_AS(st::LazyFile::open(dir), doctest::Contains("is a folder"), st::format_error);
    const auto png = dir / "image.png";  // another kind of file: said so, not "truncated"
    { std::ofstream(png, std::ios::binary) << std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16); }
    CHECK_THROWS_WITH_AS(st::LazyFile::open(png), doctest::Contains("not a safetensors file"), st::format_error);
    std::filesystem::remove_all(dir);
}

TEST_SUITE("parity") {
    TEST_CASE("a composed network equals the same nn.Sequential in PyTorch") {
        cpu dev;
        Network<Composed<cpu>> net(dev, make_composed<cpu>());
        test::check_parity(net, "compose_sequential");
    }
}

TEST_CASE("Phase::inference: eval's results, with each layer's saved activations dropped at once") {
    cpu dev;
    Network<Composed<cpu>> net(dev, make_composed<cpu>(), "", {.gain = 0.3});
    net.eval();
    auto x = Tensor<cpu>::full(dev, {1, 3, 4, 6}, 0.25f);
    Network<Composed<cpu>>::Context kept, dropped;
    const auto y_eval = net.forward(x, kept).to_host(dev);
    const auto y_inference = net.net().forward(dev, x, dropped, Phase::inference).to_host(dev);
    CHECK(y_eval == y_inference);
    CHECK(net(x).to_host(dev) == y_eval);  // operator() in eval mode is inference
    CHECK_FALSE(std::get<0>(kept).x.empty());  // eval keeps what backward needs
    CHECK(std::get<0>(dropped).x.empty());      // inference does not
    CHECK(std::get<0>(std::get<2>(dropped)[1]).x.empty());  // inside Repeat<Residual<Sequential>> too
    CHECK(std::get<4>(dropped).x.empty());
}

TEST_CASE("inference writes norms and activations over the tensor their caller gave up, and over nothing else") {
    cpu dev;
    using Net = Sequential<Conv2d<cpu>, InstanceNorm2d<cpu>, ReLU<cpu>, Conv2d<cpu>, BatchNorm2d<cpu>, LeakyReLU<cpu>,
                           Residual<ReLU<cpu>>, Tanh<cpu>>;
    Network<Net> net(dev,
                     Net(Conv2d<cpu>(3, 8, 3, {.padding = 1}), InstanceNorm2d<cpu>(8), ReLU<cpu>{},
                         Conv2d<cpu>(8, 2, 1), BatchNorm2d<cpu>(2), LeakyReLU<cpu>(0.2), Residual<ReLU<cpu>>(ReLU<cpu>{}),
                         Tanh<cpu>{}),
                     "", {.gain = 0.5, .seed = 4});
    net.eval();
    const Shape xs{1, 3, 64, 64};
    auto x = random_tensor(dev, xs, 7);
    const auto x_before = x.to_host(dev);
    Net::Context kept;
    const auto y_eval = net.forward(x, kept).to_host(dev);
    kept = {};

    // Residual<ReLU> reads its input after its block: the block must not have written over it.
    dev.reset_peak_memory();
    const std::size_t before = dev.tensor_bytes();
    const auto y = net(x);
    CHECK(y.to_host(dev) == y_eval);
    CHECK(x.to_host(dev) == x_before);  // the caller's input, held only by the caller, is untouched
    // At most the first convolution's 8-channel output and the second's 2-channel one (1.25 maps),
    // and the norms' statistics: had the norm or the ReLU written a fresh tensor, two 8-channel maps
    // would have been alive at once.
    const std::size_t map = 8 * xs.plane() * sizeof(float);
    CHECK(dev.peak_tensor_bytes() - before < map + map / 2);

    SUBCASE("a tensor given up is written over; one only lent is not") {
        using Act = Sequential<ReLU<cpu>, Tanh<cpu>>;
        Act act;
        Act::Context ctx;
        auto lent = Tensor<cpu>::full(dev, {1, 1, 256, 256}, -1.0f);
        (void)act.forward(dev, lent, ctx, Phase::inference);
        CHECK(lent.to_host(dev) == std::vector<float>(lent.numel(), -1.0f));
        auto given = Tensor<cpu>::full(dev, {1, 1, 256, 256}, -1.0f);
        const float* memory = given.data();
        const auto out = act.forward(dev, std::move(given), ctx, Phase::inference);
        CHECK(out.data() == memory);
        CHECK(out.to_host(dev) == std::vector<float>(out.numel(), 0.0f));
        auto shared = Tensor<cpu>::full(dev, {1, 1, 256, 256}, -1.0f), view = shared;  // a second holder
        const auto out2 = act.forward(dev, std::move(shared), ctx, Phase::inference);
        CHECK(out2.data() != view.data());
        CHECK(view.to_host(dev) == std::vector<float>(view.numel(), -1.0f));
    }
    SUBCASE("training writes an activation over its input only where backward needs just the output") {
        using Train = Sequential<Conv2d<cpu>, ReLU<cpu>, Conv2d<cpu>, LeakyReLU<cpu>>;
        Network<Train> t(dev, Train(Conv2d<cpu>(3, 8, 1), ReLU<cpu>{}, Conv2d<cpu>(8, 2, 1), LeakyReLU<cpu>(-0.5)), "",
                         {.seed = 2});
        Train::Context ctx;
        dev.reset_peak_memory();
        const std::size_t start = dev.tensor_bytes();
        (void)t.forward(x, ctx);
        // ReLU wrote over the first convolution's output (which that convolution does not keep):
        // one 8-channel map, not two, beside the two 2-channel ones that the context keeps.
        CHECK(dev.peak_tensor_bytes() - start <= map + map / 2);
        // LeakyReLU with a negative slope needs its input: it kept it and wrote a tensor of its own.
        CHECK_FALSE(std::get<3>(ctx).x.empty());
        CHECK(std::get<3>(ctx).y.data() != std::get<3>(ctx).x.data());
    }
}

TEST_CASE("a cache miss gives back cached blocks: tensors and cache together stay within the most ever in use") {
    cpu dev;
    const std::size_t block = std::size_t{4} << 20;  // 4 MB: cached
    {
        auto a = Tensor<cpu>::zeros(dev, {1, 1, 1024, 1024}), b = Tensor<cpu>::zeros(dev, {1, 1, 1024, 1024});
    }
    CHECK(dev.cached_bytes() == 2 * block);  // the most in use so far: 8 MB
    {
        auto hit = Tensor<cpu>::zeros(dev, {1, 1, 1024, 1024});  // a size the cache has: nothing given back
        CHECK(dev.cached_bytes() == block);
    }
    {
        auto miss = Tensor<cpu>::zeros(dev, {1, 1, 2048, 1024});  // 8 MB: no cached block fits
        CHECK(dev.tensor_bytes() == 2 * block);
        CHECK(dev.cached_bytes() == 0);  // 8 + 8 would exceed the 8 MB ever in use
    }
    CHECK(dev.cached_bytes() == 2 * block);
    {
        auto a = Tensor<cpu>::zeros(dev, {1, 1, 1024, 1024});  // a miss again: 4 + 8 MB would exceed 8
        CHECK(dev.cached_bytes() == 0);
    }

}

TEST_CASE("Residual adds in place only into memory nobody else holds") {
    cpu dev;
    SUBCASE("an identity block: the sum must not overwrite the input or the output gradient") {
        using R = Residual<Sequential<Identity<cpu>>>;
        Network<R> net(dev, R(Sequential(Identity<cpu>{})));
        auto x = Tensor<cpu>::full(dev, {1, 1, 2, 2}, 1.0f);
        R::Context ctx;
        auto y = net.forward(x, ctx);
        CHECK(y.to_host(dev) == std::vector<float>(4, 2.0f));
        CHECK(x.to_host(dev) == std::vector<float>(4, 1.0f));
        auto dy = Tensor<cpu>::full(dev, {1, 1, 2, 2}, 3.0f);
        Tensor<cpu> dx;
        net.backward(ctx, dy, &dx);
        CHECK(dx.to_host(dev) == std::vector<float>(4, 6.0f));
        CHECK(dy.to_host(dev) == std::vector<float>(4, 3.0f));
    }
    SUBCASE("a block ending in an activation, whose context keeps its output") {
        using R = Residual<Sequential<Conv2d<cpu>, Tanh<cpu>>>;
        Network<R> net(dev, R(Sequential(Conv2d<cpu>(1, 1, 1), Tanh<cpu>{})), "", {.gain = 1.0, .seed = 3});
        auto x = Tensor<cpu>::full(dev, {1, 1, 2, 2}, 0.5f);
        R::Context ctx;
        auto y = net.forward(x, ctx);
        const auto saved = std::get<1>(ctx).y.to_host(dev);  // Tanh's output, needed by its backward
        for (std::size_t i = 0; i < saved.size(); ++i) CHECK(y.to_host(dev)[i] == doctest::Approx(saved[i] + 0.5f));
    }
}

TEST_CASE("the CPU device hands a freed large block out again, caches at most its limit, and outlives nothing") {
    cpu dev;
    constexpr std::size_t big = 1 << 20;  // 4 MB of floats: cached; 100 floats: not
    const float* first = nullptr;
    {
        auto t = Tensor<cpu>::zeros(dev, {1, 1, 1024, 1024});
        first = t.data();
        CHECK(dev.cached_bytes() == 0);
    }
    CHECK(dev.cached_bytes() == big * sizeof(float));
    {
        auto again = Tensor<cpu>::zeros(dev, {1, 4, 512, 512});  // same size, another shape
        CHECK(again.data() == first);
        CHECK(dev.cached_bytes() == 0);
        auto other = Tensor<cpu>::zeros(dev, {1, 1, 1024, 1025});  // another size: a new block
        CHECK(other.data() != first);
        CHECK(std::all_of(other.data(), other.data() + other.numel(), [](float v) { return v == 0; }));
    }
    CHECK(dev.cached_bytes() == 2 * cpu_detail::BlockCache::rounded(big * sizeof(float)) + (64 << 10));
    { auto small = Tensor<cpu>::zeros(dev, {1, 1, 10, 10}); }
    CHECK(dev.cached_bytes() == 2 * big * sizeof(float) + (64 << 10));  // small blocks go back to malloc

    // Over the limit, the least recently freed blocks go first.
    dev.set_cache_limit(5 << 20);
    CHECK(dev.cached_bytes() == std::size_t{4} << 20);  // `other`, freed before `again`, went
    {
        auto a = Tensor<cpu>::zeros(dev, {1, 1, 1024, 1024}), b = Tensor<cpu>::zeros(dev, {1, 1, 1024, 1024});
    }
    CHECK(dev.cached_bytes() <= std::size_t{5} << 20);
    dev.release_cached_memory();
    CHECK(dev.cached_bytes() == 0);
    dev.set_cache_limit(0);
    { auto t = Tensor<cpu>::zeros(dev, {1, 1, 1024, 1024}); }
    CHECK(dev.cached_bytes() == 0);  // limit 0 caches nothing

    // A tensor may outlive its device (and copies of the device share one cache).
    Tensor<cpu> survivor;
    {
        cpu scoped;
        cpu copy = scoped;
        survivor = Tensor<cpu>::full(copy, {1, 1, 1024, 1024}, 2.f);
        { auto t = Tensor<cpu>::zeros(scoped, {1, 2, 1024, 1024}); }
        CHECK(copy.cached_bytes() == scoped.cached_bytes());
        CHECK(copy.cached_bytes() > 0);
    }
    CHECK(survivor.data()[12345] == 2.f);
    survivor = Tensor<cpu>();  // released into the cache the device left behind, then freed with it
}

TEST_CASE("every layer runs forward and backward on every CPU backend, inside a Network") {
    auto run = [](auto& dev) {
        using B = std::remove_reference_t<decltype(dev)>;
        test::for_each_layer([&](const char* name, auto make, Shape xs) {
            INFO(name);
            Network<decltype(make(std::type_identity<B>{}))> net(dev, make(std::type_identity<B>{}), "layer");
            typename decltype(net)::Context ctx;
            std::vector<typename B::scalar> xv(xs.numel());
            for (std::size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<typename B::scalar>(std::sin(0.7 * i));
            const Tensor<B> y = net.forward(Tensor<B>::from_host(dev, xs, xv), ctx);
            Tensor<B> dx;
            net.backward(ctx, Tensor<B>::full(dev, y.shape(), 1), &dx);
            CHECK(dx.shape() == xs);
            for (const auto v : net.gradients().to_host(dev)) REQUIRE(std::isfinite(v));
        });
    };
    cpu f(1);
    cpu64 d(1);
    run(f);
    run(d);
}

// One checked entry point per op (ops/): arguments that do not fit each other are refused there,
// before any backend's kernel, which may then assume valid input.
TEST_CASE("every op's entry point refuses arguments that do not fit, before the kernel") {
    cpu dev;
    auto t = [&](Shape s) { return Tensor<cpu>::zeros(dev, s); };
    Tensor<cpu> a = t({1, 2, 4, 4}), b = t({1, 2, 4, 5}), c = t({1, 3, 4, 4}), y = t({1, 2, 4, 4});
    CHECK_THROWS_WITH_AS(ops::add(dev, a, b, y), "add: shapes [1, 2, 4, 4] and [1, 2, 4, 5] differ", shape_error);
    CHECK_THROWS_AS(ops::concat_channels(dev, a, c, y), shape_error);
    Tensor<cpu> pa = t({1, 2, 4, 4}), pb = t({1, 3, 4, 5});
    CHECK_THROWS_AS(ops::split_channels(dev, t({1, 5, 4, 4}), pa, pb), shape_error);  // heights and widths must fit too

    const Conv2dGeometry g{3, 1, 1, 1, PaddingMode::reflect};
    Tensor<cpu> w = t({2, 2, 3, 3}), wrong_y = t({1, 2, 4, 3});
    CHECK_THROWS_WITH_AS(ops::conv2d_forward(dev, a, w, wrong_y, g),
                         "conv2d_forward: input [1, 2, 4, 4] and weight [2, 2, 3, 3] give [1, 2, 4, 4], not [1, 2, 4, 3]",
                         shape_error);
    CHECK_THROWS_AS(ops::conv2d_forward(dev, c, w, y, g), shape_error);  // 3 channels, weights for 2
    CHECK_THROWS_AS(ops::conv2d_forward(dev, a, t({2, 2, 5, 5}), y, g), shape_error);  // not the geometry's kernel
    CHECK_THROWS_AS(ops::conv2d_backward_data(dev, wrong_y, w, a, g), shape_error);
    Tensor<cpu> dw = t({2, 2, 3, 3});
    CHECK_THROWS_AS(ops::conv2d_backward_filter(dev, a, wrong_y, dw, g), shape_error);
    Tensor<cpu> bias = t({1, 1, 1, 3});
    CHECK_THROWS_AS(ops::add_channel_bias(dev, y, bias), shape_error);
    CHECK_THROWS_AS(ops::channel_bias_backward(dev, y, bias), shape_error);

    Tensor<cpu> padded = t({1, 2, 6, 6});
    CHECK_NOTHROW(ops::pad2d_forward(dev, PaddingMode::reflect, a, padded, Padding2d{1, 1, 1, 1}));
    CHECK_THROWS_AS(ops::pad2d_forward(dev, PaddingMode::reflect, a, padded, Padding2d{2, 1, 1, 1}), shape_error);  // 7 wide, not 6
    CHECK_THROWS_AS(ops::pad2d_forward(dev, PaddingMode::reflect, a, padded, Padding2d{4, 4, 0, 0}), shape_error);
    CHECK_THROWS_AS(ops::pad2d_backward(dev, PaddingMode::zeros, padded, b, Padding2d{1, 1, 1, 1}), shape_error);

    Tensor<cpu> up = t({1, 2, 8, 8});
    CHECK_NOTHROW(ops::upsample_nearest2d_forward(dev, a, up, 2));
    CHECK_THROWS_AS(ops::upsample_nearest2d_forward(dev, a, up, 3), shape_error);
    CHECK_THROWS_AS(ops::upsample_bilinear2d_backward(dev, up, b, 2, false), shape_error);

    CHECK_THROWS_AS(ops::pointwise_forward(dev, ReLUOp{}, a, b), shape_error);
    CHECK_THROWS_AS(ops::pointwise_backward(dev, TanhOp{}, a, a, b, y), shape_error);

    const NormGroups groups = NormGroups::per_plane(a.shape());
    Tensor<cpu> mean = t({2, 1, 1, 1}), rstd = t({2, 1, 1, 1}), short_mean = t({1, 1, 1, 1}), none;
    CHECK_NOTHROW(ops::norm_statistics(dev, a, groups, 1e-5, mean, rstd, nullptr));
    CHECK_THROWS_AS(ops::norm_statistics(dev, a, groups, 1e-5, short_mean, rstd, nullptr), shape_error);
    CHECK_THROWS_AS(ops::norm_forward(dev, b, groups, mean, rstd, none, none, b), shape_error);  // groups of another shape
    CHECK_THROWS_AS(ops::norm_forward(dev, a, groups, mean, rstd, t({1, 1, 1, 3}), none, y), shape_error);
    CHECK_THROWS_AS(ops::update_running_statistics(dev, mean, mean, 1, 0.1, mean, rstd), shape_error);  // one value

    Tensor<cpu> mask = t({1, 2, 4, 4});
    CHECK_THROWS_AS(ops::dropout_forward(dev, a, DropoutDraw{}, mask, b), shape_error);
    CHECK_THROWS_AS(ops::dropout_backward(dev, mask, b, y), shape_error);
    CHECK_THROWS_AS(ops::elementwise_loss(dev, SquaredError{}, a, &b, 0.0f, nullptr, 1.0), shape_error);

    Tensor<cpu> p = t({1, 1, 1, 4}), grad = t({1, 1, 1, 4}), state = t({1, 1, 1, 5});
    CHECK_THROWS_AS(ops::adam_update(dev, p, grad, state, grad, 1e-3, 0.9, 0.999, 1e-8, 0.0, 1), shape_error);
    CHECK_THROWS_AS(ops::sgd_update(dev, p, state, grad, 1e-2, 0.9, 0.0, 0.0, false, true), shape_error);
}

// An activation of the user's own, on more values than one thread takes: where the library's kernels
// are compiled once, its loop is the header's plain one (pointwise.hpp), else each kernel set's.
namespace {
struct CubeOp {
    template <class T> T f(T x) const { return x * x * x; }
    template <class T> T df(T x, T) const { return T(3) * x * x; }
    constexpr bool needs_input() const { return true; }
};
}  // namespace

TEST_CASE("a pointwise op of the user's own runs forward and backward, on every thread") {
    cpu dev;
    Network<Activation<cpu, CubeOp>> net(dev, Activation<cpu, CubeOp>{}, "cube");
    const Tensor<cpu> x = random_tensor(dev, {2, 4, 96, 96}, 5), dy = random_tensor(dev, {2, 4, 96, 96}, 6);
    typename Network<Activation<cpu, CubeOp>>::Context ctx;
    const auto y = net.forward(x, ctx).to_host(dev);
    Tensor<cpu> dx;
    net.backward(ctx, dy, &dx);
    const auto hx = x.to_host(dev), hdy = dy.to_host(dev), hdx = dx.to_host(dev);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < hx.size(); ++i)
        wrong += y[i] != hx[i] * hx[i] * hx[i] || hdx[i] != hdy[i] * (3.0f * hx[i] * hx[i]);
    CHECK(wrong == 0);
}
