#pragma once
// Convolution on the CPU as im2col + GEMM (Eigen). One image at a time, so the column buffer
// stays at C*kh*kw x OH*OW; the GEMM itself uses every thread.
#include <vector>

#include "../../core/conv_geometry.hpp"
#include "cpu.hpp"

namespace cyclegan {
namespace cpu_detail {

template <class T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MatMap = Eigen::Map<RowMajor<T>, Eigen::Aligned16>;
template <class T>
using ConstMatMap = Eigen::Map<const RowMajor<T>>;

// cols[(c, ki, kj), (oh, ow)] = x[c, oh*s - p + ki*d, ow*s - p + kj*d], zero outside the image.
template <class T>
void im2col(const T* x, int C, int H, int W, const Conv2dGeometry& g, int OH, int OW, T* cols) {
    const int KH = g.kernel.h, KW = g.kernel.w;
    CYCLEGAN_PARALLEL_FOR(static_cast<double>(C) * KH * KW * OH * OW)
    for (int r = 0; r < C * KH * KW; ++r) {
        const int c = r / (KH * KW), ki = (r / KW) % KH, kj = r % KW;
        T* out = cols + static_cast<std::size_t>(r) * OH * OW;
        const T* plane = x + static_cast<std::size_t>(c) * H * W;
        for (int oh = 0; oh < OH; ++oh) {
            const int ih = oh * g.stride.h - g.padding.h + ki * g.dilation.h;
            T* row = out + static_cast<std::size_t>(oh) * OW;
            if (ih < 0 || ih >= H) {
                std::fill(row, row + OW, T(0));
                continue;
            }
            for (int ow = 0; ow < OW; ++ow) {
                const int iw = ow * g.stride.w - g.padding.w + kj * g.dilation.w;
                row[ow] = (iw >= 0 && iw < W) ? plane[ih * W + iw] : T(0);
            }
        }
    }
}

// The adjoint of im2col: x[c, ih, iw] += every column entry that was read from it.
template <class T>
void col2im(const T* cols, int C, int H, int W, const Conv2dGeometry& g, int OH, int OW, T* x) {
    const int KH = g.kernel.h, KW = g.kernel.w;
    CYCLEGAN_PARALLEL_FOR(static_cast<double>(C) * KH * KW * OH * OW)  // channels are independent, so threads never write the same plane
    for (int c = 0; c < C; ++c) {
        T* plane = x + static_cast<std::size_t>(c) * H * W;
        for (int ki = 0; ki < KH; ++ki)
            for (int kj = 0; kj < KW; ++kj) {
                const T* in = cols + (static_cast<std::size_t>(c) * KH * KW + ki * KW + kj) * OH * OW;
                for (int oh = 0; oh < OH; ++oh) {
                    const int ih = oh * g.stride.h - g.padding.h + ki * g.dilation.h;
                    if (ih < 0 || ih >= H) continue;
                    for (int ow = 0; ow < OW; ++ow) {
                        const int iw = ow * g.stride.w - g.padding.w + kj * g.dilation.w;
                        if (iw >= 0 && iw < W) plane[ih * W + iw] += in[oh * OW + ow];
                    }
                }
            }
    }
}

}  // namespace cpu_detail

// y[n] = W (O x C*kh*kw) * im2col(x[n]).   w has shape {O, C, kh, kw}; y is preallocated.
template <class T>
void conv2d_forward(basic_cpu<T>&, const CpuTensor<T>& x, const CpuTensor<T>& w, CpuTensor<T>& y,
                    const Conv2dGeometry& g) {
    using namespace cpu_detail;
    const Shape xs = x.shape(), ys = y.shape();
    const int K = xs.c * g.kernel.h * g.kernel.w, P = ys.h * ys.w;
    std::vector<T> cols(static_cast<std::size_t>(K) * P);
    ConstMatMap<T> W(w.data(), ys.c, K);
    for (int n = 0; n < xs.n; ++n) {
        im2col(x.data() + n * xs.image(), xs.c, xs.h, xs.w, g, ys.h, ys.w, cols.data());
        Eigen::Map<RowMajor<T>> Y(y.data() + n * ys.image(), ys.c, P);
        Y.noalias() = W * ConstMatMap<T>(cols.data(), K, P);
    }
}

// dx[n] = col2im(W^T * dy[n]).   dx is preallocated with the input's shape and overwritten.
template <class T>
void conv2d_backward_data(basic_cpu<T>&, const CpuTensor<T>& dy, const CpuTensor<T>& w,
                          CpuTensor<T>& dx, const Conv2dGeometry& g) {
    using namespace cpu_detail;
    const Shape xs = dx.shape(), ys = dy.shape();
    const int K = xs.c * g.kernel.h * g.kernel.w, P = ys.h * ys.w;
    std::vector<T> cols(static_cast<std::size_t>(K) * P);
    ConstMatMap<T> W(w.data(), ys.c, K);
    std::fill(dx.data(), dx.data() + dx.numel(), T(0));
    for (int n = 0; n < xs.n; ++n) {
        Eigen::Map<RowMajor<T>> Cols(cols.data(), K, P);
        Cols.noalias() = W.transpose() * ConstMatMap<T>(dy.data() + n * ys.image(), ys.c, P);
        col2im(cols.data(), xs.c, xs.h, xs.w, g, ys.h, ys.w, dx.data() + n * xs.image());
    }
}

// dw += dy[n] * im2col(x[n])^T, summed over the batch.
template <class T>
void conv2d_backward_filter(basic_cpu<T>&, const CpuTensor<T>& x, const CpuTensor<T>& dy,
                            CpuTensor<T>& dw, const Conv2dGeometry& g) {
    using namespace cpu_detail;
    const Shape xs = x.shape(), ys = dy.shape();
    const int K = xs.c * g.kernel.h * g.kernel.w, P = ys.h * ys.w;
    std::vector<T> cols(static_cast<std::size_t>(K) * P);
    Eigen::Map<RowMajor<T>> DW(dw.data(), ys.c, K);
    for (int n = 0; n < xs.n; ++n) {
        im2col(x.data() + n * xs.image(), xs.c, xs.h, xs.w, g, ys.h, ys.w, cols.data());
        DW.noalias() += ConstMatMap<T>(dy.data() + n * ys.image(), ys.c, P) *
                        ConstMatMap<T>(cols.data(), K, P).transpose();
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
