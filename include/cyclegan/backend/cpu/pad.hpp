#pragma once
// Padding on the CPU (layers/padding.hpp): forward gathers, backward scatters. Both work one
// (n, c) plane per iteration, so threads never touch the same plane.
#include <vector>

#include "../../layers/padding.hpp"
#include "cpu.hpp"

namespace cyclegan {
namespace cpu_detail {

// src[o] = mode.source(o - before, n) for every padded coordinate o: one table per axis, shared
// by every plane, so the per-pixel work is two loads.
template <class Mode>
std::vector<int> pad_sources(const Mode& mode, int n, int before, int out) {
    std::vector<int> src(static_cast<std::size_t>(out));
    for (int o = 0; o < out; ++o) src[o] = mode.source(o - before, n);
    return src;
}

}  // namespace cpu_detail

// y[p, oh, ow] = x[p, sh, sw] with sh = source(oh - top, H), sw = source(ow - left, W); 0 where
// either is -1.
template <class T, class Mode>
void pad2d_forward(basic_cpu<T>&, const Mode& mode, const CpuTensor<T>& x, CpuTensor<T>& y,
                   const Padding2d& pad) {
    const Shape xs = x.shape(), ys = y.shape();
    const auto src_h = cpu_detail::pad_sources(mode, xs.h, pad.top, ys.h);
    const auto src_w = cpu_detail::pad_sources(mode, xs.w, pad.left, ys.w);
    const int planes = xs.n * xs.c;
    CYCLEGAN_PARALLEL_FOR(y.numel())
    for (int p = 0; p < planes; ++p) {
        const T* in = x.data() + static_cast<std::size_t>(p) * xs.plane();
        T* out = y.data() + static_cast<std::size_t>(p) * ys.plane();
        for (int oh = 0; oh < ys.h; ++oh) {
            T* row = out + static_cast<std::size_t>(oh) * ys.w;
            const int sh = src_h[oh];
            for (int ow = 0; ow < ys.w; ++ow) {
                const int sw = src_w[ow];
                row[ow] = (sh < 0 || sw < 0) ? T(0) : in[static_cast<std::size_t>(sh) * xs.w + sw];
            }
        }
    }
}

// The adjoint: dx[p, sh, sw] = sum of dy[p, oh, ow] over every output pixel that read it. An
// edge pixel can be read many times (replication repeats it pad + 1 times per axis), so each
// plane sums into a double scratch plane before rounding once.   dx is overwritten.
template <class T, class Mode>
void pad2d_backward(basic_cpu<T>&, const Mode& mode, const CpuTensor<T>& dy, CpuTensor<T>& dx,
                    const Padding2d& pad) {
    const Shape xs = dx.shape(), ys = dy.shape();
    const auto src_h = cpu_detail::pad_sources(mode, xs.h, pad.top, ys.h);
    const auto src_w = cpu_detail::pad_sources(mode, xs.w, pad.left, ys.w);
    const int planes = xs.n * xs.c;
    CYCLEGAN_PARALLEL_FOR(dy.numel())
    for (int p = 0; p < planes; ++p) {
        std::vector<double> acc(xs.plane(), 0.0);
        const T* in = dy.data() + static_cast<std::size_t>(p) * ys.plane();
        for (int oh = 0; oh < ys.h; ++oh) {
            const int sh = src_h[oh];
            if (sh < 0) continue;  // a zero row: no input pixel behind it
            const T* row = in + static_cast<std::size_t>(oh) * ys.w;
            double* dst = acc.data() + static_cast<std::size_t>(sh) * xs.w;
            for (int ow = 0; ow < ys.w; ++ow)
                if (src_w[ow] >= 0) dst[src_w[ow]] += row[ow];
        }
        T* out = dx.data() + static_cast<std::size_t>(p) * xs.plane();
        for (std::size_t i = 0; i < xs.plane(); ++i) out[i] = static_cast<T>(acc[i]);
    }
}

}  // namespace cyclegan
