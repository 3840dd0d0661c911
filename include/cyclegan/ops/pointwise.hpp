#pragma once
// Elementwise kernels driven by a functor with f(x) and df(x, y): the activations
// (layers/activations.hpp) and their backends (backend/cpu/pointwise.hpp, backend/cuda/pointwise.cuh).
#include <string>

#include "../core/tensor.hpp"
#include "kernel_lookup.hpp"

namespace cyclegan {

template <class B, class Op>
concept PointwiseKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct, const Op& op) {
    pointwise_forward(d, op, ct, t);              // y = f(x)
    pointwise_backward(d, op, ct, ct, ct, t);     // dx = dy * f'(x, y)
};

// The kernels' contract: every tensor of x's shape.
template <class Tensor, class... More>
void check_pointwise(const char* who, const Tensor& x, const More&... more) {
    if (!((more.shape() == x.shape()) && ...))
        throw shape_error(std::string(who) + ": the tensors differ in shape from the input's " + to_string(x.shape()));
}

CYCLEGAN_KERNEL_LOOKUP(pointwise_forward)
CYCLEGAN_KERNEL_LOOKUP(pointwise_backward)

// The checked entry points (ops/kernel_lookup.hpp).
namespace ops {

// y = f(x)
template <class B, class Op>
void pointwise_forward(B& dev, const Op& op, const Tensor<B>& x, Tensor<B>& y) {
    check_pointwise("pointwise_forward", x, y), kernel_lookup::pointwise_forward(dev, op, x, y);
}

// dx = dy * f'(x, y); x: the input, or the output where op's derivative needs only it
// (needs_input() false).
template <class B, class Op>
void pointwise_backward(B& dev, const Op& op, const Tensor<B>& x, const Tensor<B>& y, const Tensor<B>& dy, Tensor<B>& dx) {
    check_pointwise("pointwise_backward", x, y, dy, dx), kernel_lookup::pointwise_backward(dev, op, x, y, dy, dx);
}

}  // namespace ops

}  // namespace cyclegan
