#pragma once
// nn.Upsample with an integer scale_factor: mode 'nearest' or 'bilinear' (align_corners False,
// PyTorch's default, or True). The index formulas below are PyTorch 1.13's, shared by every
// backend; the kernels only gather (forward) and scatter (backward) with them.
#include <stdexcept>
#include <string>

#include "../core/concepts.hpp"
#include "../core/macros.hpp"

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

template <class B>
concept UpsampleKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct, int s, bool a) {
    upsample_nearest2d_forward(d, ct, t, s);        // y preallocated, s times x's size
    upsample_nearest2d_backward(d, ct, t, s);       // dx preallocated, overwritten
    upsample_bilinear2d_forward(d, ct, t, s, a);
    upsample_bilinear2d_backward(d, ct, t, s, a);
};

template <class B>
class Upsample {
public:
    using backend = B;
    struct Context {
        Shape x;  // the gather needs only the input's shape to be undone
    };

    explicit Upsample(UpsampleOptions o = {}) : o_(o) {
        if (o.scale_factor < 1)
            throw std::invalid_argument("Upsample: scale_factor must be a positive integer, got " +
                                        std::to_string(o.scale_factor));
        if (o.align_corners && o.mode == UpsampleMode::nearest)
            throw std::invalid_argument("Upsample: align_corners can only be set with mode bilinear");
    }

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase) {
        static_assert(UpsampleKernels<B>,
                      "Upsample: the backend has no upsampling kernels (upsample_nearest2d_*, "
                      "upsample_bilinear2d_*); include the backend's header");
        const Shape s = x.shape();
        if (s.h <= 0 || s.w <= 0)
            throw shape_error("Upsample: input of shape " + to_string(s) + " has no pixels");
        const int k = o_.scale_factor;
        Tensor<B> y(dev, Shape{s.n, s.c, s.h * k, s.w * k});
        if (o_.mode == UpsampleMode::nearest)
            upsample_nearest2d_forward(dev, x, y, k);
        else
            upsample_bilinear2d_forward(dev, x, y, k, o_.align_corners);
        ctx.x = s;
        return y;
    }

    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad) {
        if (dx) {
            const Shape s = ctx.x;
            const int k = o_.scale_factor;
            if (!(dy.shape() == Shape{s.n, s.c, s.h * k, s.w * k}))
                throw shape_error("Upsample: output gradient of shape " + to_string(dy.shape()) +
                                  " does not match the output for input " + to_string(s));
            *dx = Tensor<B>(dev, s);
            if (o_.mode == UpsampleMode::nearest)
                upsample_nearest2d_backward(dev, dy, *dx, k);
            else
                upsample_bilinear2d_backward(dev, dy, *dx, k, o_.align_corners);
        }
        ctx = {};
    }

    const UpsampleOptions& options() const { return o_; }

private:
    UpsampleOptions o_;
};

}  // namespace cyclegan
