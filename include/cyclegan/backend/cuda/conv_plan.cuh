#pragma once
// What a convolution of one shape needs on every call, made once and kept by the device object:
// cuDNN's descriptors and the algorithms measured for it (conv.cuh fills it on first use).
#include <cstddef>
#include <memory>

#include <cudnn.h>

#include "../../ops/conv.hpp"
#include "../../core/shape.hpp"
#include "errors.cuh"

namespace cyclegan {
namespace cuda_detail {

// The four descriptors of one convolution call: input x, filter w {K, C, kh, kw}, output y.
class ConvDescriptors {
public:
    ConvDescriptors(const Shape& xs, const Shape& ys, const Conv2dGeometry& g, cudnnMathType_t math) {
        CYCLEGAN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
        CYCLEGAN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
        CYCLEGAN_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
        CYCLEGAN_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
        CYCLEGAN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, xs.n, xs.c, xs.h, xs.w));
        CYCLEGAN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, ys.n, ys.c, ys.h, ys.w));
        CYCLEGAN_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, ys.c, xs.c, g.kernel.h,
                                                        g.kernel.w));
        CYCLEGAN_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, g.padding.h, g.padding.w, g.stride.h, g.stride.w,
                                                             g.dilation.h, g.dilation.w, CUDNN_CROSS_CORRELATION,
                                                             CUDNN_DATA_FLOAT));
        set_math(math);
    }
    ~ConvDescriptors() {
        cudnnDestroyConvolutionDescriptor(conv);
        cudnnDestroyFilterDescriptor(w);
        cudnnDestroyTensorDescriptor(y);
        cudnnDestroyTensorDescriptor(x);
    }
    ConvDescriptors(const ConvDescriptors&) = delete;
    ConvDescriptors& operator=(const ConvDescriptors&) = delete;

    // Each call sets the math type its algorithm was measured with.
    void set_math(cudnnMathType_t math) const { CYCLEGAN_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, math)); }

    cudnnTensorDescriptor_t x{}, y{};
    cudnnFilterDescriptor_t w{};
    cudnnConvolutionDescriptor_t conv{};
};

}  // namespace cuda_detail

struct ConvPlan {
    std::unique_ptr<cuda_detail::ConvDescriptors> d;
    cudnnConvolutionFwdAlgo_t forward{};
    cudnnConvolutionBwdDataAlgo_t backward_data{};
    cudnnConvolutionBwdFilterAlgo_t backward_filter{};
    std::size_t forward_bytes = 0, backward_data_bytes = 0, backward_filter_bytes = 0;
    cudnnMathType_t forward_math{}, backward_data_math{}, backward_filter_math{};
};

}  // namespace cyclegan
