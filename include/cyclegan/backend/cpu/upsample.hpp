#pragma once
// Upsampling on the CPU (layers/upsample.hpp) with PyTorch's index formulas. One (n, c) plane per
// iteration, so threads never touch the same plane.
#include <vector>

#include "../../layers/upsample.hpp"
#include "cpu.hpp"

namespace cyclegan {
namespace cpu_detail {

// The taps of every output coordinate along one axis, shared by every plane.
inline std::vector<LinearTaps> linear_tap_table(int in, int scale, bool align_corners) {
    std::vector<LinearTaps> t(static_cast<std::size_t>(in) * scale);
    for (int o = 0; o < in * scale; ++o) t[o] = linear_taps(o, in, scale, align_corners);
    return t;
}

}  // namespace cpu_detail

// y[p, oh, ow] = x[p, oh / s, ow / s]
template <class T>
void upsample_nearest2d_forward(basic_cpu<T>&, const CpuTensor<T>& x, CpuTensor<T>& y, int scale) {
    const Shape xs = x.shape(), ys = y.shape();
    const int planes = xs.n * xs.c;
    CYCLEGAN_PARALLEL_FOR(y.numel())
    for (int p = 0; p < planes; ++p) {
        const T* in = x.data() + static_cast<std::size_t>(p) * xs.plane();
        T* out = y.data() + static_cast<std::size_t>(p) * ys.plane();
        for (int oh = 0; oh < ys.h; ++oh) {
            const T* src = in + static_cast<std::size_t>(nearest_source(oh, scale)) * xs.w;
            T* row = out + static_cast<std::size_t>(oh) * ys.w;
            for (int ow = 0; ow < ys.w; ++ow) row[ow] = src[nearest_source(ow, scale)];
        }
    }
}

// The adjoint: each input pixel was copied to exactly the s x s block above it, so its gradient
// is that block's sum. Written as a gather, one dx pixel per step, summed in double.
template <class T>
void upsample_nearest2d_backward(basic_cpu<T>&, const CpuTensor<T>& dy, CpuTensor<T>& dx, int scale) {
    const Shape xs = dx.shape(), ys = dy.shape();
    const int planes = xs.n * xs.c;
    CYCLEGAN_PARALLEL_FOR(dy.numel())
    for (int p = 0; p < planes; ++p) {
        const T* in = dy.data() + static_cast<std::size_t>(p) * ys.plane();
        T* out = dx.data() + static_cast<std::size_t>(p) * xs.plane();
        for (int h = 0; h < xs.h; ++h)
            for (int w = 0; w < xs.w; ++w) {
                double sum = 0;
                for (int a = 0; a < scale; ++a) {
                    const T* row = in + static_cast<std::size_t>(h * scale + a) * ys.w + w * scale;
                    for (int b = 0; b < scale; ++b) sum += row[b];
                }
                out[static_cast<std::size_t>(h) * xs.w + w] = static_cast<T>(sum);
            }
    }
}

// y[p, oh, ow] = (1 - lh) * ((1 - lw) x[h0, w0] + lw x[h0, w1]) + lh * ((1 - lw) x[h1, w0] + lw x[h1, w1])
// with (h0, h1, lh) = linear_taps(oh), (w0, w1, lw) = linear_taps(ow): PyTorch's order of terms.
template <class T>
void upsample_bilinear2d_forward(basic_cpu<T>&, const CpuTensor<T>& x, CpuTensor<T>& y, int scale,
                                 bool align_corners) {
    const Shape xs = x.shape(), ys = y.shape();
    const auto th = cpu_detail::linear_tap_table(xs.h, scale, align_corners);
    const auto tw = cpu_detail::linear_tap_table(xs.w, scale, align_corners);
    const int planes = xs.n * xs.c;
    CYCLEGAN_PARALLEL_FOR(y.numel())
    for (int p = 0; p < planes; ++p) {
        const T* in = x.data() + static_cast<std::size_t>(p) * xs.plane();
        T* out = y.data() + static_cast<std::size_t>(p) * ys.plane();
        for (int oh = 0; oh < ys.h; ++oh) {
            const LinearTaps h = th[oh];
            const T* r0 = in + static_cast<std::size_t>(h.i0) * xs.w;
            const T* r1 = in + static_cast<std::size_t>(h.i1) * xs.w;
            const T lh1 = static_cast<T>(h.lambda), lh0 = T(1) - lh1;
            T* row = out + static_cast<std::size_t>(oh) * ys.w;
            for (int ow = 0; ow < ys.w; ++ow) {
                const LinearTaps w = tw[ow];
                const T lw1 = static_cast<T>(w.lambda), lw0 = T(1) - lw1;
                row[ow] = lh0 * (lw0 * r0[w.i0] + lw1 * r0[w.i1]) + lh1 * (lw0 * r1[w.i0] + lw1 * r1[w.i1]);
            }
        }
    }
}

// The adjoint: each dy pixel adds its four weighted shares back onto the pixels it was read from.
// Neighbouring outputs share inputs, so each plane scatters into a double scratch plane and
// rounds once. The weights are rounded to T as forward used them, so this is forward's exact
// transpose.   dx is overwritten.
template <class T>
void upsample_bilinear2d_backward(basic_cpu<T>&, const CpuTensor<T>& dy, CpuTensor<T>& dx, int scale,
                                  bool align_corners) {
    const Shape xs = dx.shape(), ys = dy.shape();
    const auto th = cpu_detail::linear_tap_table(xs.h, scale, align_corners);
    const auto tw = cpu_detail::linear_tap_table(xs.w, scale, align_corners);
    const int planes = xs.n * xs.c;
    CYCLEGAN_PARALLEL_FOR(dy.numel())
    for (int p = 0; p < planes; ++p) {
        std::vector<double> acc(xs.plane(), 0.0);
        const T* in = dy.data() + static_cast<std::size_t>(p) * ys.plane();
        for (int oh = 0; oh < ys.h; ++oh) {
            const LinearTaps h = th[oh];
            const double lh1 = static_cast<T>(h.lambda), lh0 = T(1) - static_cast<T>(h.lambda);
            double* r0 = acc.data() + static_cast<std::size_t>(h.i0) * xs.w;
            double* r1 = acc.data() + static_cast<std::size_t>(h.i1) * xs.w;
            const T* row = in + static_cast<std::size_t>(oh) * ys.w;
            for (int ow = 0; ow < ys.w; ++ow) {
                const LinearTaps w = tw[ow];
                const double lw1 = static_cast<T>(w.lambda), lw0 = T(1) - static_cast<T>(w.lambda);
                const double g = row[ow];
                r0[w.i0] += lh0 * lw0 * g;
                r0[w.i1] += lh0 * lw1 * g;
                r1[w.i0] += lh1 * lw0 * g;
                r1[w.i1] += lh1 * lw1 * g;
            }
        }
        T* out = dx.data() + static_cast<std::size_t>(p) * xs.plane();
        for (std::size_t i = 0; i < xs.plane(); ++i) out[i] = static_cast<T>(acc[i]);
    }
}

}  // namespace cyclegan
