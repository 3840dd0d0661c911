#pragma once
// A layer added from outside the library, the worked example of docs/adding-a-layer.md:
// ChannelScale, CaiT's LayerScale (Touvron et al. 2021, "Going deeper with Image Transformers")
// for NCHW images: y[n, c, h, w] = x[n, c, h, w] * weight[c], one learned factor per channel.
//
// Its four parts are the four homes a layer has in the library; a layer added to the library
// puts each part in the file named in its heading, and touches nothing else but cyclegan.hpp,
// backend/cuda/kernels.cuh and the tests (the doc says how). Here it lives in the program's own
// namespace: the kernels are declared before the entry points that call them, so those find them
// by name (in the library, argument-dependent lookup on the backend type finds them).
#include <cyclegan/cyclegan.hpp>
#if defined(__CUDACC__)
#include <cyclegan/cuda.cuh>
#endif

namespace example {

using namespace cyclegan;

// ---- 1. The op's contract (the library: include/cyclegan/ops/channel_scale.hpp) ----------------
// The arithmetic both backends share (CYCLEGAN_HD: compiled for the GPU too), the op's check, and
// (just before section 4, since they look the kernels up) the kernels a backend provides, the
// concept ChannelScaleKernels, and the checked entry points every caller goes through.

// The channel of flat NCHW index i.
CYCLEGAN_HD inline int channel_of(std::size_t i, int channels, std::size_t plane) {
    return static_cast<int>(i / plane % static_cast<std::size_t>(channels));
}

// The kernels' contract, run once by the entry points for every backend: one factor per channel,
// and y (or dy) of x's shape. The kernels may then assume it.
template <class Tensor>
void check_channel_scale(const Tensor& x, const Tensor& weight, const Tensor& y) {
    if (weight.numel() != static_cast<std::size_t>(x.shape().c) || !(y.shape() == x.shape()))
        throw shape_error("channel_scale: input " + to_string(x.shape()) + ", " + std::to_string(weight.numel()) +
                          " factors and output " + to_string(y.shape()) + " do not fit");
}

// ---- 2. The CPU's kernels (the library: include/cyclegan/backend/cpu/channel_scale.hpp) --------
// Free functions on the backend type, forward and backward side by side, float and double.

template <class T>
void channel_scale_forward(basic_cpu<T>&, const CpuTensor<T>& x, const CpuTensor<T>& w, CpuTensor<T>& y) {
    const Shape s = x.shape();
    for (std::size_t i = 0; i < x.numel(); ++i) y.data()[i] = x.data()[i] * w.data()[channel_of(i, s.c, s.plane())];
}

// dw[c] sums in double over a channel's N*H*W values, as the library's reductions do.
template <class T>
void channel_scale_backward(basic_cpu<T>&, const CpuTensor<T>& x, const CpuTensor<T>& w, const CpuTensor<T>& dy,
                            CpuTensor<T>* dx, CpuTensor<T>* dw) {
    const Shape s = x.shape();
    std::vector<double> sums(static_cast<std::size_t>(s.c), 0.0);
    for (std::size_t i = 0; i < x.numel(); ++i) {
        const int c = channel_of(i, s.c, s.plane());
        if (dx) dx->data()[i] = dy.data()[i] * w.data()[c];
        sums[c] += static_cast<double>(dy.data()[i]) * x.data()[i];
    }
    if (dw)
        for (int c = 0; c < s.c; ++c) dw->data()[c] += static_cast<T>(sums[c]);
}

// ---- 3. The GPU's kernels (the library: include/cyclegan/backend/cuda/channel_scale.cuh) -------
#if defined(__CUDACC__)
inline void channel_scale_forward(cuda& dev, const Tensor<cuda>& x, const Tensor<cuda>& w, Tensor<cuda>& y) {
    const int C = x.shape().c;
    const std::size_t plane = x.shape().plane();
    const float *px = x.data(), *pw = w.data();
    float* py = y.data();
    cyclegan::for_each_index(dev.stream(), x.numel(),
                           [=] __device__(std::size_t i) { py[i] = px[i] * pw[channel_of(i, C, plane)]; });
}

// dw: one thread per channel walks its N*H*W values in the CPU's order, in double (a small layer's
// gradient; a large one would reduce per block, as backend/cuda/reduce.cuh does).
inline void channel_scale_backward(cuda& dev, const Tensor<cuda>& x, const Tensor<cuda>& w, const Tensor<cuda>& dy,
                                   Tensor<cuda>* dx, Tensor<cuda>* dw) {
    const int N = x.shape().n, C = x.shape().c;
    const std::size_t plane = x.shape().plane();
    const float *px = x.data(), *pw = w.data(), *pdy = dy.data();
    if (dx) {
        float* pdx = dx->data();
        cyclegan::for_each_index(dev.stream(), x.numel(),
                               [=] __device__(std::size_t i) { pdx[i] = pdy[i] * pw[channel_of(i, C, plane)]; });
    }
    if (dw) {
        float* pdw = dw->data();
        cyclegan::for_each_index(dev.stream(), static_cast<std::size_t>(C), [=] __device__(std::size_t c) {
            double sum = 0;
            for (int n = 0; n < N; ++n)
                for (std::size_t k = 0; k < plane; ++k) {
                    const std::size_t i = (static_cast<std::size_t>(n) * C + c) * plane + k;
                    sum += static_cast<double>(pdy[i]) * px[i];
                }
            pdw[c] += static_cast<float>(sum);
        });
    }
}
#endif

// The kernels a backend provides and their checked entry points: part of the op's contract (in
// the library, in ops/ with section 1). Outside the library they follow the kernels, since they
// look them up where they are defined.
template <class B>
concept ChannelScaleKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct) {
    channel_scale_forward(d, ct, ct, t);           // y = x * w[c]
    channel_scale_backward(d, ct, ct, ct, &t, &t);  // dx = dy * w[c] (when asked); dw[c] += sum dy * x
};

// One checked entry point per kernel: the check, once for every backend, then the backend's kernel.
// (In the library an entry point opens with `using kernel_lookup::<name>;` instead, and
// argument-dependent lookup finds the kernel: ops/kernel_lookup.hpp.)
namespace ops {

template <class B>
void channel_scale_forward(B& dev, const Tensor<B>& x, const Tensor<B>& w, Tensor<B>& y) {
    static_assert(ChannelScaleKernels<B>, "channel_scale_forward: the backend has no channel_scale kernels; include them");
    check_channel_scale(x, w, y);
    using example::channel_scale_forward;
    channel_scale_forward(dev, x, w, y);
}

template <class B>
void channel_scale_backward(B& dev, const Tensor<B>& x, const Tensor<B>& w, const Tensor<B>& dy, Tensor<B>* dx,
                            Tensor<B>* dw) {
    static_assert(ChannelScaleKernels<B>, "channel_scale_backward: the backend has no channel_scale kernels; include them");
    check_channel_scale(x, w, dy);
    if ((dx && !(dx->shape() == x.shape())) || (dw && dw->numel() != w.numel()))
        throw shape_error("channel_scale_backward: dx or dw of another shape than x or the weights");
    using example::channel_scale_backward;
    channel_scale_backward(dev, x, w, dy, dx, dw);
}

}  // namespace ops

// ---- 4. The layer (the library: include/cyclegan/layers/channel_scale.hpp) ---------------------
// Its shape rule (output_shape), and the math's order: allocate, call the entry points, save what
// backward needs.
template <class B>
class ChannelScale {
public:
    using backend = B;
    struct Context {
        Tensor<B> x;  // a view of the input: backward needs it for dw
    };

    explicit ChannelScale(int channels) : channels_(channels) {}

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase) {
        static_assert(ChannelScaleKernels<B>, "ChannelScale: the backend has no channel_scale kernels; include its header");
        expect_bound("ChannelScale", weight_);
        Tensor<B> y(dev, output_shape(x.shape()));
        ops::channel_scale_forward(dev, x, weight_, y);
        ctx.x = x;
        return y;
    }

    // [N, channels, H, W] -> the same; shape_error naming the layer for other channels. A Network
    // walks it when built and before each call (expect_channels takes a walk's any_channels).
    Shape output_shape(const Shape& x) const {
        expect_channels("ChannelScale", x, channels_);
        return {x.n, channels_, x.h, x.w};
    }

    // dx = dy * w[c]; dw[c] += sum over n, h, w of dy * x.
    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad grad) {
        expect_output_grad("ChannelScale", !ctx.x.empty(), dy.shape(), ctx.x.shape());
        if (dx) *dx = Tensor<B>(dev, ctx.x.shape());
        ops::channel_scale_backward(dev, ctx.x, weight_, dy, dx, grad == Grad::accumulate ? &grad_weight_ : nullptr);
        ctx = {};
    }

    // PyTorch's name and shape; initialised as a norm's weight (about 1).
    template <class V>
    void parameters(V&& visit, const std::string& prefix) {
        visit(ParamSpec{join_name(prefix, "weight"), {channels_}, ParamRole::norm_weight}, weight_, &grad_weight_);
    }

private:
    int channels_;
    Tensor<B> weight_, grad_weight_;  // views into the Network's buffers
};

}  // namespace example
