#pragma once
// Upsampling on the GPU (ops/upsample.hpp) with PyTorch's index formulas, shared with the CPU.
// Backward passes are gathers, one thread per input pixel, adding in the CPU's order in double.
#include <memory>

#include "../../ops/upsample.hpp"
#include "cuda.cuh"

namespace cyclegan {
namespace cuda_detail {

// The taps of every output row (th, ys.h entries) and column (tw, ys.w entries), computed on the
// device into scratch that the caller keeps alive until its kernel is queued.
struct LinearTapTables {
    std::shared_ptr<float> storage;
    const LinearTaps* th = nullptr;
    const LinearTaps* tw = nullptr;
};

inline LinearTapTables linear_tap_tables(cuda& dev, const Shape& xs, const Shape& ys, int scale, bool align_corners) {
    static_assert(sizeof(LinearTaps) % sizeof(float) == 0 && alignof(LinearTaps) <= 256);
    const std::size_t rows = static_cast<std::size_t>(ys.h), total = rows + static_cast<std::size_t>(ys.w);
    LinearTapTables t;
    t.storage = dev.allocate(total * (sizeof(LinearTaps) / sizeof(float)));  // pool memory: 256-byte aligned
    LinearTaps* taps = reinterpret_cast<LinearTaps*>(t.storage.get());
    t.th = taps;
    t.tw = taps + rows;
    const int H = xs.h, W = xs.w;
    for_each_index(dev.stream(), total, [=] __device__(std::size_t o) {
        taps[o] = o < rows ? linear_taps(static_cast<int>(o), H, scale, align_corners)
                           : linear_taps(static_cast<int>(o - rows), W, scale, align_corners);
    });
    return t;
}

}  // namespace cuda_detail

// y[p, oh, ow] = x[p, oh / s, ow / s]
inline void upsample_nearest2d_forward(cuda& dev, const Tensor<cuda>& x, Tensor<cuda>& y, int scale) {
    const Shape xs = x.shape(), ys = y.shape();
    const int H = xs.h, W = xs.w, Ho = ys.h, Wo = ys.w;
    const float* px = x.data();
    float* py = y.data();
    for_each_index(dev.stream(), y.numel(), [=] __device__(std::size_t e) {
        const auto [p, oh, ow] = detail::pixel_of(e, Ho, Wo);
        py[e] = px[(p * H + nearest_source(oh, scale)) * W + nearest_source(ow, scale)];
    });
}

// The adjoint: each input pixel's gradient is the sum of the s x s block above it.
inline void upsample_nearest2d_backward(cuda& dev, const Tensor<cuda>& dy, Tensor<cuda>& dx, int scale) {
    const Shape xs = dx.shape(), ys = dy.shape();
    const int H = xs.h, W = xs.w, Ho = ys.h, Wo = ys.w;
    const float* pdy = dy.data();
    float* pdx = dx.data();
    for_each_index(dev.stream(), dx.numel(), [=] __device__(std::size_t e) {
        const auto [p, h, w] = detail::pixel_of(e, H, W);
        const float* in = pdy + p * Ho * Wo;
        double sum = 0;
        for (int a = 0; a < scale; ++a) {
            const float* row = in + static_cast<std::size_t>(h * scale + a) * Wo + static_cast<std::size_t>(w) * scale;
            for (int b = 0; b < scale; ++b) sum += row[b];
        }
        pdx[e] = static_cast<float>(sum);
    });
}

// y[p, oh, ow] = bilinear(...) of the four pixels linear_taps(oh) and linear_taps(ow) name.
inline void upsample_bilinear2d_forward(cuda& dev, const Tensor<cuda>& x, Tensor<cuda>& y, int scale,
                                        bool align_corners) {
    const Shape xs = x.shape(), ys = y.shape();
    if (y.numel() == 0) return;
    const auto taps = cuda_detail::linear_tap_tables(dev, xs, ys, scale, align_corners);
    const LinearTaps *th = taps.th, *tw = taps.tw;
    const int H = xs.h, W = xs.w, Ho = ys.h, Wo = ys.w;
    const float* px = x.data();
    float* py = y.data();
    for_each_index(dev.stream(), y.numel(), [=] __device__(std::size_t e) {
        const auto [p, oh, ow] = detail::pixel_of(e, Ho, Wo);
        const LinearTaps h = th[oh], w = tw[ow];
        const float* in = px + p * H * W;
        const float* r0 = in + static_cast<std::size_t>(h.i0) * W;
        const float* r1 = in + static_cast<std::size_t>(h.i1) * W;
        py[e] = bilinear(tap_weights<float>(h), tap_weights<float>(w), r0[w.i0], r0[w.i1], r1[w.i0], r1[w.i1]);
    });
}

// The adjoint, as a gather: input row h is read only by output rows oh with (h - 1) s <= oh <
// (h + 2) s (linear_taps' source lies in (oh / s - 1, oh / s]), columns alike; the window below is
// one wider on each side and the taps decide. Shares are added in the CPU's scatter order (oh, ow,
// then the four terms), with tap_weights' rounded weights.   dx is overwritten.
inline void upsample_bilinear2d_backward(cuda& dev, const Tensor<cuda>& dy, Tensor<cuda>& dx, int scale,
                                         bool align_corners) {
    const Shape xs = dx.shape(), ys = dy.shape();
    if (dx.numel() == 0) return;
    const auto taps = cuda_detail::linear_tap_tables(dev, xs, ys, scale, align_corners);
    const LinearTaps *th = taps.th, *tw = taps.tw;
    const int H = xs.h, W = xs.w, Ho = ys.h, Wo = ys.w;
    const float* pdy = dy.data();
    float* pdx = dx.data();
    for_each_index(dev.stream(), dx.numel(), [=] __device__(std::size_t e) {
        const auto [p, h, w] = detail::pixel_of(e, H, W);
        const float* in = pdy + p * Ho * Wo;
        const int oh_begin = max(0, (h - 1) * scale - 1), oh_end = min(Ho, (h + 2) * scale + 1);
        const int ow_begin = max(0, (w - 1) * scale - 1), ow_end = min(Wo, (w + 2) * scale + 1);
        double sum = 0;
        for (int oh = oh_begin; oh < oh_end; ++oh) {
            const LinearTaps th_ = th[oh];
            const bool h0 = th_.i0 == h, h1 = th_.i1 == h;
            if (!h0 && !h1) continue;
            const TapWeights<float> lh = tap_weights<float>(th_);
            const double lh0 = lh.w0, lh1 = lh.w1;
            const float* row = in + static_cast<std::size_t>(oh) * Wo;
            for (int ow = ow_begin; ow < ow_end; ++ow) {
                const LinearTaps tw_ = tw[ow];
                const bool w0 = tw_.i0 == w, w1 = tw_.i1 == w;
                if (!w0 && !w1) continue;
                const TapWeights<float> lw = tap_weights<float>(tw_);
                const double lw0 = lw.w0, lw1 = lw.w1;
                const double g = row[ow];
                if (h0 && w0) sum += lh0 * lw0 * g;
                if (h0 && w1) sum += lh0 * lw1 * g;
                if (h1 && w0) sum += lh1 * lw0 * g;
                if (h1 && w1) sum += lh1 * lw1 * g;
            }
        }
        pdx[e] = static_cast<float>(sum);
    });
}

}  // namespace cyclegan
