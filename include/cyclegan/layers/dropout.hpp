#pragma once
// Dropout, as nn.Dropout(p): in training each element is zeroed with probability p and the
// survivors are scaled by 1/(1-p), so the expected output equals the input; in evaluation it is
// the identity.
//
// The mask comes from a counter-based random function rather than a stateful generator: element
// i of forward call c of a layer seeded s is dropped when uniform(key(s, layer, c), i) < p. It is
// a pure function of those numbers, so every backend, thread count and loop order draws the same
// mask, and a run can be replayed from (seed, call counter) alone.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../core/concepts.hpp"
#include "../core/macros.hpp"

namespace cyclegan {

namespace dropout_detail {

inline constexpr std::uint64_t golden_gamma = 0x9e3779b97f4a7c15ULL;  // 2^64 / golden ratio, odd

// SplitMix64's output function (Steele, Lea & Flood 2014; Vigna's constants): a bijection of
// 64-bit words in which every input bit flips about half the output bits.
CYCLEGAN_HD constexpr std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// One SplitMix64 step from state z: mix64(z + gamma). splitmix64(0) = 0xe220a8397b1dcdaf, the
// reference generator's first output for seed 0 (the tests check it).
CYCLEGAN_HD constexpr std::uint64_t splitmix64(std::uint64_t z) { return mix64(z + golden_gamma); }

}  // namespace dropout_detail

// The key of one forward call's stream. Each input goes through a full mix before the next is
// folded in, so neighbouring seeds, layers or calls give unrelated keys; for fixed seed and salt,
// distinct calls give distinct keys (mix64 is a bijection).
CYCLEGAN_HD constexpr std::uint64_t dropout_key(std::uint64_t seed, std::uint64_t salt, std::uint64_t call) {
    using dropout_detail::splitmix64;
    return splitmix64(splitmix64(splitmix64(seed) ^ salt) ^ call);
}

// Uniform in [0, 1) for element `index` of the stream `key`: the index-th output of SplitMix64
// started from state `key`, its top 53 bits as a double (exact, so the comparison with p below
// gives the same answer on any IEEE machine).
CYCLEGAN_HD constexpr double dropout_uniform(std::uint64_t key, std::uint64_t index) {
    const std::uint64_t bits = dropout_detail::mix64(key + (index + 1) * dropout_detail::golden_gamma);
    return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

// What a kernel needs to draw one call's mask.
struct DropoutDraw {
    std::uint64_t key = 0;  // dropout_key(seed, salt, call)
    double p = 0.5;         // probability of dropping an element
    double scale = 2.0;     // 1/(1-p), the factor on kept elements (0 when p = 1: all dropped)

    // The mask value of element `index` (flat NCHW): 0 or 1/(1-p).
    template <class T>
    CYCLEGAN_HD T factor(std::uint64_t index) const {
        return dropout_uniform(key, index) < p ? T(0) : T(scale);
    }
};

// The kernels Dropout calls (backend/cpu/dropout.hpp for cyclegan::cpu).
template <class B>
concept DropoutKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct, const DropoutDraw& draw) {
    dropout_forward(d, ct, draw, t, t);  // mask = draw's factors, y = x * mask
    dropout_backward(d, ct, ct, t);      // dx = dy * mask
};

// FNV-1a, to turn a layer's state_dict path into its stream salt.
inline std::uint64_t dropout_name_hash(const std::string& name) {
    if (name.empty()) return 0;  // a lone layer and a Network<Dropout> named "" draw alike
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char ch : name) h = (h ^ ch) * 0x100000001b3ULL;
    return h;
}

template <class B>
class Dropout {
public:
    using backend = B;
    struct Context {
        Tensor<B> mask;  // 0 or 1/(1-p) per element; empty after an evaluation-mode forward
    };

    Dropout() : Dropout(0.5) {}  // not explicit: `Dropout<B> d = {};` and aggregates of layers work
    explicit Dropout(double p, std::uint64_t seed = 0) : p_(p), seed_(seed) {
        if (!(p >= 0.0 && p <= 1.0))  // also rejects NaN
            throw std::invalid_argument("Dropout: probability has to be between 0 and 1, but got " +
                                        std::to_string(p));
    }

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase phase) {
        static_assert(DropoutKernels<B>,
                      "Dropout: the backend has no dropout kernels (dropout_forward, dropout_backward); "
                      "include the backend's header");
        if (phase != Phase::train) {
            ctx = {};
            return x;
        }
        // Every training call takes the next counter, so consecutive calls draw different masks.
        const DropoutDraw draw{dropout_key(seed_, salt_, calls_++), p_, p_ < 1.0 ? 1.0 / (1.0 - p_) : 0.0};
        ctx.mask = Tensor<B>(dev, x.shape());
        Tensor<B> y(dev, x.shape());
        dropout_forward(dev, x, draw, ctx.mask, y);
        return y;
    }

    // y = x * mask is linear in x: dx = dy * mask, with the mask forward drew.
    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad) {
        if (ctx.mask.empty()) {  // evaluation mode: the identity
            if (dx) *dx = dy;
        } else if (dx) {
            if (!(dy.shape() == ctx.mask.shape()))
                throw shape_error("Dropout: output gradient of shape " + to_string(dy.shape()) +
                                  " does not match the output's shape " + to_string(ctx.mask.shape()));
            *dx = Tensor<B>(dev, dy.shape());
            dropout_backward(dev, ctx.mask, dy, *dx);
        }
        ctx = {};
    }

    // Dropout has no weights, but the Network's walk over the tree tells it its state_dict path
    // ("model.10.conv_block.3"), which salts its stream: copies of one block (Repeat) and the
    // same architecture under another name (G_A, G_B) then draw different masks from one seed.
    template <class V>
    void parameters(V&&, const std::string& prefix) { salt_ = dropout_name_hash(prefix); }

    // Restart the stream: the next training forward draws the mask of call `calls` of `seed`.
    // Resumed training restores each layer's calls(); a gradient check reseeds before each forward.
    void reseed(std::uint64_t seed, std::uint64_t calls = 0) {
        seed_ = seed;
        calls_ = calls;
    }

    double p() const { return p_; }
    std::uint64_t seed() const { return seed_; }
    std::uint64_t calls() const { return calls_; }  // training forwards so far (since reseed)
    std::uint64_t salt() const { return salt_; }

private:
    double p_;
    std::uint64_t seed_;
    std::uint64_t calls_ = 0;
    std::uint64_t salt_ = 0;
};

}  // namespace cyclegan
