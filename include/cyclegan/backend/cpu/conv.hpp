#pragma once
// Convolution on the CPU as im2col + GEMM (gemm.hpp), one image at a time and, within an image, a
// band of output rows at a time: the column buffer holds at most about
// CpuTuning::conv_column_budget values, so a 7x7 convolution over 64 channels at 256x256 needs
// 8 M floats, not 205 M. The GEMM uses every thread.
// Convolutions with only a few output channels skip the column buffer (conv_thin.hpp); 3x3
// stride-1 ones over enough channels (the residual blocks') go through Winograd (conv_winograd.hpp);
// in bf16 on AMX, stride-1 ones over enough channels are direct (conv_direct.hpp).
#include <algorithm>
#include <memory>
#include <vector>

#include "../../ops/conv.hpp"
#include "../../core/compiled.hpp"
#include "cpu.hpp"

namespace cyclegan {

// y = conv(x, w), in the device's precision (the few-output kernels stay in float: see
// docs/architecture.md, "Precision"). ConvWeights::fixed (inference) lets the Winograd and direct
// paths keep their transformed or packed weights in the device's weight cache between calls.
template <class T>
void conv2d_forward(basic_cpu<T>& dev, const CpuTensor<T>& x, const CpuTensor<T>& w, CpuTensor<T>& y,
                    const Conv2dGeometry& g, ConvWeights weights = ConvWeights::changing);

template <class T>
void conv2d_backward_data(basic_cpu<T>& dev, const CpuTensor<T>& dy, const CpuTensor<T>& w, CpuTensor<T>& dx,
                          const Conv2dGeometry& g);

template <class T>
void conv2d_backward_filter(basic_cpu<T>& dev, const CpuTensor<T>& x, const CpuTensor<T>& dy, CpuTensor<T>& dw,
                            const Conv2dGeometry& g);

// y[n, c, :, :] += b[c]   (the loops: simd/loops.inl)
template <class T>
void add_channel_bias(basic_cpu<T>&, CpuTensor<T>& y, const CpuTensor<T>& b);

// db[c] += sum over n, h, w of dy[n, c, h, w], in double
template <class T>
void channel_bias_backward(basic_cpu<T>&, const CpuTensor<T>& dy, CpuTensor<T>& db);

}  // namespace cyclegan

// The kernels, unless this file takes them from cyclegan_kernels (core/compiled.hpp).
#if !CYCLEGAN_DETAIL_KERNELS_DECLARED
#include "conv_direct.hpp"
#include "conv_rows.hpp"
#include "conv_thin.hpp"
#include "conv_winograd.hpp"
#include "gemm.hpp"
#include "scratch.hpp"

namespace cyclegan {
namespace cpu_detail {

// Output rows per band: as many as fit the budget, at least one.
inline int band_rows(int K, int OH, int OW) {
    const std::size_t per_row = static_cast<std::size_t>(K) * OW;
    return static_cast<int>(std::clamp<std::size_t>(cpu_tuning.conv_column_budget / std::max<std::size_t>(per_row, 1), 1, OH));
}

// im2col and its adjoint col2im (their loops: simd/loops.inl, per kernel set).
template <class T>
void im2col(const T* x, int C, int H, int W, const Conv2dGeometry& g, int oh0, int oh1, int OW, T* cols) {
    with_cpu_kernels([&](auto isa) { im2col_loop(isa, x, C, H, W, g, oh0, oh1, OW, cols); });
}
template <class T>
void col2im(const T* cols, int C, int H, int W, const Conv2dGeometry& g, int oh0, int oh1, int OW, T* x) {
    with_cpu_kernels([&](auto isa) { col2im_loop(isa, cols, C, H, W, g, oh0, oh1, OW, x); });
}

// Calls band(oh0, oh1, cols) for successive bands of output rows, with the reused column buffer.
template <class T, class F>
void for_each_band(int K, int OH, int OW, F&& band) {
    const int step = band_rows(K, OH, OW);
    T* cols = scratch_buffer<T, Scratch::columns>(static_cast<std::size_t>(K) * step * OW);
    for (int oh0 = 0; oh0 < OH; oh0 += step) band(oh0, std::min(OH, oh0 + step), cols);
}

// The products below read their operands as `ops` says (float, or bf16: operands_for).
// y[n] = W (O x C*kh*kw) * im2col(x[n]).   w has shape {O, C, kh, kw}; y is preallocated.
template <class T>
void conv2d_forward_gemm(const T* x, const Shape& xs, const T* w, T* y, const Shape& ys, const Conv2dGeometry& g,
                         GemmOperands ops = GemmOperands::f32) {
    const int K = xs.c * g.kernel.h * g.kernel.w, P = ys.h * ys.w;
    for (int n = 0; n < xs.n; ++n)
        for_each_band<T>(K, ys.h, ys.w, [&](int oh0, int oh1, T* cols) {
            const int p = (oh1 - oh0) * ys.w;
            im2col(x + n * xs.image(), xs.c, xs.h, xs.w, g, oh0, oh1, ys.w, cols);
            gemm(ys.c, p, K, row_major(w, K), row_major(cols, p), y + n * ys.image() + oh0 * ys.w, P, false, ops);
        });
}

// dx[n] = col2im(W^T * dy[n]).   dx is preallocated with the input's shape and overwritten.
template <class T>
void conv2d_backward_data_gemm(const T* dy, const Shape& ys, const T* w, T* dx, const Shape& xs, const Conv2dGeometry& g,
                               GemmOperands ops = GemmOperands::f32) {
    const int K = xs.c * g.kernel.h * g.kernel.w, P = ys.h * ys.w;
    std::fill(dx, dx + xs.numel(), T(0));
    for (int n = 0; n < xs.n; ++n)
        for_each_band<T>(K, ys.h, ys.w, [&](int oh0, int oh1, T* cols) {
            const int p = (oh1 - oh0) * ys.w;
            gemm(K, p, ys.c, row_major(w, K).transposed(), row_major(dy + n * ys.image() + oh0 * ys.w, P), cols, p, false, ops);
            col2im(cols, xs.c, xs.h, xs.w, g, oh0, oh1, ys.w, dx + n * xs.image());
        });
}

// dw += dy[n] * im2col(x[n])^T, summed over the batch.
template <class T>
void conv2d_backward_filter_gemm(const T* x, const Shape& xs, const T* dy, const Shape& ys, T* dw, const Conv2dGeometry& g,
                                 GemmOperands ops = GemmOperands::f32) {
    const int K = xs.c * g.kernel.h * g.kernel.w, P = ys.h * ys.w;
    for (int n = 0; n < xs.n; ++n)
        for_each_band<T>(K, ys.h, ys.w, [&](int oh0, int oh1, T* cols) {
            const int p = (oh1 - oh0) * ys.w;
            im2col(x + n * xs.image(), xs.c, xs.h, xs.w, g, oh0, oh1, ys.w, cols);
            gemm(ys.c, K, p, row_major(dy + n * ys.image() + oh0 * ys.w, P), row_major(cols, p).transposed(), dw, K, true, ops);
        });
}

// Which algorithm a convolution takes: in bf16 on AMX, direct where it applies; else Winograd for 3x3
// stride-1 kernels over enough channels and pixels, the few-output kernels where a GEMM would be a
// few rows deep, else im2col + GEMM.
enum class ConvAlgorithm { winograd, thin, gemm, direct };
inline ConvAlgorithm conv_algorithm(const Conv2dGeometry& g, int in_channels, const Shape& output,
                                    GemmOperands ops = GemmOperands::f32) {
    const int out_channels = output.c;
    if (direct_amx_applies(g, in_channels, out_channels, output.w, ops)) return ConvAlgorithm::direct;
    if (winograd_applies(g, in_channels, out_channels, static_cast<std::size_t>(output.n) * output.h * output.w))
        return ConvAlgorithm::winograd;
    if (few_output_channels(out_channels, in_channels * g.kernel.h * g.kernel.w)) return ConvAlgorithm::thin;
    return ConvAlgorithm::gemm;
}
// The algorithm for element type T: the direct kernels are float's; double reads bf16 operands
// rounded (the tests' reference), as before.
template <class T>
ConvAlgorithm conv_algorithm_in(const Conv2dGeometry& g, int in_channels, const Shape& output, GemmOperands ops) {
    return conv_algorithm(g, in_channels, output, std::is_same_v<T, float> ? ops : GemmOperands::f32);
}

}  // namespace cpu_detail

template <class T>
void conv2d_forward(basic_cpu<T>& dev, const CpuTensor<T>& x, const CpuTensor<T>& w, CpuTensor<T>& y,
                    const Conv2dGeometry& g, ConvWeights weights) {
    using namespace cpu_detail;
    const Shape xs = x.shape(), ys = y.shape();
    const GemmOperands ops = operands_for(dev.precision());
    switch (conv_algorithm_in<T>(g, xs.c, ys, ops)) {
        case ConvAlgorithm::direct:
#if CYCLEGAN_X86_KERNELS
            if constexpr (std::is_same_v<T, float>)
                return conv2d_forward_direct(x.data(), xs, w.data(), y.data(), ys, g,
                                             weights == ConvWeights::fixed ? dev.weight_cache() : nullptr);
#endif
            return;  // (conv_algorithm_in takes it for float on x86 only)
        case ConvAlgorithm::winograd:
            return with_winograd_tile(ops, [&]<int M>() {
                conv2d_forward_winograd<M>(x.data(), xs, w.data(), y.data(), ys, g,
                                           weights == ConvWeights::fixed ? dev.weight_cache() : nullptr, ops);
            });
        case ConvAlgorithm::thin: return conv2d_forward_thin(x.data(), xs, w.data(), y.data(), ys, g);
        case ConvAlgorithm::gemm: return conv2d_forward_gemm(x.data(), xs, w.data(), y.data(), ys, g, ops);
    }
}

template <class T>
void conv2d_backward_data(basic_cpu<T>& dev, const CpuTensor<T>& dy, const CpuTensor<T>& w, CpuTensor<T>& dx,
                          const Conv2dGeometry& g) {
    using namespace cpu_detail;
    const Shape xs = dx.shape(), ys = dy.shape();
    const GemmOperands ops = operands_for(dev.precision());
    ConvAlgorithm algorithm = conv_algorithm_in<T>(g, xs.c, ys, ops);
    if (algorithm == ConvAlgorithm::direct && !direct_amx_data_applies(g)) algorithm = conv_algorithm(g, xs.c, ys);
    switch (algorithm) {
        case ConvAlgorithm::direct:
#if CYCLEGAN_X86_KERNELS
            if constexpr (std::is_same_v<T, float>) return conv2d_backward_data_direct(dy.data(), ys, w.data(), dx.data(), xs, g);
#endif
            return;
        case ConvAlgorithm::winograd:
            return with_winograd_tile(ops, [&]<int M>() { conv2d_backward_data_winograd<M>(dy.data(), ys, w.data(), dx.data(), xs, g, ops); });
        case ConvAlgorithm::thin: return conv2d_backward_data_thin(dy.data(), ys, w.data(), dx.data(), xs, g);
        case ConvAlgorithm::gemm: return conv2d_backward_data_gemm(dy.data(), ys, w.data(), dx.data(), xs, g, ops);
    }
}

template <class T>
void conv2d_backward_filter(basic_cpu<T>& dev, const CpuTensor<T>& x, const CpuTensor<T>& dy, CpuTensor<T>& dw,
                            const Conv2dGeometry& g) {
    using namespace cpu_detail;
    const Shape xs = x.shape(), ys = dy.shape();
    const GemmOperands ops = operands_for(dev.precision());
    switch (conv_algorithm_in<T>(g, xs.c, ys, ops)) {
        case ConvAlgorithm::direct:
#if CYCLEGAN_X86_KERNELS
            if constexpr (std::is_same_v<T, float>) return conv2d_backward_filter_direct(x.data(), xs, dy.data(), ys, dw.data(), g);
#endif
            return;
        case ConvAlgorithm::winograd:
            return with_winograd_tile(ops, [&]<int M>() { conv2d_backward_filter_winograd<M>(x.data(), xs, dy.data(), ys, dw.data(), g, ops); });
        case ConvAlgorithm::thin: return conv2d_backward_filter_thin(x.data(), xs, dy.data(), ys, dw.data(), g);
        case ConvAlgorithm::gemm: return conv2d_backward_filter_gemm(x.data(), xs, dy.data(), ys, dw.data(), g, ops);
    }
}

template <class T>
void add_channel_bias(basic_cpu<T>&, CpuTensor<T>& y, const CpuTensor<T>& b) {
    cpu_detail::with_cpu_kernels([&](auto isa) { add_channel_bias_loop(isa, y.data(), b.data(), y.shape()); });
}

template <class T>
void channel_bias_backward(basic_cpu<T>&, const CpuTensor<T>& dy, CpuTensor<T>& db) {
    cpu_detail::with_cpu_kernels([&](auto isa) { channel_bias_backward_loop(isa, dy.data(), db.data(), dy.shape()); });
}

}  // namespace cyclegan
#endif  // !CYCLEGAN_DETAIL_KERNELS_DECLARED
