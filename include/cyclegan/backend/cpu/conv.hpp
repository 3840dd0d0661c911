#pragma once
// Convolution on the CPU as im2col + GEMM (gemm.hpp), one image at a time and, within an image, a
// band of output rows at a time: the column buffer holds at most about kColumnBudget values, so a
// 7x7 convolution over 64 channels at 256x256 needs 8 M floats, not 205 M. The GEMM uses every thread.
// Convolutions with only a few output channels skip the column buffer (conv_thin.hpp); 3x3
// stride-1 ones over enough channels (the residual blocks') go through Winograd (conv_winograd.hpp).
#include <algorithm>
#include <memory>
#include <vector>

#include "../../core/conv_geometry.hpp"
#include "conv_rows.hpp"
#include "conv_thin.hpp"
#include "conv_winograd.hpp"
#include "cpu.hpp"
#include "gemm.hpp"
#include "scratch.hpp"

namespace cyclegan {
namespace cpu_detail {

#ifndef CYCLEGAN_CONV_COLUMN_BUDGET
#define CYCLEGAN_CONV_COLUMN_BUDGET (std::size_t{8} << 20)  // tests set it small to cross band edges
#endif
inline constexpr std::size_t kColumnBudget = CYCLEGAN_CONV_COLUMN_BUDGET;  // values in one column buffer

// Output rows per band: as many as fit the budget, at least one.
inline int band_rows(int K, int OH, int OW) {
    const std::size_t per_row = static_cast<std::size_t>(K) * OW;
    return static_cast<int>(std::clamp<std::size_t>(kColumnBudget / std::max<std::size_t>(per_row, 1), 1, OH));
}

// cols[(c, ki, kj), (oh - oh0, ow)] = x[c, oh*s - p + ki*d, ow*s - p + kj*d] for oh in [oh0, oh1),
// read outside the image as the padding mode says (zero, reflected or replicated).
template <class T>
void im2col(const T* x, int C, int H, int W, const Conv2dGeometry& g, int oh0, int oh1, int OW, T* cols) {
    const int KH = g.kernel.h, KW = g.kernel.w, rows = oh1 - oh0, sw = g.stride.w;
    CYCLEGAN_PARALLEL_FOR(static_cast<double>(C) * KH * KW * rows * OW)
    for (int r = 0; r < C * KH * KW; ++r) {
        const int c = r / (KH * KW), ki = (r / KW) % KH, kj = r % KW;
        const int base = kj * g.dilation.w - g.padding.w;
        const auto [lo, hi] = inside_columns(base, sw, W, OW);
        T* out = cols + static_cast<std::size_t>(r) * rows * OW;
        const T* plane = x + static_cast<std::size_t>(c) * H * W;
        for (int oh = oh0; oh < oh1; ++oh) {
            const int ih = padded_source(oh * g.stride.h - g.padding.h + ki * g.dilation.h, H, g.padding_mode);
            T* row = out + static_cast<std::size_t>(oh - oh0) * OW;
            if (ih < 0) {
                std::fill(row, row + OW, T(0));
                continue;
            }
            const T* in = plane + static_cast<std::size_t>(ih) * W;
            auto border = [&](int ow) {
                const int iw = padded_source(ow * sw + base, W, g.padding_mode);
                row[ow] = iw >= 0 ? in[iw] : T(0);
            };
            for (int ow = 0; ow < lo; ++ow) border(ow);
            if (sw == 1) std::copy(in + lo + base, in + hi + base, row + lo);
            else
                for (int ow = lo; ow < hi; ++ow) row[ow] = in[ow * sw + base];
            for (int ow = hi; ow < OW; ++ow) border(ow);
        }
    }
}

// The adjoint of im2col for the band [oh0, oh1): x[c, ih, iw] += every column entry read from it
// (with reflect or replicate padding, some pixels are read several times).
template <class T>
void col2im(const T* cols, int C, int H, int W, const Conv2dGeometry& g, int oh0, int oh1, int OW, T* x) {
    const int KH = g.kernel.h, KW = g.kernel.w, rows = oh1 - oh0, sw = g.stride.w;
    // Channels are independent, so threads never write the same plane.
    CYCLEGAN_PARALLEL_FOR(static_cast<double>(C) * KH * KW * rows * OW)
    for (int c = 0; c < C; ++c) {
        T* plane = x + static_cast<std::size_t>(c) * H * W;
        for (int ki = 0; ki < KH; ++ki)
            for (int kj = 0; kj < KW; ++kj) {
                const int base = kj * g.dilation.w - g.padding.w;
                const auto [lo, hi] = inside_columns(base, sw, W, OW);
                const T* in = cols + (static_cast<std::size_t>(c) * KH * KW + ki * KW + kj) * rows * OW;
                for (int oh = oh0; oh < oh1; ++oh) {
                    const int ih = padded_source(oh * g.stride.h - g.padding.h + ki * g.dilation.h, H, g.padding_mode);
                    if (ih < 0) continue;
                    const T* src = in + static_cast<std::size_t>(oh - oh0) * OW;
                    T* out = plane + static_cast<std::size_t>(ih) * W;
                    auto border = [&](int ow) {
                        const int iw = padded_source(ow * sw + base, W, g.padding_mode);
                        if (iw >= 0) out[iw] += src[ow];
                    };
                    for (int ow = 0; ow < lo; ++ow) border(ow);
                    for (int ow = lo; ow < hi; ++ow) out[ow * sw + base] += src[ow];
                    for (int ow = hi; ow < OW; ++ow) border(ow);
                }
            }
    }
}

// Calls band(oh0, oh1, cols) for successive bands of output rows, with the reused column buffer.
template <class T, class F>
void for_each_band(int K, int OH, int OW, F&& band) {
    const int step = band_rows(K, OH, OW);
    T* cols = scratch_buffer<T, Scratch::columns>(static_cast<std::size_t>(K) * step * OW);
    for (int oh0 = 0; oh0 < OH; oh0 += step) band(oh0, std::min(OH, oh0 + step), cols);
}

// y[n] = W (O x C*kh*kw) * im2col(x[n]).   w has shape {O, C, kh, kw}; y is preallocated.
template <class T>
void conv2d_forward_gemm(const T* x, const Shape& xs, const T* w, T* y, const Shape& ys, const Conv2dGeometry& g) {
    const int K = xs.c * g.kernel.h * g.kernel.w, P = ys.h * ys.w;
    for (int n = 0; n < xs.n; ++n)
        for_each_band<T>(K, ys.h, ys.w, [&](int oh0, int oh1, T* cols) {
            const int p = (oh1 - oh0) * ys.w;
            im2col(x + n * xs.image(), xs.c, xs.h, xs.w, g, oh0, oh1, ys.w, cols);
            gemm(ys.c, p, K, row_major(w, K), row_major(cols, p), y + n * ys.image() + oh0 * ys.w, P, false);
        });
}

// dx[n] = col2im(W^T * dy[n]).   dx is preallocated with the input's shape and overwritten.
template <class T>
void conv2d_backward_data_gemm(const T* dy, const Shape& ys, const T* w, T* dx, const Shape& xs, const Conv2dGeometry& g) {
    const int K = xs.c * g.kernel.h * g.kernel.w, P = ys.h * ys.w;
    std::fill(dx, dx + xs.numel(), T(0));
    for (int n = 0; n < xs.n; ++n)
        for_each_band<T>(K, ys.h, ys.w, [&](int oh0, int oh1, T* cols) {
            const int p = (oh1 - oh0) * ys.w;
            gemm(K, p, ys.c, row_major(w, K).transposed(), row_major(dy + n * ys.image() + oh0 * ys.w, P), cols, p, false);
            col2im(cols, xs.c, xs.h, xs.w, g, oh0, oh1, ys.w, dx + n * xs.image());
        });
}

// dw += dy[n] * im2col(x[n])^T, summed over the batch.
template <class T>
void conv2d_backward_filter_gemm(const T* x, const Shape& xs, const T* dy, const Shape& ys, T* dw, const Conv2dGeometry& g) {
    const int K = xs.c * g.kernel.h * g.kernel.w, P = ys.h * ys.w;
    for (int n = 0; n < xs.n; ++n)
        for_each_band<T>(K, ys.h, ys.w, [&](int oh0, int oh1, T* cols) {
            const int p = (oh1 - oh0) * ys.w;
            im2col(x + n * xs.image(), xs.c, xs.h, xs.w, g, oh0, oh1, ys.w, cols);
            gemm(ys.c, K, p, row_major(dy + n * ys.image() + oh0 * ys.w, P), row_major(cols, p).transposed(), dw, K, true);
        });
}

// Which algorithm a convolution takes: Winograd for 3x3 stride-1 kernels over enough channels and pixels,
// the few-output kernels where a GEMM would be a few rows deep, else im2col + GEMM.
enum class ConvAlgorithm { winograd, thin, gemm };
inline ConvAlgorithm conv_algorithm(const Conv2dGeometry& g, int in_channels, const Shape& output) {
    const int out_channels = output.c;
    if (winograd_applies(g, in_channels, out_channels, static_cast<std::size_t>(output.n) * output.h * output.w))
        return ConvAlgorithm::winograd;
    if (few_output_channels(out_channels, in_channels * g.kernel.h * g.kernel.w)) return ConvAlgorithm::thin;
    return ConvAlgorithm::gemm;
}

}  // namespace cpu_detail

// y = conv(x, w). ConvWeights::fixed (inference) lets the Winograd path keep its transformed
// weights in the device's weight cache between calls.
template <class T>
void conv2d_forward(basic_cpu<T>& dev, const CpuTensor<T>& x, const CpuTensor<T>& w, CpuTensor<T>& y,
                    const Conv2dGeometry& g, ConvWeights weights = ConvWeights::changing) {
    using namespace cpu_detail;
    const Shape xs = x.shape(), ys = y.shape();
    switch (conv_algorithm(g, xs.c, ys)) {
        case ConvAlgorithm::winograd:
            return conv2d_forward_winograd<4>(x.data(), xs, w.data(), y.data(), ys, g,
                                              weights == ConvWeights::fixed ? dev.weight_cache() : nullptr);
        case ConvAlgorithm::thin: return conv2d_forward_thin(x.data(), xs, w.data(), y.data(), ys, g);
        case ConvAlgorithm::gemm: return conv2d_forward_gemm(x.data(), xs, w.data(), y.data(), ys, g);
    }
}

template <class T>
void conv2d_backward_data(basic_cpu<T>&, const CpuTensor<T>& dy, const CpuTensor<T>& w, CpuTensor<T>& dx,
                          const Conv2dGeometry& g) {
    using namespace cpu_detail;
    const Shape xs = dx.shape(), ys = dy.shape();
    switch (conv_algorithm(g, xs.c, ys)) {
        case ConvAlgorithm::winograd: return conv2d_backward_data_winograd<4>(dy.data(), ys, w.data(), dx.data(), xs, g);
        case ConvAlgorithm::thin: return conv2d_backward_data_thin(dy.data(), ys, w.data(), dx.data(), xs, g);
        case ConvAlgorithm::gemm: return conv2d_backward_data_gemm(dy.data(), ys, w.data(), dx.data(), xs, g);
    }
}

template <class T>
void conv2d_backward_filter(basic_cpu<T>&, const CpuTensor<T>& x, const CpuTensor<T>& dy, CpuTensor<T>& dw,
                            const Conv2dGeometry& g) {
    using namespace cpu_detail;
    const Shape xs = x.shape(), ys = dy.shape();
    switch (conv_algorithm(g, xs.c, ys)) {
        case ConvAlgorithm::winograd: return conv2d_backward_filter_winograd<4>(x.data(), xs, dy.data(), ys, dw.data(), g);
        case ConvAlgorithm::thin: return conv2d_backward_filter_thin(x.data(), xs, dy.data(), ys, dw.data(), g);
        case ConvAlgorithm::gemm: return conv2d_backward_filter_gemm(x.data(), xs, dy.data(), ys, dw.data(), g);
    }
}

// y[n, c, :, :] += b[c]
template <class T>
void add_channel_bias(basic_cpu<T>&, CpuTensor<T>& y, const CpuTensor<T>& b) {
    const Shape s = y.shape();
    CYCLEGAN_PARALLEL_FOR(y.numel())
    for (int nc = 0; nc < s.n * s.c; ++nc) {
        T* p = y.data() + nc * s.plane();
        const T v = b.data()[nc % s.c];
        for (std::size_t i = 0; i < s.plane(); ++i) p[i] += v;
    }
}

// db[c] += sum over n, h, w of dy[n, c, h, w]
template <class T>
void channel_bias_backward(basic_cpu<T>&, const CpuTensor<T>& dy, CpuTensor<T>& db) {
    const Shape s = dy.shape();
    CYCLEGAN_PARALLEL_FOR(dy.numel())
    for (int c = 0; c < s.c; ++c) {
        double sum = 0;
        for (int n = 0; n < s.n; ++n) {
            const T* p = dy.data() + (static_cast<std::size_t>(n) * s.c + c) * s.plane();
            for (std::size_t i = 0; i < s.plane(); ++i) sum += p[i];
        }
        db.data()[c] += static_cast<T>(sum);
    }
}

}  // namespace cyclegan
