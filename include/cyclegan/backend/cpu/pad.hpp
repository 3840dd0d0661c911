#pragma once
// Padding on the CPU (ops/padding.hpp): forward gathers, backward scatters, a plane at a time.
#include <vector>

#include "../../ops/padding.hpp"
#include "cpu.hpp"

namespace cyclegan {
namespace cpu_detail {

// src[o] = padded_source(o - before, n, mode) for every padded coordinate o: one table per axis,
// shared by every plane, so the per-pixel work is two loads.
inline std::vector<int> pad_sources(PaddingMode mode, int n, int before, int out) {
    std::vector<int> src(static_cast<std::size_t>(out));
    for (int o = 0; o < out; ++o) src[o] = padded_source(o - before, n, mode);
    return src;
}

}  // namespace cpu_detail

// y[p, oh, ow] = x[p, sh, sw] with sh = padded_source(oh - top, H), sw likewise; 0 where
// either is -1.
template <class T>
void pad2d_forward(basic_cpu<T>&, PaddingMode mode, const CpuTensor<T>& x, CpuTensor<T>& y,
                   const Padding2d& pad) {
    const Shape xs = x.shape(), ys = y.shape();
    const auto src_h = cpu_detail::pad_sources(mode, xs.h, pad.top, ys.h);
    const auto src_w = cpu_detail::pad_sources(mode, xs.w, pad.left, ys.w);
    cpu_detail::for_each_plane(x, y, [&](const T* in, T* out) {
        for (int oh = 0; oh < ys.h; ++oh) {
            T* row = out + static_cast<std::size_t>(oh) * ys.w;
            const int sh = src_h[oh];
            for (int ow = 0; ow < ys.w; ++ow) {
                const int sw = src_w[ow];
                row[ow] = (sh < 0 || sw < 0) ? T(0) : in[static_cast<std::size_t>(sh) * xs.w + sw];
            }
        }
    });
}

// The adjoint: dx[p, sh, sw] = sum of dy[p, oh, ow] over every output pixel that read it (an
// edge pixel can be read many times: replication repeats it pad + 1 times per axis).   dx is
// overwritten.
template <class T>
void pad2d_backward(basic_cpu<T>&, PaddingMode mode, const CpuTensor<T>& dy, CpuTensor<T>& dx,
                    const Padding2d& pad) {
    const Shape xs = dx.shape(), ys = dy.shape();
    const auto src_h = cpu_detail::pad_sources(mode, xs.h, pad.top, ys.h);
    const auto src_w = cpu_detail::pad_sources(mode, xs.w, pad.left, ys.w);
    cpu_detail::scatter_each_plane(dy, dx, [&](const T* in, double* acc) {
        for (int oh = 0; oh < ys.h; ++oh) {
            const int sh = src_h[oh];
            if (sh < 0) continue;  // a zero row: no input pixel behind it
            const T* row = in + static_cast<std::size_t>(oh) * ys.w;
            double* dst = acc + static_cast<std::size_t>(sh) * xs.w;
            for (int ow = 0; ow < ys.w; ++ow)
                if (src_w[ow] >= 0) dst[src_w[ow]] += row[ow];
        }
    });
}

}  // namespace cyclegan
