#pragma once
// Upsampling's contract: nn.Upsample's index formulas (PyTorch 1.13's), shared by every backend,
// and the kernels a backend provides; the kernels only gather (forward) and scatter (backward)
// with these formulas.
#include <string>

#include "../core/macros.hpp"
#include "../core/tensor.hpp"
#include "kernel_lookup.hpp"

namespace cyclegan {

enum class UpsampleMode { nearest, bilinear };

struct UpsampleOptions {
    int scale_factor = 2;
    UpsampleMode mode = UpsampleMode::nearest;
    bool align_corners = false;  // bilinear only, as in PyTorch
};

// Output pixel dst copies input pixel floor(dst / s).
CYCLEGAN_HD inline int nearest_source(int dst, int scale) { return dst / scale; }

// Output pixel dst along one axis is (1 - lambda) * x[i0] + lambda * x[i1].
struct LinearTaps {
    int i0 = 0, i1 = 0;
    double lambda = 0;
};

// align_corners False: pixel centres line up, src = (dst + 0.5) / s - 0.5, clamped at 0 so the
// first half-pixel copies the edge. align_corners True: the corner pixels line up,
// src = dst * (in - 1) / (out - 1). i1 stays in the image at the far edge.
CYCLEGAN_HD inline LinearTaps linear_taps(int dst, int in, int scale, bool align_corners) {
    const int out = in * scale;
    double src;
    if (align_corners) {
        src = out > 1 ? dst * static_cast<double>(in - 1) / (out - 1) : 0.0;
    } else {
        src = (dst + 0.5) / scale - 0.5;
        if (src < 0) src = 0;
    }
    int i0 = static_cast<int>(src);  // floor, as src >= 0
    if (i0 > in - 1) i0 = in - 1;
    const int i1 = i0 + 1 < in ? i0 + 1 : in - 1;
    return {i0, i1, src - i0};
}

// A tap's two weights as forward uses them, rounded to T: (1 - lambda, lambda). Backward uses the
// same rounded weights, so it is forward's exact transpose.
template <class T>
struct TapWeights {
    T w0, w1;
};
template <class T>
CYCLEGAN_HD TapWeights<T> tap_weights(const LinearTaps& t) {
    const T l1 = static_cast<T>(t.lambda);
    return {T(1) - l1, l1};
}

// (1 - lh) ((1 - lw) x[h0, w0] + lw x[h0, w1]) + lh ((1 - lw) x[h1, w0] + lw x[h1, w1]): PyTorch's
// order of terms.
template <class T>
CYCLEGAN_HD T bilinear(TapWeights<T> h, TapWeights<T> w, T x00, T x01, T x10, T x11) {
    return h.w0 * (w.w0 * x00 + w.w1 * x01) + h.w1 * (w.w0 * x10 + w.w1 * x11);
}

// x scaled by `scale` in height and width: shape_error naming `who` for an input without pixels.
inline Shape upsampled_shape(const char* who, const Shape& x, int scale) {
    if (x.h <= 0 || x.w <= 0) throw shape_error(std::string(who) + ": input of shape " + to_string(x) + " has no pixels");
    return {x.n, x.c, x.h * scale, x.w * scale};
}

// The kernels' contract: a positive integer scale, and y of x's upsampled shape.
template <class Tensor>
void check_upsample(const char* who, const Tensor& x, const Tensor& y, int scale) {
    if (scale < 1) throw shape_error(std::string(who) + ": scale " + std::to_string(scale) + " is not a positive integer");
    const Shape expected = upsampled_shape(who, x.shape(), scale);
    if (!(y.shape() == expected))
        throw shape_error(std::string(who) + ": " + to_string(x.shape()) + " scaled by " + std::to_string(scale) + " is " +
                          to_string(expected) + ", not " + to_string(y.shape()));
}

template <class B>
concept UpsampleKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct, int s, bool a) {
    upsample_nearest2d_forward(d, ct, t, s);        // y preallocated, s times x's size
    upsample_nearest2d_backward(d, ct, t, s);       // dx preallocated, overwritten
    upsample_bilinear2d_forward(d, ct, t, s, a);
    upsample_bilinear2d_backward(d, ct, t, s, a);
};

CYCLEGAN_KERNEL_LOOKUP(upsample_nearest2d_forward)
CYCLEGAN_KERNEL_LOOKUP(upsample_nearest2d_backward)
CYCLEGAN_KERNEL_LOOKUP(upsample_bilinear2d_forward)
CYCLEGAN_KERNEL_LOOKUP(upsample_bilinear2d_backward)

// The checked entry points (ops/kernel_lookup.hpp): y = x upsampled (y preallocated); dx = the
// adjoint applied to dy (dx preallocated, overwritten).
namespace ops {

template <class B>
void upsample_nearest2d_forward(B& dev, const Tensor<B>& x, Tensor<B>& y, int scale) {
    check_upsample("upsample_nearest2d_forward", x, y, scale), kernel_lookup::upsample_nearest2d_forward(dev, x, y, scale);
}

template <class B>
void upsample_nearest2d_backward(B& dev, const Tensor<B>& dy, Tensor<B>& dx, int scale) {
    check_upsample("upsample_nearest2d_backward", dx, dy, scale), kernel_lookup::upsample_nearest2d_backward(dev, dy, dx, scale);
}

template <class B>
void upsample_bilinear2d_forward(B& dev, const Tensor<B>& x, Tensor<B>& y, int scale, bool align_corners) {
    check_upsample("upsample_bilinear2d_forward", x, y, scale);
    kernel_lookup::upsample_bilinear2d_forward(dev, x, y, scale, align_corners);
}

template <class B>
void upsample_bilinear2d_backward(B& dev, const Tensor<B>& dy, Tensor<B>& dx, int scale, bool align_corners) {
    check_upsample("upsample_bilinear2d_backward", dx, dy, scale);
    kernel_lookup::upsample_bilinear2d_backward(dev, dy, dx, scale, align_corners);
}

}  // namespace ops

}  // namespace cyclegan
