#pragma once
// The padding rule, the one home of what is read outside an image: ReflectionPad2d,
// ReplicationPad2d and ZeroPad2d (layers/padding.hpp), Conv2d's padding_mode (ops/conv.hpp), the
// CPU's convolution kernels, the reference's --padding_type and the translator's size padding all
// use padded_source and padding_fits below.
#include <string>

#include "../core/macros.hpp"
#include "../core/tensor.hpp"
#include "kernel_lookup.hpp"

namespace cyclegan {

// PyTorch's Conv2d(padding_mode=...): zeros | reflect | replicate. Also the reference's
// --padding_type (spelled "zero" there; models/options.hpp holds the names).
enum class PaddingMode { zeros, reflect, replicate };

// The input index that index i of a padded axis of length n copies (i may lie in the padding:
// i < 0 or i >= n), or -1 for a zero.
//   reflect:   ... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ...  mirror about the edge pixel, not repeated
//   replicate: ... 0 0 | 0 1 2 ... n-1 | n-1 n-1 ...  the edge pixel repeated
//   zeros:     ... z z | 0 1 2 ... n-1 | z z ...
// Reflect bounces once, so it needs the pad to be less than n (padding_fits).
CYCLEGAN_HD constexpr int padded_source(int i, int n, PaddingMode mode) {
    if (i >= 0 && i < n) return i;
    switch (mode) {
        case PaddingMode::reflect: return i < 0 ? -i : 2 * (n - 1) - i;
        case PaddingMode::replicate: return i < 0 ? 0 : n - 1;
        case PaddingMode::zeros: break;
    }
    return -1;
}

// PyTorch's rule on the pad of one side of an axis of length n.
constexpr bool padding_fits(PaddingMode mode, int pad, int n) {
    switch (mode) {
        case PaddingMode::reflect: return pad < n;  // one bounce must land inside
        case PaddingMode::replicate: return n > 0;
        case PaddingMode::zeros: break;
    }
    return true;
}

// What error messages call each mode: PyTorch's layer, and the sentence that says padding_fits.
struct PaddingModeNames {
    const char* layer;
    const char* rule;
};
constexpr PaddingModeNames padding_names(PaddingMode mode) {
    switch (mode) {
        case PaddingMode::reflect: return {"ReflectionPad2d", "each pad must be less than the input size"};
        case PaddingMode::replicate: return {"ReplicationPad2d", "the input must not be empty"};
        case PaddingMode::zeros: break;
    }
    return {"ZeroPad2d", ""};
}

// Pads on each side, in PyTorch's 4-tuple order (left, right, top, bottom).
struct Padding2d {
    int left = 0, right = 0, top = 0, bottom = 0;

    constexpr int out_h(int h) const { return h + top + bottom; }
    constexpr int out_w(int w) const { return w + left + right; }
    friend constexpr bool operator==(const Padding2d&, const Padding2d&) = default;

    std::string describe() const {
        return "left " + std::to_string(left) + ", right " + std::to_string(right) + ", top " +
               std::to_string(top) + ", bottom " + std::to_string(bottom);
    }
};

// Throws shape_error naming `who` unless every side of `pad` obeys the mode's rule on input `s`.
inline void check_padding(const char* who, PaddingMode mode, const Padding2d& pad, const Shape& s) {
    if (!(padding_fits(mode, pad.left, s.w) && padding_fits(mode, pad.right, s.w) &&
          padding_fits(mode, pad.top, s.h) && padding_fits(mode, pad.bottom, s.h)))
        throw shape_error(std::string(who) + ": " + padding_names(mode).rule + ", got padding (" + pad.describe() +
                          ") for input of shape " + to_string(s));
}

// The shape of x padded by `pad` (ReflectionPad2d, ReplicationPad2d, ZeroPad2d): shape_error naming
// `who` where the mode cannot pad x.
inline Shape padded_shape(const char* who, PaddingMode mode, const Padding2d& pad, const Shape& x) {
    check_padding(who, mode, pad, x);
    return {x.n, x.c, pad.out_h(x.h), pad.out_w(x.w)};
}

// The kernels' contract: pads of at least 0 that the mode can apply to x, and y of x's padded shape.
template <class Tensor>
void check_pad2d(const char* who, PaddingMode mode, const Tensor& x, const Tensor& y, const Padding2d& pad) {
    if (pad.left < 0 || pad.right < 0 || pad.top < 0 || pad.bottom < 0)
        throw shape_error(std::string(who) + ": negative padding (" + pad.describe() + ")");
    const Shape expected = padded_shape(who, mode, pad, x.shape());
    if (!(y.shape() == expected))
        throw shape_error(std::string(who) + ": " + to_string(x.shape()) + " padded by (" + pad.describe() + ") is " +
                          to_string(expected) + ", not " + to_string(y.shape()));
}

// The kernels (backend/cpu/pad.hpp, backend/cuda/pad.cuh):
//   forward:  y[p, oh, ow] = x[p, sh, sw] with sh = padded_source(oh - top, H), sw likewise; 0 where -1
//   backward: its adjoint, dx[p, h, w] = sum of dy over the output pixels that read (h, w)
template <class B>
concept PadKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct, PaddingMode m, const Padding2d& p) {
    pad2d_forward(d, m, ct, t, p);   // y preallocated, padded shape
    pad2d_backward(d, m, ct, t, p);  // dx preallocated, input shape, overwritten
};

CYCLEGAN_KERNEL_LOOKUP(pad2d_forward)
CYCLEGAN_KERNEL_LOOKUP(pad2d_backward)

// The checked entry points (ops/kernel_lookup.hpp).
namespace ops {

// y = x padded (y of x's padded shape)
template <class B>
void pad2d_forward(B& dev, PaddingMode mode, const Tensor<B>& x, Tensor<B>& y, const Padding2d& pad) {
    check_pad2d("pad2d_forward", mode, x, y, pad), kernel_lookup::pad2d_forward(dev, mode, x, y, pad);
}

// dx = the padding's adjoint applied to dy (dx of the input's shape, overwritten)
template <class B>
void pad2d_backward(B& dev, PaddingMode mode, const Tensor<B>& dy, Tensor<B>& dx, const Padding2d& pad) {
    check_pad2d("pad2d_backward", mode, dx, dy, pad), kernel_lookup::pad2d_backward(dev, mode, dy, dx, pad);
}

}  // namespace ops

}  // namespace cyclegan
