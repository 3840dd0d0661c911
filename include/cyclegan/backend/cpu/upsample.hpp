#pragma once
// Upsampling on the CPU (ops/upsample.hpp) with PyTorch's index formulas, a plane at a time.
#include <vector>

#include "../../ops/upsample.hpp"
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
    cpu_detail::for_each_plane(x, y, [&](const T* in, T* out) {
        for (int oh = 0; oh < ys.h; ++oh) {
            const T* src = in + static_cast<std::size_t>(nearest_source(oh, scale)) * xs.w;
            T* row = out + static_cast<std::size_t>(oh) * ys.w;
            for (int ow = 0; ow < ys.w; ++ow) row[ow] = src[nearest_source(ow, scale)];
        }
    });
}

// The adjoint: each input pixel was copied to exactly the s x s block above it, so its gradient
// is that block's sum. Written as a gather, one dx pixel per step, summed in double.
template <class T>
void upsample_nearest2d_backward(basic_cpu<T>&, const CpuTensor<T>& dy, CpuTensor<T>& dx, int scale) {
    const Shape xs = dx.shape(), ys = dy.shape();
    cpu_detail::for_each_plane(dy, dx, [&](const T* in, T* out) {
        for (int h = 0; h < xs.h; ++h)
            for (int w = 0; w < xs.w; ++w) {
                double sum = 0;
                for (int a = 0; a < scale; ++a) {
                    const T* row = in + static_cast<std::size_t>(h * scale + a) * ys.w + w * scale;
                    for (int b = 0; b < scale; ++b) sum += row[b];
                }
                out[static_cast<std::size_t>(h) * xs.w + w] = static_cast<T>(sum);
            }
    });
}

// y[p, oh, ow] = bilinear(...) of the four pixels linear_taps(oh) and linear_taps(ow) name.
template <class T>
void upsample_bilinear2d_forward(basic_cpu<T>&, const CpuTensor<T>& x, CpuTensor<T>& y, int scale,
                                 bool align_corners) {
    const Shape xs = x.shape(), ys = y.shape();
    const auto th = cpu_detail::linear_tap_table(xs.h, scale, align_corners);
    const auto tw = cpu_detail::linear_tap_table(xs.w, scale, align_corners);
    cpu_detail::for_each_plane(x, y, [&](const T* in, T* out) {
        for (int oh = 0; oh < ys.h; ++oh) {
            const LinearTaps h = th[oh];
            const T* r0 = in + static_cast<std::size_t>(h.i0) * xs.w;
            const T* r1 = in + static_cast<std::size_t>(h.i1) * xs.w;
            const TapWeights<T> lh = tap_weights<T>(h);
            T* row = out + static_cast<std::size_t>(oh) * ys.w;
            for (int ow = 0; ow < ys.w; ++ow) {
                const LinearTaps w = tw[ow];
                row[ow] = bilinear(lh, tap_weights<T>(w), r0[w.i0], r0[w.i1], r1[w.i0], r1[w.i1]);
            }
        }
    });
}

// The adjoint: each dy pixel adds its four weighted shares back onto the pixels it was read from
// (neighbouring outputs share inputs: scatter_each_plane sums in double). With tap_weights'
// rounded weights it is forward's exact transpose.   dx is overwritten.
template <class T>
void upsample_bilinear2d_backward(basic_cpu<T>&, const CpuTensor<T>& dy, CpuTensor<T>& dx, int scale,
                                  bool align_corners) {
    const Shape xs = dx.shape(), ys = dy.shape();
    const auto th = cpu_detail::linear_tap_table(xs.h, scale, align_corners);
    const auto tw = cpu_detail::linear_tap_table(xs.w, scale, align_corners);
    cpu_detail::scatter_each_plane(dy, dx, [&](const T* in, double* acc) {
        for (int oh = 0; oh < ys.h; ++oh) {
            const LinearTaps h = th[oh];
            const TapWeights<T> lh = tap_weights<T>(h);
            const double lh0 = lh.w0, lh1 = lh.w1;
            double* r0 = acc + static_cast<std::size_t>(h.i0) * xs.w;
            double* r1 = acc + static_cast<std::size_t>(h.i1) * xs.w;
            const T* row = in + static_cast<std::size_t>(oh) * ys.w;
            for (int ow = 0; ow < ys.w; ++ow) {
                const LinearTaps w = tw[ow];
                const TapWeights<T> lw = tap_weights<T>(w);
                const double lw0 = lw.w0, lw1 = lw.w1;
                const double g = row[ow];
                r0[w.i0] += lh0 * lw0 * g;
                r0[w.i1] += lh0 * lw1 * g;
                r1[w.i0] += lh1 * lw0 * g;
                r1[w.i1] += lh1 * lw1 * g;
            }
        }
    });
}

}  // namespace cyclegan
