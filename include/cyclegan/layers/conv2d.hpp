#pragma once
#include <string>

#include "../core/concepts.hpp"
#include "../ops/conv.hpp"
#include "bind_check.hpp"

namespace cyclegan {

struct Conv2dOptions {
    Pair2 stride{1}, padding{0}, dilation{1};
    bool bias = true;
    PaddingMode padding_mode = PaddingMode::zeros;  // PyTorch's padding_mode: zeros | reflect | replicate
};

// y = W * x + b, PyTorch's nn.Conv2d (groups = 1). Weight shape [out, in, kh, kw].
template <class B>
class Conv2d {
public:
    using backend = B;
    struct Context {
        Tensor<B> x;
    };

    Conv2d(int in_channels, int out_channels, Pair2 kernel_size, Conv2dOptions o = {})
        : in_(in_channels), out_(out_channels), bias_on_(o.bias),
          geom_{kernel_size, o.stride, o.padding, o.dilation, o.padding_mode} {}

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase phase) {
        static_assert(ConvKernels<B>, "Conv2d: the backend has no convolution kernels; include the backend's header");
        expect_bound("Conv2d", weight_);
        expect_channels("Conv2d", x.shape(), in_);
        const Shape s = x.shape();
        Tensor<B> y(dev, output_shape(s));
        if (y.shape().h <= 0 || y.shape().w <= 0)
            throw shape_error("Conv2d: input " + to_string(s) + " is smaller than the kernel");
        check_padding("Conv2d", geom_.padding_mode, geom_.pads(), s);
        // A backend that can keep transformed weights for inference takes ConvWeights (cpu does).
        if constexpr (requires { conv2d_forward(dev, x, weight_, y, geom_, ConvWeights::fixed); })
            conv2d_forward(dev, x, weight_, y, geom_, phase == Phase::inference ? ConvWeights::fixed : ConvWeights::changing);
        else
            conv2d_forward(dev, x, weight_, y, geom_);
        if (bias_on_) add_channel_bias(dev, y, bias_);
        ctx.x = x;
        return y;
    }

    // dW += dy * x^T (as im2col), db += sum(dy), dx = W^T * dy (as col2im).
    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad grad) {
        expect_output_grad("Conv2d", !ctx.x.empty(), dy.shape(), output_shape(ctx.x.shape()));
        if (grad == Grad::accumulate) {
            conv2d_backward_filter(dev, ctx.x, dy, grad_weight_, geom_);
            if (bias_on_) channel_bias_backward(dev, dy, grad_bias_);
        }
        if (dx) {
            *dx = Tensor<B>(dev, ctx.x.shape());
            conv2d_backward_data(dev, dy, weight_, *dx, geom_);
        }
        ctx = {};
    }

    template <class V>
    void parameters(V&& visit, const std::string& prefix) {
        visit(ParamSpec{join_name(prefix, "weight"), {out_, in_, geom_.kernel.h, geom_.kernel.w},
                        ParamRole::weight},
              weight_, &grad_weight_);
        if (bias_on_)
            visit(ParamSpec{join_name(prefix, "bias"), {out_}, ParamRole::bias}, bias_, &grad_bias_);
    }

    int in_channels() const { return in_; }
    int out_channels() const { return out_; }
    const Conv2dGeometry& geometry() const { return geom_; }

private:
    Shape output_shape(const Shape& x) const { return {x.n, out_, geom_.out_h(x.h), geom_.out_w(x.w)}; }

    int in_, out_;
    bool bias_on_;
    Conv2dGeometry geom_;
    Tensor<B> weight_, bias_, grad_weight_, grad_bias_;
};

}  // namespace cyclegan
