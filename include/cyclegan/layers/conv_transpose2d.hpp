#pragma once
#include <string>

#include "../core/concepts.hpp"
#include "../ops/conv.hpp"
#include "bind_check.hpp"

namespace cyclegan {

struct ConvTranspose2dOptions {
    Pair2 stride{1}, padding{0}, output_padding{0}, dilation{1};
    bool bias = true;
};

// PyTorch's nn.ConvTranspose2d: the adjoint of a convolution, weight shape [in, out, kh, kw].
// It is a Conv2d (out -> in) run backwards, so it reuses the three convolution kernels with the
// roles of data and gradient swapped.
template <class B>
class ConvTranspose2d {
public:
    using backend = B;
    struct Context {
        Tensor<B> x;
    };

    ConvTranspose2d(int in_channels, int out_channels, Pair2 kernel_size, ConvTranspose2dOptions o = {})
        : in_(in_channels), out_(out_channels), bias_on_(o.bias), output_padding_(o.output_padding),
          geom_{kernel_size, o.stride, o.padding, o.dilation} {
        if (o.output_padding.h >= std::max(o.stride.h, o.dilation.h) ||
            o.output_padding.w >= std::max(o.stride.w, o.dilation.w))
            throw std::invalid_argument("ConvTranspose2d: output_padding must be smaller than stride or dilation");
    }

    // y = conv2d_backward_data(x, W) + b
    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase) {
        static_assert(ConvKernels<B>, "ConvTranspose2d: the backend has no convolution kernels; include the backend's header");
        expect_bound("ConvTranspose2d", weight_);
        expect_channels("ConvTranspose2d", x.shape(), in_);
        const Shape s = x.shape();
        Tensor<B> y(dev, output_shape(s));
        conv2d_backward_data(dev, x, weight_, y, geom_);
        if (bias_on_) add_channel_bias(dev, y, bias_);
        ctx.x = x;
        return y;
    }

    // dW += x * im2col(dy)^T, db += sum(dy), dx = conv2d(dy, W)
    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad grad) {
        expect_output_grad("ConvTranspose2d", !ctx.x.empty(), dy.shape(), output_shape(ctx.x.shape()));
        if (grad == Grad::accumulate) {
            conv2d_backward_filter(dev, dy, ctx.x, grad_weight_, geom_);
            if (bias_on_) channel_bias_backward(dev, dy, grad_bias_);
        }
        if (dx) {
            *dx = Tensor<B>(dev, ctx.x.shape());
            conv2d_forward(dev, dy, weight_, *dx, geom_);
        }
        ctx = {};
    }

    template <class V>
    void parameters(V&& visit, const std::string& prefix) {
        visit(ParamSpec{join_name(prefix, "weight"), {in_, out_, geom_.kernel.h, geom_.kernel.w},
                        ParamRole::weight},
              weight_, &grad_weight_);
        if (bias_on_)
            visit(ParamSpec{join_name(prefix, "bias"), {out_}, ParamRole::bias}, bias_, &grad_bias_);
    }

private:
    Shape output_shape(const Shape& x) const {
        return {x.n, out_, geom_.transposed_h(x.h, output_padding_.h), geom_.transposed_w(x.w, output_padding_.w)};
    }

    int in_, out_;
    bool bias_on_;
    Pair2 output_padding_;
    Conv2dGeometry geom_;
    Tensor<B> weight_, bias_, grad_weight_, grad_bias_;
};

}  // namespace cyclegan
