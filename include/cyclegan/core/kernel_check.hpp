#pragma once
// Concepts that a layer uses to check, at compile time, that its backend has the kernels it calls.
// The kernels are free functions found by argument-dependent lookup on the backend type, so a
// backend adds a layer's kernels in its own header without touching the layer.
#include "conv_geometry.hpp"
#include "tensor.hpp"

namespace cyclegan {

template <class B>
concept ConvKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct, const Conv2dGeometry& g) {
    conv2d_forward(d, ct, ct, t, g);
    conv2d_backward_data(d, ct, ct, t, g);
    conv2d_backward_filter(d, ct, ct, t, g);
    add_channel_bias(d, t, ct);
    channel_bias_backward(d, ct, t);
};

inline constexpr const char* missing_kernels_hint =
    "include the backend's header (<cyclegan/cyclegan.hpp> for cyclegan::cpu)";

}  // namespace cyclegan

namespace cyclegan {

template <class B>
concept TensorOpKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct) {
    add(d, ct, ct, t);                 // out = a + b
    concat_channels(d, ct, ct, t);     // out = [a, b] along C
    split_channels(d, ct, t, t);       // the adjoint of concat_channels
};

}  // namespace cyclegan

namespace cyclegan {

// Elementwise kernels driven by a functor with f(x) and df(x, y) (see layers/activations.hpp).
template <class B, class Op>
concept PointwiseKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct, const Op& op) {
    pointwise_forward(d, op, ct, t);              // y = f(x)
    pointwise_backward(d, op, ct, ct, ct, t);     // dx = dy * f'(x, y)
};

}  // namespace cyclegan
