#pragma once
// Dropout's contract. The mask comes from a counter-based random function rather than a stateful
// generator: element i of forward call c of a layer seeded s is dropped when
// uniform(key(s, layer, c), i) < p. It is a pure function of those numbers, so every backend,
// thread count and loop order draws the same mask, and a run can be replayed from (seed, call
// counter) alone.
#include <cstdint>

#include "../core/macros.hpp"
#include "../core/tensor.hpp"

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

// The shapes the kernels take: mask and y as x (forward); dy and dx as the mask (backward).
template <class Tensor>
void check_dropout_forward(const Tensor& x, const Tensor& mask, const Tensor& y) {
    if (!(mask.shape() == x.shape()) || !(y.shape() == x.shape()))
        throw shape_error("dropout_forward: mask " + to_string(mask.shape()) + " and output " + to_string(y.shape()) +
                          " must have the input's shape " + to_string(x.shape()));
}
template <class Tensor>
void check_dropout_backward(const Tensor& mask, const Tensor& dy, const Tensor& dx) {
    if (!(dy.shape() == mask.shape()) || !(dx.shape() == mask.shape()))
        throw shape_error("dropout_backward: gradients " + to_string(dy.shape()) + " and " + to_string(dx.shape()) +
                          " must have the mask's shape " + to_string(mask.shape()));
}

}  // namespace cyclegan
