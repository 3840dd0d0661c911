#pragma once
// Elementwise kernels driven by a functor with f(x) and df(x, y): the activations
// (layers/activations.hpp) and their backends (backend/cpu/pointwise.hpp, backend/cuda/pointwise.cuh).
#include "../core/tensor.hpp"

namespace cyclegan {

template <class B, class Op>
concept PointwiseKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct, const Op& op) {
    pointwise_forward(d, op, ct, t);              // y = f(x)
    pointwise_backward(d, op, ct, ct, ct, t);     // dx = dy * f'(x, y)
};

}  // namespace cyclegan
