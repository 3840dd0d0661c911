#pragma once
// Dropout's contract. The mask comes from a counter-based random function rather than a stateful
// generator: element i of forward call c of a layer seeded s is dropped when
// uniform(key(s, layer, c), i) < p. It is a pure function of those numbers, so every backend,
// thread count and loop order draws the same mask, and a run can be replayed from (seed, call
// counter) alone.
#include <cstdint>

#include "../core/macros.hpp"
#include "../core/random.hpp"
#include "../core/tensor.hpp"
#include "kernel_lookup.hpp"

namespace cyclegan {

// The key of one forward call's stream: random_key(seed, {salt, call}), the layer's state_dict
// path salting it (layers/dropout.hpp) and the call counting its training forwards.
constexpr std::uint64_t dropout_key(std::uint64_t seed, std::uint64_t salt, std::uint64_t call) {
    return random_key(seed, {salt, call});
}

// What a kernel needs to draw one call's mask.
struct DropoutDraw {
    std::uint64_t key = 0;  // dropout_key(seed, salt, call)
    double p = 0.5;         // probability of dropping an element
    double scale = 2.0;     // 1/(1-p), the factor on kept elements (0 when p = 1: all dropped)

    // The mask value of element `index` (flat NCHW): 0 or 1/(1-p). The element's uniform draw is
    // word `index` of the call's stream, so any backend, thread count and loop order draws it alike.
    template <class T>
    CYCLEGAN_HD T factor(std::uint64_t index) const {
        return random_uniform(key, index) < p ? T(0) : T(scale);
    }
};

// The kernels Dropout calls (backend/cpu/dropout.hpp for cyclegan::cpu).
template <class B>
concept DropoutKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct, const DropoutDraw& draw) {
    dropout_forward(d, ct, draw, t, t);  // mask = draw's factors, y = x * mask
    dropout_backward(d, ct, ct, t);      // dx = dy * mask
};

// The kernels' contract: mask and y as x (forward); dy and dx as the mask (backward).
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

CYCLEGAN_KERNEL_LOOKUP(dropout_forward)
CYCLEGAN_KERNEL_LOOKUP(dropout_backward)

// The checked entry points (ops/kernel_lookup.hpp).
namespace ops {

// mask = the draw's factors, y = x * mask
template <class B>
void dropout_forward(B& dev, const Tensor<B>& x, const DropoutDraw& draw, Tensor<B>& mask, Tensor<B>& y) {
    check_dropout_forward(x, mask, y), kernel_lookup::dropout_forward(dev, x, draw, mask, y);
}

// dx = dy * mask
template <class B>
void dropout_backward(B& dev, const Tensor<B>& mask, const Tensor<B>& dy, Tensor<B>& dx) {
    check_dropout_backward(mask, dy, dx), kernel_lookup::dropout_backward(dev, mask, dy, dx);
}

}  // namespace ops

}  // namespace cyclegan
