#pragma once
// The convolution's contract, shared by Conv2d, ConvTranspose2d and every backend: where the
// kernel lands (Conv2dGeometry), what is read outside the image (ops/padding.hpp), and the kernels
// a backend provides (ConvKernels).
#include <string>

#include "../core/macros.hpp"
#include "../core/tensor.hpp"
#include "padding.hpp"

namespace cyclegan {

// A height/width pair that a single int also converts to, as PyTorch's `kernel_size=3`.
struct Pair2 {
    int h = 0, w = 0;
    constexpr Pair2(int both) : h(both), w(both) {}  // NOLINT: implicit like PyTorch's ints
    constexpr Pair2(int h_, int w_) : h(h_), w(w_) {}
    friend constexpr bool operator==(const Pair2&, const Pair2&) = default;
};

// What a convolution's caller knows of its weights. `fixed`: the same weights will run again, as in
// inference, so a backend may keep them transformed for its kernels (checked against their values
// on every call, so weights changed in place are still seen). `changing`: training, where every
// step changes them.
enum class ConvWeights { changing, fixed };

// Where a convolution's kernel lands: shared by Conv2d, ConvTranspose2d and every backend.
struct Conv2dGeometry {
    Pair2 kernel{1}, stride{1}, padding{0}, dilation{1};
    PaddingMode padding_mode = PaddingMode::zeros;

    constexpr int out_h(int h) const {
        return (h + 2 * padding.h - dilation.h * (kernel.h - 1) - 1) / stride.h + 1;
    }
    constexpr int out_w(int w) const {
        return (w + 2 * padding.w - dilation.w * (kernel.w - 1) - 1) / stride.w + 1;
    }
    // The input size a transposed convolution produces (output_padding resolves the ambiguity).
    constexpr int transposed_h(int h, int output_padding) const {
        return (h - 1) * stride.h - 2 * padding.h + dilation.h * (kernel.h - 1) + output_padding + 1;
    }
    constexpr int transposed_w(int w, int output_padding) const {
        return (w - 1) * stride.w - 2 * padding.w + dilation.w * (kernel.w - 1) + output_padding + 1;
    }
    // The pads as Padding2d: reflect and replicate read the image itself, so a ReflectionPad2d +
    // Conv2d pair needs no padded copy.
    constexpr Padding2d pads() const { return {padding.w, padding.w, padding.h, padding.h}; }
};

// The kernels Conv2d and ConvTranspose2d call (backend/cpu/conv.hpp, backend/cuda/conv.cuh).
//   conv2d_forward:         y = conv(x, w), overwritten
//   conv2d_backward_data:   dx = conv's adjoint applied to dy, overwritten (ConvTranspose2d's forward)
//   conv2d_backward_filter: dw += dy (x) x
//   add_channel_bias:       y[n, c] += b[c];  channel_bias_backward: db[c] += sum of dy[n, c]
template <class B>
concept ConvKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct, const Conv2dGeometry& g) {
    conv2d_forward(d, ct, ct, t, g);
    conv2d_backward_data(d, ct, ct, t, g);
    conv2d_backward_filter(d, ct, ct, t, g);
    add_channel_bias(d, t, ct);
    channel_bias_backward(d, ct, t);
};

}  // namespace cyclegan
