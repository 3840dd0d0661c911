#pragma once
// Convolutions with few output channels (the generator's last 7x7 conv, 64 -> 3; the PatchGAN's
// 512 -> 1) on the CPU. As im2col + GEMM they are a 3 x 3136 matrix times a 3136-row column buffer:
// the buffer's traffic, not arithmetic, sets the time (5-6x PyTorch's). Here each kernel tap adds
// a row of the input, read in place with the padding rule at the borders, straight into the O
// output rows, so no column buffer exists; every loop is an axpy or a dot product over a row.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "../../ops/conv.hpp"
#include "conv_rows.hpp"
#include "cpu.hpp"
#include "simd_kernels.hpp"

namespace cyclegan {
namespace cpu_detail {

// Worth it when the GEMM would be a few rows against a deep column buffer.
inline bool few_output_channels(int out_channels, int K) { return out_channels <= 8 && K >= 128; }

// The register-blocked kernels of simd/conv_thin.inl (AVX2 and AVX-512, float) take stride 1 and
// 1-8 outputs; the filter gradient keeps O x KW vectors in registers, both known at compile time,
// so it is instantiated for 1-3 outputs (a PatchGAN's score, grayscale, RGB) and widths 3, 4, 7.
inline bool thin_simd_applies(const Conv2dGeometry& g, int O) { return g.stride == Pair2(1) && O >= 1 && O <= 8; }
inline bool thin_simd_filter_applies(const Conv2dGeometry& g, int O) {
    return thin_simd_applies(g, O) && O <= 3 && (g.kernel.w == 3 || g.kernel.w == 4 || g.kernel.w == 7);
}

// Calls f.template operator()<O>() for the runtime O in 1..8.
template <class F>
void with_outputs(int O, F&& f) {
    switch (O) {
        case 1: return f.template operator()<1>();
        case 2: return f.template operator()<2>();
        case 3: return f.template operator()<3>();
        case 4: return f.template operator()<4>();
        case 5: return f.template operator()<5>();
        case 6: return f.template operator()<6>();
        case 7: return f.template operator()<7>();
        default: return f.template operator()<8>();
    }
}

// Calls f.template operator()<O, KW>() for O in 1..3 and KW in {3, 4, 7}.
template <class F>
void with_filter_shape(int O, int KW, F&& f) {
    auto by_width = [&]<int Os>() {
        if (KW == 3) return f.template operator()<Os, 3>();
        if (KW == 4) return f.template operator()<Os, 4>();
        return f.template operator()<Os, 7>();
    };
    if (O == 1) return by_width.template operator()<1>();
    if (O == 2) return by_width.template operator()<2>();
    return by_width.template operator()<3>();
}

// Row arithmetic on Eigen maps (vectorised where the step is 1, which Eigen must know at compile
// time): dst[i] += a * src[i * step], dst[i * step] += a * src[i], and sum_i a[i] * b[i * step].
template <class T>
using Row = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstRow = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstStridedRow = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>, 0, Eigen::InnerStride<>>;
template <class T>
using StridedRow = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>, 0, Eigen::InnerStride<>>;

template <class T>
void add_scaled(T* dst, const T* src, int step, int n, T a) {
    if (n <= 0) return;
    if (step == 1) Row<T>(dst, n) += a * ConstRow<T>(src, n);
    else Row<T>(dst, n) += a * ConstStridedRow<T>(src, n, Eigen::InnerStride<>(step));
}
template <class T>
void add_scaled_strided(T* dst, int step, const T* src, int n, T a) {
    if (n <= 0) return;
    if (step == 1) Row<T>(dst, n) += a * ConstRow<T>(src, n);
    else StridedRow<T>(dst, n, Eigen::InnerStride<>(step)) += a * ConstRow<T>(src, n);
}
template <class T>
T dot(const T* a, const T* b, int step, int n) {
    if (n <= 0) return T(0);
    if (step == 1) return (ConstRow<T>(a, n) * ConstRow<T>(b, n)).sum();
    return (ConstRow<T>(a, n) * ConstStridedRow<T>(b, n, Eigen::InnerStride<>(step))).sum();
}

// One tap (c, ki, kj) of output row oh: where it reads in the input row (ih, or -1 for a zero
// row), and which output columns [lo, hi) read inside the image at ow * s + base.
struct TapRow {
    int ih, base, lo, hi;
};
inline TapRow tap_row(const Conv2dGeometry& g, int oh, int ki, int kj, int H, int W, int OW) {
    const int ih = padded_source(oh * g.stride.h - g.padding.h + ki * g.dilation.h, H, g.padding_mode);
    const int base = kj * g.dilation.w - g.padding.w;
    const auto [lo, hi] = inside_columns(base, g.stride.w, W, OW);
    return {ih, base, lo, hi};
}

// The input column output column ow reads through tap t, or -1 for a zero.
inline int tap_column(const Conv2dGeometry& g, const TapRow& t, int ow, int W) {
    return padded_source(ow * g.stride.w + t.base, W, g.padding_mode);
}

// y[n, o, oh, :] = sum over taps (c, ki, kj) of w[o, c, ki, kj] * x[n, c, row and columns the tap
// reads]. Threads take output rows.
template <class T>
void conv2d_forward_thin(const T* x, const Shape& xs, const T* w, T* y, const Shape& ys, const Conv2dGeometry& g) {
    if constexpr (std::is_same_v<T, float>)
        if (thin_simd_applies(g, ys.c) && with_simd_kernels([&](auto isa) {
                with_outputs(ys.c, [&]<int O>() { thin_forward<O>(isa, x, xs, w, y, ys, g); });
            }))
            return;
    const int C = xs.c, H = xs.h, W = xs.w, O = ys.c, OH = ys.h, OW = ys.w, KH = g.kernel.h, KW = g.kernel.w;
    const int K = C * KH * KW, sw = g.stride.w;
    CYCLEGAN_PARALLEL_FOR(static_cast<double>(ys.numel()) * K)
    for (int row = 0; row < xs.n * OH; ++row) {
        const int n = row / OH, oh = row % OH;
        const T* image = x + static_cast<std::size_t>(n) * xs.image();
        T* out = y + static_cast<std::size_t>(n) * ys.image() + static_cast<std::size_t>(oh) * OW;
        for (int o = 0; o < O; ++o) std::fill(out + o * ys.plane(), out + o * ys.plane() + OW, T(0));
        for (int c = 0; c < C; ++c)
            for (int ki = 0; ki < KH; ++ki)
                for (int kj = 0; kj < KW; ++kj) {
                    const TapRow t = tap_row(g, oh, ki, kj, H, W, OW);
                    if (t.ih < 0) continue;
                    const T* in = image + (static_cast<std::size_t>(c) * H + t.ih) * W;
                    for (int o = 0; o < O; ++o) {
                        const T wt = w[static_cast<std::size_t>(o) * K + (c * KH + ki) * KW + kj];
                        T* dst = out + o * ys.plane();
                        add_scaled(dst + t.lo, in + t.lo * sw + t.base, sw, t.hi - t.lo, wt);
                        for (int ow = 0; ow < t.lo; ++ow)
                            if (const int iw = tap_column(g, t, ow, W); iw >= 0) dst[ow] += wt * in[iw];
                        for (int ow = t.hi; ow < OW; ++ow)
                            if (const int iw = tap_column(g, t, ow, W); iw >= 0) dst[ow] += wt * in[iw];
                    }
                }
    }
}

// The adjoint: dx[n, c, pixel] = sum of w[o, c, ki, kj] * dy[n, o, oh, ow] over the taps that read
// the pixel. Threads take input planes (n, c), so no two write the same value. dx is overwritten.
template <class T>
void conv2d_backward_data_thin(const T* dy, const Shape& ys, const T* w, T* dx, const Shape& xs,
                               const Conv2dGeometry& g) {
    if constexpr (std::is_same_v<T, float>)
        if (thin_simd_applies(g, ys.c) && with_simd_kernels([&](auto isa) {
                with_outputs(ys.c, [&]<int O>() { thin_data_gradient<O>(isa, dy, ys, w, dx, xs, g); });
            }))
            return;
    const int C = xs.c, H = xs.h, W = xs.w, O = ys.c, OH = ys.h, OW = ys.w, KH = g.kernel.h, KW = g.kernel.w;
    const int K = C * KH * KW, sw = g.stride.w;
    CYCLEGAN_PARALLEL_FOR(static_cast<double>(ys.numel()) * K)
    for (int plane = 0; plane < xs.n * C; ++plane) {
        const int n = plane / C, c = plane % C;
        T* out = dx + static_cast<std::size_t>(plane) * H * W;
        std::fill(out, out + static_cast<std::size_t>(H) * W, T(0));
        const T* grad = dy + static_cast<std::size_t>(n) * ys.image();
        for (int ki = 0; ki < KH; ++ki)
            for (int kj = 0; kj < KW; ++kj)
                for (int oh = 0; oh < OH; ++oh) {
                    const TapRow t = tap_row(g, oh, ki, kj, H, W, OW);
                    if (t.ih < 0) continue;
                    T* in = out + static_cast<std::size_t>(t.ih) * W;
                    for (int o = 0; o < O; ++o) {
                        const T wt = w[static_cast<std::size_t>(o) * K + (c * KH + ki) * KW + kj];
                        const T* src = grad + o * ys.plane() + static_cast<std::size_t>(oh) * OW;
                        add_scaled_strided(in + t.lo * sw + t.base, sw, src + t.lo, t.hi - t.lo, wt);
                        for (int ow = 0; ow < t.lo; ++ow)
                            if (const int iw = tap_column(g, t, ow, W); iw >= 0) in[iw] += wt * src[ow];
                        for (int ow = t.hi; ow < OW; ++ow)
                            if (const int iw = tap_column(g, t, ow, W); iw >= 0) in[iw] += wt * src[ow];
                    }
                }
    }
}

// dw[o, c, ki, kj] += sum over the batch and the output pixels of dy * the input pixel the tap
// reads. Rows are cut into a fixed number of chunks (not one per thread), each summed in double
// into its own partial, and the partials added in chunk order: the same result on any thread count.
template <class T>
void conv2d_backward_filter_thin(const T* x, const Shape& xs, const T* dy, const Shape& ys, T* dw,
                                 const Conv2dGeometry& g) {
    if constexpr (std::is_same_v<T, float>)
        if (thin_simd_filter_applies(g, ys.c) && with_simd_kernels([&](auto isa) {
                with_filter_shape(ys.c, g.kernel.w, [&]<int O, int KW>() { thin_filter_gradient<O, KW>(isa, x, xs, dy, ys, dw, g); });
            }))
            return;
    const int C = xs.c, H = xs.h, W = xs.w, O = ys.c, OH = ys.h, OW = ys.w, KH = g.kernel.h, KW = g.kernel.w;
    const int K = C * KH * KW, sw = g.stride.w, rows = xs.n * OH;
    const int chunks = std::min(rows, 32);
    std::vector<double> partial(static_cast<std::size_t>(chunks) * O * K, 0.0);
    CYCLEGAN_PARALLEL_FOR(static_cast<double>(ys.numel()) * K)
    for (int chunk = 0; chunk < chunks; ++chunk) {
        double* acc = partial.data() + static_cast<std::size_t>(chunk) * O * K;
        for (int row = rows * chunk / chunks; row < rows * (chunk + 1) / chunks; ++row) {
            const int n = row / OH, oh = row % OH;
            const T* image = x + static_cast<std::size_t>(n) * xs.image();
            const T* grad = dy + static_cast<std::size_t>(n) * ys.image() + static_cast<std::size_t>(oh) * OW;
            for (int c = 0; c < C; ++c)
                for (int ki = 0; ki < KH; ++ki)
                    for (int kj = 0; kj < KW; ++kj) {
                        const TapRow t = tap_row(g, oh, ki, kj, H, W, OW);
                        if (t.ih < 0) continue;
                        const T* in = image + (static_cast<std::size_t>(c) * H + t.ih) * W;
                        const int r = (c * KH + ki) * KW + kj;
                        for (int o = 0; o < O; ++o) {
                            const T* d = grad + o * ys.plane();
                            double s = dot(d + t.lo, in + t.lo * sw + t.base, sw, t.hi - t.lo);
                            for (int ow = 0; ow < t.lo; ++ow)
                                if (const int iw = tap_column(g, t, ow, W); iw >= 0) s += double(d[ow]) * in[iw];
                            for (int ow = t.hi; ow < OW; ++ow)
                                if (const int iw = tap_column(g, t, ow, W); iw >= 0) s += double(d[ow]) * in[iw];
                            acc[static_cast<std::size_t>(o) * K + r] += s;
                        }
                    }
        }
    }
    for (std::size_t i = 0; i < static_cast<std::size_t>(O) * K; ++i) {
        double s = 0;
        for (int chunk = 0; chunk < chunks; ++chunk) s += partial[static_cast<std::size_t>(chunk) * O * K + i];
        dw[i] += static_cast<T>(s);
    }
}

}  // namespace cpu_detail
}  // namespace cyclegan
