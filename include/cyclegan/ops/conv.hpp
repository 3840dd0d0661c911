#pragma once
// The convolution's contract, shared by Conv2d, ConvTranspose2d and every backend: where the
// kernel lands (Conv2dGeometry), what is read outside the image (ops/padding.hpp), which shapes it
// takes, the kernels a backend provides (ConvKernels) and their checked entry points (ops::).
#include <string>

#include "../core/macros.hpp"
#include "../core/tensor.hpp"
#include "kernel_lookup.hpp"
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

    // PyTorch's floor((n + 2 pad - dilation (k - 1) - 1) / stride) + 1; 0 when the kernel does not fit.
    constexpr int out_h(int h) const { return out_size(h, kernel.h, stride.h, padding.h, dilation.h); }
    constexpr int out_w(int w) const { return out_size(w, kernel.w, stride.w, padding.w, dilation.w); }
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

private:
    static constexpr int out_size(int n, int k, int stride, int pad, int dilation) {
        const int reach = n + 2 * pad - dilation * (k - 1) - 1;  // C++ divides towards 0, not down
        return reach < 0 ? 0 : reach / stride + 1;
    }
};

// The output shape of a convolution of `in` channels into `out` (Conv2d's forward) on input x:
// shape_error, naming `who`, when x has other channels, the kernel does not fit in the padded
// input, or the padding mode cannot pad x (check_padding).
inline Shape conv2d_output_shape(const char* who, const Shape& x, int in, int out, const Conv2dGeometry& g) {
    expect_channels(who, x, in);
    const Shape y{x.n, out, g.out_h(x.h), g.out_w(x.w)};
    if (y.h <= 0 || y.w <= 0) throw shape_error(std::string(who) + ": input " + to_string(x) + " is smaller than the kernel");
    check_padding(who, g.padding_mode, g.pads(), x);
    return y;
}

// The output shape of a transposed convolution of `in` channels into `out` on input x: the input
// of the convolution it is the adjoint of, with output_padding rows and columns more. shape_error
// when x has other channels or no pixels, or the padding leaves no output.
inline Shape conv_transpose2d_output_shape(const char* who, const Shape& x, int in, int out, const Conv2dGeometry& g,
                                           Pair2 output_padding) {
    expect_channels(who, x, in);
    const Shape y{x.n, out, g.transposed_h(x.h, output_padding.h), g.transposed_w(x.w, output_padding.w)};
    if (x.h <= 0 || x.w <= 0 || y.h <= 0 || y.w <= 0)
        throw shape_error(std::string(who) + ": input " + to_string(x) + " gives no output (" + to_string(y) +
                          "): its padding is more than the kernel reaches");
    return y;
}

// The kernels' contract, checked by the entry points below: the convolution of an x-shaped input
// by w ([O, C, kh, kw], the geometry's kernel) is y-shaped, for conv2d_forward (x, w, y),
// conv2d_backward_data (dx, w, dy) and conv2d_backward_filter (x, dw, dy) alike.
template <class Tensor>
void check_conv2d(const char* who, const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dGeometry& g) {
    const Shape ws = w.shape();
    if (ws.h != g.kernel.h || ws.w != g.kernel.w)
        throw shape_error(std::string(who) + ": weight " + to_string(ws) + " is not of the geometry's kernel " +
                          std::to_string(g.kernel.h) + "x" + std::to_string(g.kernel.w));
    const Shape expected = conv2d_output_shape(who, x.shape(), ws.c, ws.n, g);
    if (!(y.shape() == expected))
        throw shape_error(std::string(who) + ": input " + to_string(x.shape()) + " and weight " + to_string(ws) + " give " +
                          to_string(expected) + ", not " + to_string(y.shape()));
}

// A per-channel bias of y (or its gradient): one value per channel.
template <class Tensor>
void check_channel_bias(const char* who, const Tensor& y, const Tensor& b) {
    if (b.numel() != static_cast<std::size_t>(y.shape().c))
        throw shape_error(std::string(who) + ": " + std::to_string(b.numel()) + " biases for " + to_string(y.shape()));
}

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

CYCLEGAN_KERNEL_LOOKUP(conv2d_forward)
CYCLEGAN_KERNEL_LOOKUP(conv2d_backward_data)
CYCLEGAN_KERNEL_LOOKUP(conv2d_backward_filter)
CYCLEGAN_KERNEL_LOOKUP(add_channel_bias)
CYCLEGAN_KERNEL_LOOKUP(channel_bias_backward)

// The checked entry points (ops/kernel_lookup.hpp).
namespace ops {

// y = conv(x, w); a backend that can keep transformed weights (cpu does: its kernel takes
// ConvWeights) is told whether these will run again unchanged.
template <class B>
void conv2d_forward(B& dev, const Tensor<B>& x, const Tensor<B>& w, Tensor<B>& y, const Conv2dGeometry& g,
                    ConvWeights weights = ConvWeights::changing) {
    check_conv2d("conv2d_forward", x, w, y, g);
    using kernel_lookup::hidden::conv2d_forward;
    if constexpr (requires { conv2d_forward(dev, x, w, y, g, weights); }) conv2d_forward(dev, x, w, y, g, weights);
    else conv2d_forward(dev, x, w, y, g);
}

// dx = the convolution's adjoint applied to dy (overwritten): ConvTranspose2d's forward.
template <class B>
void conv2d_backward_data(B& dev, const Tensor<B>& dy, const Tensor<B>& w, Tensor<B>& dx, const Conv2dGeometry& g) {
    check_conv2d("conv2d_backward_data", dx, w, dy, g), kernel_lookup::conv2d_backward_data(dev, dy, w, dx, g);
}

// dw += dy (x) x
template <class B>
void conv2d_backward_filter(B& dev, const Tensor<B>& x, const Tensor<B>& dy, Tensor<B>& dw, const Conv2dGeometry& g) {
    check_conv2d("conv2d_backward_filter", x, dw, dy, g), kernel_lookup::conv2d_backward_filter(dev, x, dy, dw, g);
}

// y[n, c] += b[c]
template <class B>
void add_channel_bias(B& dev, Tensor<B>& y, const Tensor<B>& b) {
    check_channel_bias("add_channel_bias", y, b), kernel_lookup::add_channel_bias(dev, y, b);
}

// db[c] += sum of dy[n, c]
template <class B>
void channel_bias_backward(B& dev, const Tensor<B>& dy, Tensor<B>& db) {
    check_channel_bias("channel_bias_backward", dy, db), kernel_lookup::channel_bias_backward(dev, dy, db);
}

}  // namespace ops

}  // namespace cyclegan
