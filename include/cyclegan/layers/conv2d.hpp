#pragma once
// Conv2d and ConvTranspose2d: one convolution, run forwards or as its adjoint. The transposed
// layer is a Conv2d (out -> in) run backwards, so the three convolution kernels (ops/conv.hpp)
// serve both with the roles of data and gradient swapped:
//                      forward y        dW +=                    dx
//   Conv2d             conv(x, W)       filter(x, dy)            data(dy, W)
//   ConvTranspose2d    data(x, W)       filter(dy, x)            conv(dy, W)
// (conv = conv2d_forward, data = conv2d_backward_data, filter = conv2d_backward_filter); both add
// b per output channel, db += sum(dy).
#include <algorithm>
#include <stdexcept>
#include <string>

#include "../core/concepts.hpp"
#include "../ops/conv.hpp"
#include "bind_check.hpp"

namespace cyclegan {

template <class B, bool Transposed>
class Convolution {
    static constexpr const char* name = Transposed ? "ConvTranspose2d" : "Conv2d";

public:
    using backend = B;
    struct Context {
        Tensor<B> x;
    };

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase phase) {
        static_assert(Transposed || ConvKernels<B>, "Conv2d: the backend has no convolution kernels; include the backend's header");
        static_assert(!Transposed || ConvKernels<B>, "ConvTranspose2d: the backend has no convolution kernels; include the backend's header");
        expect_bound(name, weight_);
        Tensor<B> y(dev, output_shape(x.shape()));
        if constexpr (Transposed)
            ops::conv2d_backward_data(dev, x, weight_, y, geom_);
        else
            ops::conv2d_forward(dev, x, weight_, y, geom_, phase == Phase::inference ? ConvWeights::fixed : ConvWeights::changing);
        if (bias_on_) ops::add_channel_bias(dev, y, bias_);
        ctx.x = x;
        return y;
    }

    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad grad) {
        const bool saved = !ctx.x.empty();
        expect_output_grad(name, saved, dy.shape(), saved ? output_shape(ctx.x.shape()) : Shape{});
        if (grad == Grad::accumulate) {
            if constexpr (Transposed) ops::conv2d_backward_filter(dev, dy, ctx.x, grad_weight_, geom_);
            else ops::conv2d_backward_filter(dev, ctx.x, dy, grad_weight_, geom_);
            if (bias_on_) ops::channel_bias_backward(dev, dy, grad_bias_);
        }
        if (dx) {
            *dx = Tensor<B>(dev, ctx.x.shape());
            if constexpr (Transposed) ops::conv2d_forward(dev, dy, weight_, *dx, geom_);
            else ops::conv2d_backward_data(dev, dy, weight_, *dx, geom_);
        }
        ctx = {};
    }

    // [N, in, H, W] -> [N, out, H', W'] (ops/conv.hpp: the kernel must fit, reflection must fit).
    Shape output_shape(const Shape& x) const {
        if constexpr (Transposed) return conv_transpose2d_output_shape(name, x, in_, out_, geom_, output_padding_);
        else return conv2d_output_shape(name, x, in_, out_, geom_);
    }

    // Weight [out, in, kh, kw], or [in, out, kh, kw] transposed (as PyTorch's); bias [out].
    template <class V>
    void parameters(V&& visit, const std::string& prefix) {
        const int rows = Transposed ? in_ : out_, cols = Transposed ? out_ : in_;
        visit(ParamSpec{join_name(prefix, "weight"), {rows, cols, geom_.kernel.h, geom_.kernel.w}, ParamRole::weight},
              weight_, &grad_weight_);
        if (bias_on_) visit(ParamSpec{join_name(prefix, "bias"), {out_}, ParamRole::bias}, bias_, &grad_bias_);
    }

    int in_channels() const { return in_; }
    int out_channels() const { return out_; }
    const Conv2dGeometry& geometry() const { return geom_; }

protected:
    Convolution(int in, int out, bool bias, Conv2dGeometry geom, Pair2 output_padding = 0)
        : in_(in), out_(out), bias_on_(bias), output_padding_(output_padding), geom_(geom) {}

private:
    int in_, out_;
    bool bias_on_;
    Pair2 output_padding_;
    Conv2dGeometry geom_;
    Tensor<B> weight_, bias_, grad_weight_, grad_bias_;
};

struct Conv2dOptions {
    Pair2 stride{1}, padding{0}, dilation{1};
    bool bias = true;
    PaddingMode padding_mode = PaddingMode::zeros;  // PyTorch's padding_mode: zeros | reflect | replicate
};

// y = W * x + b, PyTorch's nn.Conv2d (groups = 1). Weight shape [out, in, kh, kw].
template <class B>
struct Conv2d : Convolution<B, false> {
    Conv2d(int in_channels, int out_channels, Pair2 kernel_size, Conv2dOptions o = {})
        : Convolution<B, false>(in_channels, out_channels, o.bias,
                                {kernel_size, o.stride, o.padding, o.dilation, o.padding_mode}) {}
};

struct ConvTranspose2dOptions {
    Pair2 stride{1}, padding{0}, output_padding{0}, dilation{1};
    bool bias = true;
};

// PyTorch's nn.ConvTranspose2d: the adjoint of a convolution, weight shape [in, out, kh, kw].
template <class B>
struct ConvTranspose2d : Convolution<B, true> {
    ConvTranspose2d(int in_channels, int out_channels, Pair2 kernel_size, ConvTranspose2dOptions o = {})
        : Convolution<B, true>(in_channels, out_channels, o.bias, {kernel_size, o.stride, o.padding, o.dilation},
                               o.output_padding) {
        if (o.output_padding.h >= std::max(o.stride.h, o.dilation.h) ||
            o.output_padding.w >= std::max(o.stride.w, o.dilation.w))
            throw std::invalid_argument("ConvTranspose2d: output_padding must be smaller than stride or dilation");
    }
};

}  // namespace cyclegan
