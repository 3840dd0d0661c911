#pragma once
// Padding on the GPU (ops/padding.hpp): forward gathers; backward is written as a gather too,
// one thread per input pixel summing the output pixels that read it, so no two threads write the
// same value and no atomics are needed.
#include "../../ops/padding.hpp"
#include "cuda.cuh"

namespace cyclegan {

// y[p, oh, ow] = x[p, sh, sw] with sh = padded_source(oh - top, H), sw likewise; 0 where
// either is -1.
inline void pad2d_forward(cuda& dev, PaddingMode mode, const Tensor<cuda>& x, Tensor<cuda>& y, const Padding2d& pad) {
    const Shape xs = x.shape(), ys = y.shape();
    const int H = xs.h, W = xs.w, Ho = ys.h, Wo = ys.w, top = pad.top, left = pad.left;
    const float* px = x.data();
    float* py = y.data();
    for_each_index(dev.stream(), y.numel(), [=] __device__(std::size_t e) {
        const auto [p, oh, ow] = detail::pixel_of(e, Ho, Wo);
        const int sh = padded_source(oh - top, H, mode), sw = padded_source(ow - left, W, mode);
        py[e] = (sh < 0 || sw < 0) ? 0.0f : px[(p * H + sh) * W + sw];
    });
}

// The adjoint: dx[p, h, w] = sum of dy[p, oh, ow] over the output pixels that read (h, w). Only
// the interior pixel (h + top, w + left) and the pad rows and columns can, so each thread checks
// those, in increasing (oh, ow) as the CPU's scatter adds them, summing in double: the same
// result as the CPU's.   dx is overwritten.
inline void pad2d_backward(cuda& dev, PaddingMode mode, const Tensor<cuda>& dy, Tensor<cuda>& dx, const Padding2d& pad) {
    const Shape xs = dx.shape(), ys = dy.shape();
    const int H = xs.h, W = xs.w, Ho = ys.h, Wo = ys.w, top = pad.top, left = pad.left;
    // The trailing pads as the shapes imply them, so rows and columns stay inside dy.
    const int bottom = Ho - H - top, right = Wo - W - left;
    const float* pdy = dy.data();
    float* pdx = dx.data();
    for_each_index(dev.stream(), dx.numel(), [=] __device__(std::size_t e) {
        const auto [p, h, w] = detail::pixel_of(e, H, W);
        const float* in = pdy + p * Ho * Wo;
        double sum = 0;
        // a runs over the leading pad rows, the interior row, then the trailing pad rows.
        for (int a = 0; a <= top + bottom; ++a) {
            const int oh = a < top ? a : (a == top ? h + top : H + a - 1);
            if (padded_source(oh - top, H, mode) != h) continue;
            for (int b = 0; b <= left + right; ++b) {
                const int ow = b < left ? b : (b == left ? w + left : W + b - 1);
                if (padded_source(ow - left, W, mode) != w) continue;
                sum += in[static_cast<std::size_t>(oh) * Wo + ow];
            }
        }
        pdx[e] = static_cast<float>(sum);
    });
}

}  // namespace cyclegan
