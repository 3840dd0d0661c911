#pragma once
// Convolutions on the GPU through cuDNN: forward, data gradient and weight gradient, with the
// descriptors made and the algorithms measured once per shape (cudnnFind*), kept in the device
// object (conv_plan.cuh). cuDNN pads with zeros only, so a reflect or replicate padding_mode
// convolves a padded copy made by pad.cuh.
#include <algorithm>

#include "../../ops/conv.hpp"
#include "cuda.cuh"
#include "pad.cuh"

namespace cyclegan {
namespace cuda_detail {

// Algorithms wanting more scratch than this are passed over (FFT variants can ask for gigabytes).
inline constexpr std::size_t max_workspace_bytes = std::size_t{1} << 30;

// The fastest deterministic algorithm that succeeded (cudnnFind* returns them fastest first), so
// that two runs of a step give the same numbers.
template <class Perf>
const Perf& fastest_deterministic(const Perf* perf, int count, const char* what) {
    for (int i = 0; i < count; ++i)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].determinism == CUDNN_DETERMINISTIC &&
            perf[i].memory <= max_workspace_bytes)
            return perf[i];
    for (int i = 0; i < count; ++i)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= max_workspace_bytes) return perf[i];
    throw cuda_error(std::string("cuDNN found no algorithm for this ") + what);
}

inline cudnnMathType_t base_math(const cuda& dev) { return dev.allow_tf32() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH; }

// The descriptors and algorithms for one shape, made and measured on first use. TF32 (on by
// default, as PyTorch's torch.backends.cudnn.allow_tf32) lets cuDNN use tensor cores with 10-bit
// mantissas.
inline ConvPlan& plan(cuda& dev, const Shape& xs, const Shape& ys, const Conv2dGeometry& g) {
    const cuda::ConvKey key{xs.n, xs.c, xs.h, xs.w, ys.c, ys.h, ys.w, g.kernel.h, g.kernel.w, g.stride.h, g.stride.w,
                            g.padding.h, g.padding.w, g.dilation.h, g.dilation.w, dev.allow_tf32()};
    auto& cache = dev.conv_plans();
    if (auto it = cache.find(key); it != cache.end()) return it->second;

    ConvPlan a;
    a.d = std::make_unique<ConvDescriptors>(xs, ys, g, base_math(dev));
    const ConvDescriptors& d = *a.d;
    int n = 0;
    dev.release_cached_memory();  // the search allocates outside the pool
    cudnnConvolutionFwdAlgoPerf_t fwd[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    CYCLEGAN_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(dev.cudnn(), d.x, d.w, d.conv, d.y,
                                                              CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, fwd));
    const auto& f = fastest_deterministic(fwd, n, "convolution's forward");
    a.forward = f.algo, a.forward_bytes = f.memory, a.forward_math = f.mathType;

    cudnnConvolutionBwdDataAlgoPerf_t bwd[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    CYCLEGAN_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(dev.cudnn(), d.w, d.y, d.conv, d.x,
                                                                   CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, bwd));
    const auto& b = fastest_deterministic(bwd, n, "convolution's data gradient");
    a.backward_data = b.algo, a.backward_data_bytes = b.memory, a.backward_data_math = b.mathType;

    cudnnConvolutionBwdFilterAlgoPerf_t flt[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    CYCLEGAN_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(dev.cudnn(), d.x, d.y, d.conv, d.w,
                                                                     CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, flt));
    const auto& w = fastest_deterministic(flt, n, "convolution's weight gradient");
    a.backward_filter = w.algo, a.backward_filter_bytes = w.memory, a.backward_filter_math = w.mathType;
    return cache.emplace(key, std::move(a)).first->second;
}


inline bool pads_by_copy(const Conv2dGeometry& g) {
    return g.padding_mode != PaddingMode::zeros && (g.padding.h > 0 || g.padding.w > 0);
}
inline Conv2dGeometry without_padding(Conv2dGeometry g) {
    g.padding = Pair2{0};
    g.padding_mode = PaddingMode::zeros;
    return g;
}

// x with g's reflect or replicate padding applied, for a convolution that then pads nothing.
inline Tensor<cuda> padded_copy(cuda& dev, const Tensor<cuda>& x, const Conv2dGeometry& g) {
    const Padding2d p = g.pads();
    const Shape s = x.shape();
    Tensor<cuda> xp(dev, Shape{s.n, s.c, p.out_h(s.h), p.out_w(s.w)});
    pad2d_forward(dev, g.padding_mode, x, xp, p);
    return xp;
}

}  // namespace cuda_detail

// y = conv(x, w), overwritten.
inline void conv2d_forward(cuda& dev, const Tensor<cuda>& x, const Tensor<cuda>& w, Tensor<cuda>& y,
                           const Conv2dGeometry& g) {
    using namespace cuda_detail;
    if (pads_by_copy(g)) return conv2d_forward(dev, padded_copy(dev, x, g), w, y, without_padding(g));
    const ConvPlan& a = plan(dev, x.shape(), y.shape(), g);
    const ConvDescriptors& d = *a.d;
    d.set_math(a.forward_math);
    const float one = 1, zero = 0;
    CYCLEGAN_CUDNN_CHECK(cudnnConvolutionForward(dev.cudnn(), &one, d.x, x.data(), d.w, w.data(), d.conv, a.forward,
                                                 dev.workspace(a.forward_bytes), a.forward_bytes, &zero, d.y,
                                                 y.data()));
}

// dx = the adjoint of the convolution applied to dy, overwritten (also ConvTranspose2d's forward).
inline void conv2d_backward_data(cuda& dev, const Tensor<cuda>& dy, const Tensor<cuda>& w, Tensor<cuda>& dx,
                                 const Conv2dGeometry& g) {
    using namespace cuda_detail;
    if (pads_by_copy(g)) {
        // The gradient of the padded copy, then each padded pixel's share folded back into dx.
        const Padding2d p = g.pads();
        const Shape s = dx.shape();
        Tensor<cuda> dxp(dev, Shape{s.n, s.c, p.out_h(s.h), p.out_w(s.w)});
        conv2d_backward_data(dev, dy, w, dxp, without_padding(g));
        pad2d_backward(dev, g.padding_mode, dxp, dx, p);
        return;
    }
    const ConvPlan& a = plan(dev, dx.shape(), dy.shape(), g);
    const ConvDescriptors& d = *a.d;
    d.set_math(a.backward_data_math);
    const float one = 1, zero = 0;
    CYCLEGAN_CUDNN_CHECK(cudnnConvolutionBackwardData(dev.cudnn(), &one, d.w, w.data(), d.y, dy.data(), d.conv,
                                                      a.backward_data, dev.workspace(a.backward_data_bytes),
                                                      a.backward_data_bytes, &zero, d.x, dx.data()));
}

// dw += the weight gradient of y = conv(x, w) for the output gradient dy.
inline void conv2d_backward_filter(cuda& dev, const Tensor<cuda>& x, const Tensor<cuda>& dy, Tensor<cuda>& dw,
                                   const Conv2dGeometry& g) {
    using namespace cuda_detail;
    if (pads_by_copy(g)) return conv2d_backward_filter(dev, padded_copy(dev, x, g), dy, dw, without_padding(g));
    const ConvPlan& a = plan(dev, x.shape(), dy.shape(), g);
    const ConvDescriptors& d = *a.d;
    d.set_math(a.backward_filter_math);
    const float one = 1;
    CYCLEGAN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(dev.cudnn(), &one, d.x, x.data(), d.y, dy.data(), d.conv,
                                                        a.backward_filter, dev.workspace(a.backward_filter_bytes),
                                                        a.backward_filter_bytes, &one, d.w, dw.data()));
}

}  // namespace cyclegan
