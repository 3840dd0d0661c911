// Pointwise layers (ReLU, LeakyReLU, Tanh, Sigmoid, Identity, Dropout) and the weight
// initialisers: values by hand, finite-difference gradients, statistics, PyTorch parity.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "support/gradcheck.hpp"
#include "support/parity.hpp"

#include <cyclegan/backend/cpu/dropout.hpp>
#include <cyclegan/layers/dropout.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

using namespace cyclegan;
using test::gradcheck;
using test::random_tensor;

namespace {

// One forward and backward through `net`; returns y and dx on the host.
template <class L, class T = typename L::backend::scalar>
std::pair<std::vector<T>, std::vector<T>> run_once(Network<L>& net, Shape s, const std::vector<T>& x,
                                                   const std::vector<T>& dy) {
    auto& dev = net.device();
    typename Network<L>::Context ctx;
    auto y = net.forward(Tensor<typename L::backend>::from_host(dev, s, x), ctx);
    REQUIRE(y.shape() == s);
    Tensor<typename L::backend> dx;
    net.backward(ctx, Tensor<typename L::backend>::from_host(dev, s, dy), &dx);
    REQUIRE(dx.shape() == s);
    return {y.to_host(dev), dx.to_host(dev)};
}

void check_values(const char* what, const std::vector<double>& ours, const std::vector<double>& expected,
                  double tol = 1e-15) {
    REQUIRE(ours.size() == expected.size());
    for (std::size_t i = 0; i < ours.size(); ++i) {
        INFO(what << "[" << i << "]: " << ours[i] << " vs " << expected[i]);
        CHECK(std::abs(ours[i] - expected[i]) <= tol);
    }
}

std::vector<float> random_floats(std::size_t n, std::uint64_t seed, double lo, double hi) {
    const auto d = test::random_values(n, seed, lo, hi);
    return {d.begin(), d.end()};
}

struct Stats {
    double mean = 0, std = 0;
};

template <class T>
Stats stats(const std::vector<T>& v) {
    double sum = 0;
    for (T e : v) sum += e;
    const double mean = sum / static_cast<double>(v.size());
    double sq = 0;
    for (T e : v) sq += (e - mean) * (e - mean);
    return {mean, std::sqrt(sq / static_cast<double>(v.size() - 1))};
}

// Sample statistics of N draws from N(mu, sigma): the mean has standard error sigma/sqrt(N) and
// the sample standard deviation sigma/sqrt(2N). Five standard errors: a correct initialiser
// fails with probability below 1e-6 (and the seeds are fixed, so it never flickers).
void check_normal(const char* what, const Stats& s, std::size_t n, double mu, double sigma) {
    const double se_mean = sigma / std::sqrt(double(n)), se_std = sigma / std::sqrt(2.0 * double(n));
    INFO(what << ": mean " << s.mean << " (expected " << mu << " +- " << 5 * se_mean << "), std " << s.std
              << " (expected " << sigma << " +- " << 5 * se_std << ")");
    CHECK(std::abs(s.mean - mu) < 5 * se_mean);
    CHECK(std::abs(s.std - sigma) < 5 * se_std);
}

// Dropout whose every forward draws the first mask of its seed, so that finite differences see
// the same function as backward did.
template <class B>
struct FixedMaskDropout : Dropout<B> {
    using Dropout<B>::Dropout;
    Tensor<B> forward(B& dev, const Tensor<B>& x, typename Dropout<B>::Context& ctx, Phase phase) {
        this->reseed(this->seed());
        return Dropout<B>::forward(dev, x, ctx, phase);
    }
};

// A stand-in for a batch norm (the norm layers live in another header): the identity, but it
// declares BatchNorm2d's four tensors so that Network::init shows how it treats each role.
template <class B>
struct NormProbe {
    using backend = B;
    struct Context {};
    explicit NormProbe(int c) : channels(c) {}
    int channels;
    Tensor<B> weight, bias, grad_weight, grad_bias, running_mean, running_var;

    Tensor<B> forward(B&, const Tensor<B>& x, Context&, Phase) { return x; }
    void backward(B&, Context&, const Tensor<B>& dy, Tensor<B>* dx, Grad) {
        if (dx) *dx = dy;
    }
    Shape output_shape(const Shape& x) const { return x; }
    template <class V>
    void parameters(V&& visit, const std::string& prefix) {
        visit(ParamSpec{join_name(prefix, "weight"), {channels}, ParamRole::norm_weight}, weight, &grad_weight);
        visit(ParamSpec{join_name(prefix, "bias"), {channels}, ParamRole::norm_bias}, bias, &grad_bias);
        visit(ParamSpec{join_name(prefix, "running_mean"), {channels}, ParamRole::running_mean}, running_mean, nullptr);
        visit(ParamSpec{join_name(prefix, "running_var"), {channels}, ParamRole::running_var}, running_var, nullptr);
    }
};

using ConvAndNorm = Sequential<Conv2d<cpu>, NormProbe<cpu>>;

Network<ConvAndNorm> conv_and_norm(cpu& dev, InitOptions o) {
    // Conv2d 64 -> 128, 3x3: fan_in = 64 * 9 = 576, fan_out = 128 * 9 = 1152, 73728 weights.
    return Network<ConvAndNorm>(dev, ConvAndNorm(Conv2d<cpu>(64, 128, 3), NormProbe<cpu>(128)), "", o);
}

// max |G / gain^2 - I| where G is the Gram matrix of the k vectors (rows, or columns when
// `columns`) of a rows x cols matrix.
template <class T>
double orthonormality_error(const std::vector<T>& w, int rows, int cols, bool columns, double gain) {
    const int k = columns ? cols : rows, len = columns ? rows : cols;
    auto at = [&](int v, int t) {
        return double(columns ? w[std::size_t(t) * cols + v] : w[std::size_t(v) * cols + t]);
    };
    double worst = 0;
    for (int a = 0; a < k; ++a)
        for (int b = a; b < k; ++b) {
            double dot = 0;
            for (int t = 0; t < len; ++t) dot += at(a, t) * at(b, t);
            worst = std::max(worst, std::abs(dot / (gain * gain) - (a == b ? 1.0 : 0.0)));
        }
    return worst;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Activations and Identity

TEST_CASE("activations forward and backward by hand") {
    cpu64 dev;
    const Shape s{1, 1, 1, 5};
    const std::vector<double> x{-2, -0.5, 0, 0.5, 2}, dy{1, 2, 3, 4, 5};
    // Reference values from Python's math module.
    const double t05 = 0.46211715726000974, t2 = 0.9640275800758169;  // tanh(0.5), tanh(2)
    const double s05 = 0.6224593312018546, s2 = 0.8807970779778823;   // sigmoid(0.5), sigmoid(2)

    SUBCASE("ReLU: max(x, 0); the gradient at 0 is 0, as PyTorch's") {
        Network<ReLU<cpu64>> net(dev, ReLU<cpu64>{});
        const auto r = run_once(net, s, x, dy);
        const auto &y = r.first, &dx = r.second;
        check_values("y", y, {0, 0, 0, 0.5, 2});
        check_values("dx", dx, {0, 0, 0, 4, 5});
    }
    SUBCASE("LeakyReLU(0.2): 0.2 x below 0; the slope at 0 is 0.2, as PyTorch's") {
        Network<LeakyReLU<cpu64>> net(dev, LeakyReLU<cpu64>(0.2));
        const auto r = run_once(net, s, x, dy);
        const auto &y = r.first, &dx = r.second;
        check_values("y", y, {-0.4, -0.1, 0, 0.5, 2});
        check_values("dx", dx, {0.2, 0.4, 0.6, 4, 5});
    }
    SUBCASE("Tanh: dx = dy (1 - y^2)") {
        Network<Tanh<cpu64>> net(dev, Tanh<cpu64>{});
        const auto r = run_once(net, s, x, dy);
        const auto &y = r.first, &dx = r.second;
        check_values("y", y, {-t2, -t05, 0, t05, t2}, 1e-15);
        check_values("dx", dx, {1 * 0.07065082485316443, 2 * 0.7864477329659274, 3, 4 * 0.7864477329659274,
                                5 * 0.07065082485316443}, 1e-14);
    }
    SUBCASE("Sigmoid: dx = dy y (1 - y)") {
        Network<Sigmoid<cpu64>> net(dev, Sigmoid<cpu64>{});
        const auto r = run_once(net, s, x, dy);
        const auto &y = r.first, &dx = r.second;
        check_values("y", y, {1 - s2, 1 - s05, 0.5, s05, s2}, 1e-15);
        check_values("dx", dx, {1 * 0.1049935854035065, 2 * 0.2350037122015945, 3 * 0.25,
                                4 * 0.2350037122015945, 5 * 0.10499358540350662}, 1e-14);
    }
    SUBCASE("Identity: y = x, dx = dy") {
        Network<Identity<cpu64>> net(dev, Identity<cpu64>{});
        const auto r = run_once(net, s, x, dy);
        const auto &y = r.first, &dx = r.second;
        check_values("y", y, x, 0);
        check_values("dx", dx, dy, 0);
    }
}

TEST_CASE_TEMPLATE("Sigmoid and Tanh saturate without NaN for large |x|", T, float, double) {
    using B = basic_cpu<T>;
    B dev;
    const T inf = std::numeric_limits<T>::infinity();
    // Sorted, so outputs must be non-decreasing; +-88.7 is where float's exp nearly overflows.
    const std::vector<T> x{-inf, T(-1e4), T(-1000), T(-100), T(-88.7), T(-20), T(0),
                           T(20), T(88.7), T(100), T(1000), T(1e4), inf};
    const Shape s{1, 1, 1, static_cast<int>(x.size())};
    const std::vector<T> dy(x.size(), T(1));

    SUBCASE("Sigmoid") {
        Network<Sigmoid<B>> net(dev, Sigmoid<B>{});
        const auto r = run_once(net, s, x, dy);
        const auto &y = r.first, &dx = r.second;
        for (std::size_t i = 0; i < x.size(); ++i) {
            INFO("x = " << x[i] << ": y = " << y[i] << ", dx = " << dx[i]);
            CHECK(std::isfinite(y[i]));
            CHECK(std::isfinite(dx[i]));
            CHECK(y[i] >= T(0));
            CHECK(y[i] <= T(1));
            CHECK(dx[i] >= T(0));
            if (i > 0) CHECK(y[i] >= y[i - 1]);
        }
        CHECK(y.front() == T(0));
        CHECK(y[2] == T(0));  // sigmoid(-1000)
        CHECK(y[6] == T(0.5));
        CHECK(y[10] == T(1));  // sigmoid(1000)
        CHECK(y.back() == T(1));
        CHECK(dx.front() == T(0));
        CHECK(dx.back() == T(0));
    }
    SUBCASE("Tanh") {
        Network<Tanh<B>> net(dev, Tanh<B>{});
        const auto r = run_once(net, s, x, dy);
        const auto &y = r.first, &dx = r.second;
        for (std::size_t i = 0; i < x.size(); ++i) {
            INFO("x = " << x[i] << ": y = " << y[i] << ", dx = " << dx[i]);
            CHECK(std::isfinite(y[i]));
            CHECK(std::isfinite(dx[i]));
            CHECK(std::abs(y[i]) <= T(1));
            CHECK(dx[i] >= T(0));
            if (i > 0) CHECK(y[i] >= y[i - 1]);
        }
        CHECK(y.front() == T(-1));
        CHECK(y[2] == T(-1));
        CHECK(y[6] == T(0));
        CHECK(y[10] == T(1));
        CHECK(y.back() == T(1));
        CHECK(dx.front() == T(0));
        CHECK(dx.back() == T(0));
    }
}

TEST_CASE("activation gradients match finite differences") {
    cpu64 dev;
    SUBCASE("ReLU") {
        Network<ReLU<cpu64>> net(dev, ReLU<cpu64>{});
        gradcheck(net, random_tensor(dev, {2, 3, 5, 7}, 21));
    }
    SUBCASE("LeakyReLU(0.2)") {
        Network<LeakyReLU<cpu64>> net(dev, LeakyReLU<cpu64>(0.2));
        gradcheck(net, random_tensor(dev, {2, 3, 7, 5}, 22));
    }
    SUBCASE("Tanh") {
        Network<Tanh<cpu64>> net(dev, Tanh<cpu64>{});
        gradcheck(net, random_tensor(dev, {2, 3, 5, 7}, 23, -3, 3));
    }
    SUBCASE("Sigmoid") {
        Network<Sigmoid<cpu64>> net(dev, Sigmoid<cpu64>{});
        gradcheck(net, random_tensor(dev, {2, 5, 3, 7}, 24, -5, 5));
    }
    SUBCASE("Identity") {
        Network<Identity<cpu64>> net(dev, Identity<cpu64>{});
        gradcheck(net, random_tensor(dev, {2, 3, 5, 7}, 25));
    }
    SUBCASE("LeakyReLU then Tanh then Sigmoid, chained") {
        using Chain = Sequential<LeakyReLU<cpu64>, Tanh<cpu64>, Sigmoid<cpu64>>;
        Network<Chain> net(dev, Chain(LeakyReLU<cpu64>(0.2), Tanh<cpu64>{}, Sigmoid<cpu64>{}));
        gradcheck(net, random_tensor(dev, {3, 1, 5, 3}, 26, -2, 2));
    }
}

TEST_CASE("activations: Grad::ignore still gives dx; a null dx just releases the context") {
    cpu64 dev;
    Network<LeakyReLU<cpu64>> net(dev, LeakyReLU<cpu64>(0.2));
    auto x = random_tensor(dev, {2, 1, 3, 3}, 27);
    Network<LeakyReLU<cpu64>>::Context ctx;
    auto y = net.forward(x, ctx);
    CHECK(!ctx.y.empty());
    Tensor<cpu64> dx;
    net.backward(ctx, Tensor<cpu64>::full(dev, y.shape(), 1.0), &dx, Grad::ignore);
    const auto xs = x.to_host(dev), dxs = dx.to_host(dev);
    for (std::size_t i = 0; i < xs.size(); ++i) CHECK(dxs[i] == (xs[i] > 0 ? 1.0 : 0.2));
    CHECK(ctx.y.empty());

    net.forward(x, ctx);
    net.net().backward(dev, ctx, Tensor<cpu64>::full(dev, y.shape(), 1.0), nullptr, Grad::accumulate);
    CHECK(ctx.x.empty());
    CHECK(ctx.y.empty());
}

TEST_CASE("activations keep only their output when the derivative follows from it") {
    cpu64 dev;
    auto x = random_tensor(dev, {1, 2, 3, 3}, 31);
    auto check = [&](auto layer, bool keeps_input) {
        using L = decltype(layer);
        Network<L> net(dev, std::move(layer));
        typename Network<L>::Context ctx;
        net.forward(x, ctx);
        CHECK(ctx.x.empty() == !keeps_input);
        CHECK_FALSE(ctx.y.empty());
        test::gradcheck(net, x);  // and the derivative from y alone is right
    };
    check(ReLU<cpu64>{}, false);
    check(LeakyReLU<cpu64>(0.2), false);
    check(LeakyReLU<cpu64>(-0.5), true);  // a negative slope flips the sign: y cannot tell
    check(LeakyReLU<cpu64>(0.0), true);
    check(Tanh<cpu64>{}, false);
    check(Sigmoid<cpu64>{}, false);
}

// ---------------------------------------------------------------------------------------------
// Dropout

TEST_CASE("Dropout's random function is SplitMix64, and its masks are pinned") {
    // Published SplitMix64 outputs for seed 0: a port (the GPU backend) must reproduce them.
    static_assert(splitmix64(0) == 0xe220a8397b1dcdafULL);
    CHECK(splitmix64(0) == 0xe220a8397b1dcdafULL);
    CHECK(mix64(2 * golden_gamma) == 0x6e789e6aa1b965f4ULL);
    CHECK(mix64(3 * golden_gamma) == 0x06c45d188009454fULL);
    // random_uniform(key, i) is the i-th output of SplitMix64 from state key, top 53 bits.
    CHECK(random_uniform(0, 0) == double(0xe220a8397b1dcdafULL >> 11) * 0x1.0p-53);
    CHECK(random_uniform(0, 2) == double(0x06c45d188009454fULL >> 11) * 0x1.0p-53);

    // The first 48 elements of call 0 and call 1 of seed 1234 (no salt), p = 0.5, 1 = kept.
    // Any backend must draw exactly these.
    auto pattern = [](std::uint64_t call) {
        const DropoutDraw draw{dropout_key(1234, 0, call), 0.5, 2.0};
        std::string bits;
        for (std::uint64_t i = 0; i < 48; ++i) bits += draw.factor<float>(i) == 0.f ? '0' : '1';
        return bits;
    };
    CHECK(pattern(0) == "010011011010011000111111010011101101100111001011");
    CHECK(pattern(1) == "111111110101100110010110100000111011000110001001");
    // ...and the layer draws them: a lone Dropout (or a Network named "") has no salt.
    cpu dev;
    Network<Dropout<cpu>> net(dev, Dropout<cpu>(0.5, 1234));
    for (const char* expected : {"010011011010011000111111010011101101100111001011",
                                 "111111110101100110010110100000111011000110001001"}) {
        Network<Dropout<cpu>>::Context ctx;
        net.forward(Tensor<cpu>::full(dev, {2, 1, 4, 6}, 1.f), ctx);
        std::string bits;
        for (float m : ctx.mask.to_host(dev)) bits += m == 0.f ? '0' : '1';
        CHECK(bits == expected);
    }

    // Uniform on [0, 1): the mean of N draws is 1/2 within 5 standard errors sqrt(1/12/N).
    const std::uint64_t key = dropout_key(7, 0, 0), n = 200000;
    double sum = 0;
    bool in_range = true;
    for (std::uint64_t i = 0; i < n; ++i) {
        const double u = random_uniform(key, i);
        in_range = in_range && u >= 0.0 && u < 1.0;
        sum += u;
    }
    CHECK(in_range);
    CHECK(std::abs(sum / double(n) - 0.5) < 5 * std::sqrt(1.0 / 12.0 / double(n)));
}

TEST_CASE("core/random.hpp: keys, streams, FNV-1a and the seed rules") {
    // FNV-1a's published 64-bit test vectors; a list of texts hashes as their concatenation.
    static_assert(fnv1a("") == 0xcbf29ce484222325ULL);
    CHECK(fnv1a("a") == 0xaf63dc4c8601ec8cULL);
    CHECK(fnv1a("foobar") == 0x85944171f73967e8ULL);
    CHECK(fnv1a("bar", fnv1a("foo")) == fnv1a("foobar"));
    CHECK(dropout_name_hash("model.10") == fnv1a("model.10"));
    CHECK(dropout_name_hash("") == 0);

    // Dropout's key is random_key's; counters are ordered.
    CHECK(dropout_key(5, 6, 7) == random_key(5, {6, 7}));
    CHECK(random_key(5, {6, 7}) != random_key(5, {7, 6}));
    CHECK(random_key(5, {}) == splitmix64(5));

    // A stream's words are random_word's, the first of key 0 SplitMix64's first output.
    RandomStream words{42, 0};
    for (std::uint64_t i = 0; i < 5; ++i) CHECK(words() == random_word(42, i));
    CHECK(words.position == 5);
    CHECK(random_word(0, 0) == 0xe220a8397b1dcdafULL);
    CHECK(uniform01(~0ULL) < 1.0);
    CHECK(uniform01(0) == 0.0);

    // Seeds of sub-streams: the initialisers' numbering, and a run's ranks (rank 0's is the seed).
    static_assert(sub_seed(3, 2, 4) == 14);
    CHECK(stream_seed(9, 0) == 9);
    std::set<std::uint64_t> seeds;
    for (std::uint64_t r = 0; r < 1000; ++r) seeds.insert(stream_seed(9, r));
    CHECK(seeds.size() == 1000);

    // random_normal: N(mean, stddev) from two words per draw, the moments within 5 standard errors.
    RandomStream source{3, 0};
    const int n = 200000;
    double sum = 0, squares = 0;
    for (int i = 0; i < n; ++i) {
        const double x = random_normal(source, 2.0, 0.5);
        sum += x;
        squares += (x - 2.0) * (x - 2.0);
    }
    CHECK(source.position == 2 * std::uint64_t(n));
    CHECK(std::abs(sum / n - 2.0) < 5 * 0.5 / std::sqrt(double(n)));
    CHECK(std::abs(squares / n - 0.25) < 5 * 0.25 * std::sqrt(2.0 / n));
}

TEST_CASE("Dropout in training drops about p of the elements and scales the rest by 1/(1-p)") {
    cpu dev;
    const Shape s{2, 3, 211, 207};  // 262062 elements
    const auto xs = random_floats(s.numel(), 31, 0.5, 1.5);  // never zero: a zero in y means dropped
    const auto x = Tensor<cpu>::from_host(dev, s, xs);
    const double n = double(s.numel());
    for (double p : {0.5, 0.2, 0.9}) {
        INFO("p = " << p);
        Network<Dropout<cpu>> net(dev, Dropout<cpu>(p, 11));
        Network<Dropout<cpu>>::Context ctx;
        const auto y = net.forward(x, ctx).to_host(dev);
        const auto mask = ctx.mask.to_host(dev);
        const float scale = float(1.0 / (1.0 - p));
        std::size_t zeros = 0, zeros_even = 0, pairs = 0, bad = 0;
        for (std::size_t i = 0; i < y.size(); ++i) {
            const bool dropped = y[i] == 0.f;
            zeros += dropped;
            if (i % 2 == 0) zeros_even += dropped;
            if (i + 1 < y.size()) pairs += dropped && y[i + 1] == 0.f;
            // Kept values are x / (1 - p) (to float rounding; exactly x * mask); the mask says which.
            const bool ok = dropped ? mask[i] == 0.f
                                    : mask[i] == scale && y[i] == xs[i] * scale &&
                                          std::abs(double(y[i]) - xs[i] / (1.0 - p)) <= 1e-6 * xs[i] / (1.0 - p);
            bad += !ok;
        }
        CHECK(bad == 0);
        // The number of zeros is Binomial(N, p): standard deviation sqrt(p (1-p) / N) on the
        // fraction; allow five.
        const double sd = std::sqrt(p * (1 - p) / n);
        CHECK(std::abs(double(zeros) / n - p) < 5 * sd);
        // Even indices alone (N/2 draws), and neighbours: P(both dropped) = p^2, whose estimate
        // over overlapping pairs has variance (p^2 (1 - p^2) + 2 p^3 (1 - p)) / N.
        CHECK(std::abs(double(zeros_even) / (n / 2) - p) < 5 * sd * std::sqrt(2.0));
        const double sd_pairs = std::sqrt((p * p * (1 - p * p) + 2 * p * p * p * (1 - p)) / n);
        CHECK(std::abs(double(pairs) / (n - 1) - p * p) < 5 * sd_pairs);
    }
}

TEST_CASE("Dropout masks: same seed, same mask; each call a new one; reseed replays") {
    cpu dev;
    const Shape s{2, 3, 67, 61};  // 24522 elements
    const double n = double(s.numel());
    const auto x = Tensor<cpu>::full(dev, s, 1.0f);
    auto mask_of = [&](Network<Dropout<cpu>>& net) {
        Network<Dropout<cpu>>::Context ctx;
        net.forward(x, ctx);
        return ctx.mask.to_host(dev);
    };
    // Two independent p = 1/2 masks agree on a fraction 1/2 of the elements, sd sqrt(1/4 / N).
    auto independent = [&](const std::vector<float>& a, const std::vector<float>& b) {
        std::size_t same = 0;
        for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
        INFO("agreement " << double(same) / n);
        return std::abs(double(same) / n - 0.5) < 5 * std::sqrt(0.25 / n);
    };

    Network<Dropout<cpu>> a(dev, Dropout<cpu>(0.5, 42)), b(dev, Dropout<cpu>(0.5, 42)),
        c(dev, Dropout<cpu>(0.5, 43));
    const auto a1 = mask_of(a), a2 = mask_of(a), b1 = mask_of(b), c1 = mask_of(c);
    CHECK(a1 == b1);
    CHECK(independent(a1, a2));
    CHECK(independent(a1, c1));
    CHECK(a.net().calls() == 2);

    a.net().reseed(42);
    CHECK(mask_of(a) == a1);
    a.net().reseed(42, 1);  // resume after one call
    CHECK(mask_of(a) == a2);
    a.net().reseed(43);
    CHECK(mask_of(a) == c1);
}

TEST_CASE("Dropout in evaluation is the identity and draws nothing") {
    cpu dev;
    const Shape s{2, 3, 5, 7};
    const auto xs = random_floats(s.numel(), 41, -1, 1), dys = random_floats(s.numel(), 42, -1, 1);
    Network<Dropout<cpu>> net(dev, Dropout<cpu>(0.5, 3));
    net.eval();
    const auto r = run_once(net, s, xs, dys);
    const auto &y = r.first, &dx = r.second;
    CHECK(y == xs);
    CHECK(dx == dys);
    CHECK(net.net().calls() == 0);

    // The first training call draws the mask a fresh layer draws first.
    net.train();
    Network<Dropout<cpu>> fresh(dev, Dropout<cpu>(0.5, 3));
    Network<Dropout<cpu>>::Context c1, c2;
    const auto x = Tensor<cpu>::from_host(dev, s, xs);
    net.forward(x, c1);
    fresh.forward(x, c2);
    CHECK(c1.mask.to_host(dev) == c2.mask.to_host(dev));
}

TEST_CASE("Dropout backward multiplies by the mask forward drew") {
    cpu dev;
    const Shape s{3, 5, 9, 7};
    const auto xs = random_floats(s.numel(), 51, 0.5, 1.5), dys = random_floats(s.numel(), 52, 0.5, 1.5);
    Network<Dropout<cpu>> net(dev, Dropout<cpu>(0.3, 8));
    Network<Dropout<cpu>>::Context ctx;
    const auto y = net.forward(Tensor<cpu>::from_host(dev, s, xs), ctx).to_host(dev);
    const auto mask = ctx.mask.to_host(dev);
    Tensor<cpu> dx;
    net.backward(ctx, Tensor<cpu>::from_host(dev, s, dys), &dx);
    CHECK(ctx.mask.empty());
    const auto dxs = dx.to_host(dev);
    std::size_t bad = 0, zeros = 0;
    for (std::size_t i = 0; i < dxs.size(); ++i) {
        bad += dxs[i] != dys[i] * mask[i];       // exactly dy * mask
        bad += (dxs[i] == 0.f) != (y[i] == 0.f);  // zero where forward dropped, nowhere else
        zeros += dxs[i] == 0.f;
    }
    CHECK(bad == 0);
    CHECK(zeros > 0);
    CHECK(zeros < dxs.size());
}

TEST_CASE("Dropout gradients match finite differences with the mask held fixed") {
    cpu64 dev;
    for (double p : {0.5, 0.3}) {
        INFO("p = " << p);
        Network<FixedMaskDropout<cpu64>> net(dev, FixedMaskDropout<cpu64>(p, 61));
        const auto x = random_tensor(dev, {2, 3, 5, 7}, 62);
        // The fixed mask drops some but not all elements, so the check sees both kinds.
        Network<FixedMaskDropout<cpu64>>::Context ctx;
        const auto y = net.forward(x, ctx).to_host(dev);
        const auto zeros = std::count(y.begin(), y.end(), 0.0);
        CHECK(zeros > 0);
        CHECK(zeros < std::ptrdiff_t(y.size()));
        gradcheck(net, x);
    }
}

TEST_CASE("Dropout gradients in evaluation mode match finite differences") {
    cpu64 dev;
    Network<Dropout<cpu64>> net(dev, Dropout<cpu64>(0.5, 63));
    net.eval();
    gradcheck(net, random_tensor(dev, {2, 3, 7, 5}, 64));
}

TEST_CASE("Dropout with p = 0 keeps everything, with p = 1 drops everything") {
    cpu dev;
    const Shape s{2, 3, 5, 7};
    const auto xs = random_floats(s.numel(), 71, -1, 1), dys = random_floats(s.numel(), 72, -1, 1);
    SUBCASE("p = 0") {
        Network<Dropout<cpu>> net(dev, Dropout<cpu>(0.0));
        const auto r = run_once(net, s, xs, dys);
        const auto &y = r.first, &dx = r.second;
        CHECK(y == xs);
        CHECK(dx == dys);
    }
    SUBCASE("p = 1: zeros, as torch, not 0 * inf") {
        Network<Dropout<cpu>> net(dev, Dropout<cpu>(1.0));
        const auto r = run_once(net, s, xs, dys);
        const auto &y = r.first, &dx = r.second;
        CHECK(y == std::vector<float>(xs.size(), 0.f));
        CHECK(dx == std::vector<float>(xs.size(), 0.f));
    }
}

TEST_CASE("Dropout draws one mask whatever the scalar type and thread count") {
    cpu dev32;
    cpu64 dev64;
    const Shape s{2, 3, 33, 31};
    Network<Dropout<cpu>> a(dev32, Dropout<cpu>(0.4, 99));
    Network<Dropout<cpu64>> b(dev64, Dropout<cpu64>(0.4, 99));
    Network<Dropout<cpu>>::Context ca;
    Network<Dropout<cpu64>>::Context cb;
    a.forward(Tensor<cpu>::full(dev32, s, 1.f), ca);
    b.forward(Tensor<cpu64>::full(dev64, s, 1.0), cb);
    const auto ma = ca.mask.to_host(dev32);
    const auto mb = cb.mask.to_host(dev64);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < ma.size(); ++i) differ += (ma[i] == 0.f) != (mb[i] == 0.0);
    CHECK(differ == 0);

    const int threads = dev32.threads();
    dev32.set_threads(1);
    a.net().reseed(99);
    a.forward(Tensor<cpu>::full(dev32, s, 1.f), ca);
    dev32.set_threads(threads);
    CHECK(ca.mask.to_host(dev32) == ma);
}

TEST_CASE("Dropout layers in one network draw different masks from one seed") {
    cpu dev;
    const Shape s{2, 3, 41, 43};
    const double n = double(s.numel());
    const auto x = Tensor<cpu>::full(dev, s, 1.f);
    auto agreement = [&](const Tensor<cpu>& a, const Tensor<cpu>& b) {
        const auto ha = a.to_host(dev), hb = b.to_host(dev);
        std::size_t same = 0;
        for (std::size_t i = 0; i < ha.size(); ++i) same += ha[i] == hb[i];
        return double(same) / n;
    };
    const double bound = 5 * std::sqrt(0.25 / n);  // two independent p = 1/2 masks agree half the time

    SUBCASE("Sequential: each layer's place in the tree salts its stream") {
        using Two = Sequential<Dropout<cpu>, Dropout<cpu>>;
        Network<Two> net(dev, Two(Dropout<cpu>(0.5, 0), Dropout<cpu>(0.5, 0)));
        CHECK(net.net().get<0>().salt() == dropout_name_hash("0"));
        CHECK(net.net().get<1>().salt() == dropout_name_hash("1"));
        Network<Two>::Context ctx;
        net.forward(x, ctx);
        CHECK(std::abs(agreement(std::get<0>(ctx).mask, std::get<1>(ctx).mask) - 0.5) < bound);
    }
    SUBCASE("Repeat: copies of one prototype") {
        using Twice = Repeat<2, Dropout<cpu>>;
        Network<Twice> net(dev, Twice(Dropout<cpu>(0.5, 0)));
        Network<Twice>::Context ctx;
        net.forward(x, ctx);
        CHECK(std::abs(agreement(ctx[0].mask, ctx[1].mask) - 0.5) < bound);
    }
    SUBCASE("two networks of one architecture under different names") {
        Network<Dropout<cpu>> g_a(dev, Dropout<cpu>(0.5, 0), "netG_A"), g_b(dev, Dropout<cpu>(0.5, 0), "netG_B");
        Network<Dropout<cpu>>::Context ca, cb;
        g_a.forward(x, ca);
        g_b.forward(x, cb);
        CHECK(std::abs(agreement(ca.mask, cb.mask) - 0.5) < bound);
    }
}

TEST_CASE("Dropout rejects a probability outside [0, 1] and a mismatched gradient") {
    CHECK_THROWS_WITH_AS(Dropout<cpu>{1.5}, "Dropout: probability has to be between 0 and 1, but got 1.500000",
                         std::invalid_argument);
    CHECK_THROWS_AS(Dropout<cpu>{-0.1}, std::invalid_argument);
    CHECK_THROWS_AS(Dropout<cpu>{std::numeric_limits<double>::quiet_NaN()}, std::invalid_argument);

    cpu dev;
    Network<Dropout<cpu>> net(dev, Dropout<cpu>(0.5));
    Network<Dropout<cpu>>::Context ctx;
    net.forward(Tensor<cpu>::full(dev, {2, 3, 4, 5}, 1.f), ctx);
    Tensor<cpu> dx;
    CHECK_THROWS_WITH_AS(net.backward(ctx, Tensor<cpu>::full(dev, {2, 3, 5, 4}, 1.f), &dx),
                         "Dropout: output gradient of shape [2, 3, 5, 4] does not match the output's shape "
                         "[2, 3, 4, 5]",
                         shape_error);
}

// ---------------------------------------------------------------------------------------------
// Initialisers (core/init.hpp), through a Network holding a Conv2d 64 -> 128, 3x3 and a norm.

TEST_CASE("initialisers: conv weights by the chosen rule, norm weights N(1, gain), biases zero") {
    cpu dev;
    const int fan_in = 64 * 9, fan_out = 128 * 9;
    struct Case {
        const char* name;
        InitType type;
        double gain, expected_std;
    };
    const Case cases[] = {
        {"normal", InitType::normal, 0.02, 0.02},
        {"xavier, gain 0.02", InitType::xavier, 0.02, 0.02 * std::sqrt(2.0 / (fan_in + fan_out))},
        {"xavier, gain 1", InitType::xavier, 1.0, std::sqrt(2.0 / (fan_in + fan_out))},
        {"kaiming (gain unused, as the reference's kaiming_normal_(a=0, mode='fan_in'))", InitType::kaiming,
         0.02, std::sqrt(2.0 / fan_in)},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        auto net = conv_and_norm(dev, {c.type, c.gain, 5});
        const auto w = net.find("0.weight").value.to_host(dev);
        REQUIRE(w.size() == 73728u);
        check_normal("0.weight", stats(w), w.size(), 0.0, c.expected_std);
        CHECK(net.find("0.bias").value.to_host(dev) == std::vector<float>(128, 0.f));
        // The norm: weight N(1, gain) whatever the rule, bias 0, running statistics 0 and 1.
        const auto g = net.find("1.weight").value.to_host(dev);
        check_normal("1.weight", stats(g), g.size(), 1.0, c.gain);
        CHECK(net.find("1.bias").value.to_host(dev) == std::vector<float>(128, 0.f));
        CHECK(net.find("1.running_mean").value.to_host(dev) == std::vector<float>(128, 0.f));
        CHECK(net.find("1.running_var").value.to_host(dev) == std::vector<float>(128, 1.f));
        for (float e : net.gradients().to_host(dev)) REQUIRE(e == 0.f);
    }
}

TEST_CASE("initialisers: norm weights N(1, gain) over many channels") {
    std::mt19937_64 rng(17);
    for (double gain : {0.02, 0.5}) {
        const ParamSpec spec{"norm.weight", {1 << 16}, ParamRole::norm_weight};
        const auto v = initial_values<double>(spec, {InitType::orthogonal, gain, 0}, rng);
        check_normal("norm weight", stats(v), v.size(), 1.0, gain);
    }
}

TEST_CASE("orthogonal initialiser: orthonormal rows (or columns), times gain") {
    SUBCASE("Conv2d 64 -> 128, 3x3 through the Network: 128 rows of length 576") {
        cpu dev;
        for (double gain : {0.02, 1.0}) {
            INFO("gain " << gain);
            auto net = conv_and_norm(dev, {InitType::orthogonal, gain, 9});
            const auto w = net.find("0.weight").value.to_host(dev);
            CHECK(orthonormality_error(w, 128, 576, false, gain) < 1e-5);
            CHECK(net.find("0.bias").value.to_host(dev) == std::vector<float>(128, 0.f));
            const auto g = net.find("1.weight").value.to_host(dev);
            check_normal("1.weight", stats(g), g.size(), 1.0, gain);
        }
    }
    SUBCASE("more rows than columns: [300, 4, 3, 3] has 36 orthonormal columns") {
        std::mt19937_64 rng(3);
        const auto w = initial_values<double>({"w", {300, 4, 3, 3}, ParamRole::weight}, {InitType::orthogonal, 0.5, 0}, rng);
        CHECK(orthonormality_error(w, 300, 36, true, 0.5) < 1e-12);
    }
    SUBCASE("square: [36, 4, 3, 3] is orthogonal both ways") {
        std::mt19937_64 rng(4);
        const auto w = initial_values<double>({"w", {36, 4, 3, 3}, ParamRole::weight}, {InitType::orthogonal, 1.0, 0}, rng);
        CHECK(orthonormality_error(w, 36, 36, false, 1.0) < 1e-12);
        CHECK(orthonormality_error(w, 36, 36, true, 1.0) < 1e-12);
    }
}

TEST_CASE("initialisers: the same seed gives the same values, another seed others") {
    cpu dev;
    for (InitType type : {InitType::normal, InitType::xavier, InitType::kaiming, InitType::orthogonal}) {
        INFO("init type " << int(type));
        auto a = conv_and_norm(dev, {type, 0.02, 1});
        auto b = conv_and_norm(dev, {type, 0.02, 1});
        auto c = conv_and_norm(dev, {type, 0.02, 2});
        const auto pa = a.parameters().to_host(dev), pb = b.parameters().to_host(dev),
                   pc = c.parameters().to_host(dev);
        CHECK(pa == pb);
        std::size_t same = 0, nonzero = 0;
        for (std::size_t i = 0; i < pa.size(); ++i)
            if (pa[i] != 0.f) {  // the biases are zero under every seed
                ++nonzero;
                same += pa[i] == pc[i];
            }
        CHECK(nonzero >= 73728u);
        CHECK(same < nonzero / 1000);
        // Re-initialising in place replays the seed, and clears the gradients.
        a.gradients().data()[0] = 1.f;
        a.parameters().data()[0] = 123.f;
        a.init({type, 0.02, 1});
        CHECK(a.parameters().to_host(dev) == pa);
        CHECK(a.gradients().data()[0] == 0.f);
    }
}

// ---------------------------------------------------------------------------------------------
// PyTorch parity (tests/fixtures/layers_pointwise.py). Dropout has none: torch's RNG draws other
// masks than our counter-based one; its statistics and gradients are tested above.

TEST_SUITE("parity") {
    TEST_CASE("activations equal torch.nn's") {
        cpu dev;
        SUBCASE("ReLU") {
            Network<ReLU<cpu>> net(dev, ReLU<cpu>{});
            test::check_parity(net, "pointwise_relu");
        }
        SUBCASE("LeakyReLU(0.2)") {
            Network<LeakyReLU<cpu>> net(dev, LeakyReLU<cpu>(0.2));
            test::check_parity(net, "pointwise_leaky_relu_0p2");
        }
        SUBCASE("Tanh") {
            Network<Tanh<cpu>> net(dev, Tanh<cpu>{});
            test::check_parity(net, "pointwise_tanh");
        }
        SUBCASE("Sigmoid") {
            Network<Sigmoid<cpu>> net(dev, Sigmoid<cpu>{});
            test::check_parity(net, "pointwise_sigmoid");
        }
        SUBCASE("Identity") {
            Network<Identity<cpu>> net(dev, Identity<cpu>{});
            test::check_parity(net, "pointwise_identity");
        }
    }
}
