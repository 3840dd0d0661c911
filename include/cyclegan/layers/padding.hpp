#pragma once
// Spatial padding: PyTorch's nn.ReflectionPad2d, nn.ReplicationPad2d and nn.ZeroPad2d. One generic
// layer; the mode's index mapping padded_source (ops/padding.hpp) is the whole difference between
// the three. Forward gathers y[oh, ow] = x[source(oh - top, H), source(ow - left, W)]; backward is
// its adjoint, a scatter-add of dy onto the pixels that were read.
#include <stdexcept>
#include <string>

#include "../core/concepts.hpp"
#include "../ops/padding.hpp"
#include "bind_check.hpp"

namespace cyclegan {

template <class B, PaddingMode Mode>
class Pad2d {
public:
    using backend = B;
    struct Context {
        Shape x;  // the gather needs only the input's shape to be undone
    };

    explicit Pad2d(int padding) : Pad2d(padding, padding, padding, padding) {}
    Pad2d(int left, int right, int top, int bottom) : pad_{left, right, top, bottom} {
        if (left < 0 || right < 0 || top < 0 || bottom < 0)
            throw std::invalid_argument(std::string(name) + ": negative padding (" + pad_.describe() + ")");
    }

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase) {
        static_assert(PadKernels<B>,
                      "Pad2d (ReflectionPad2d, ReplicationPad2d, ZeroPad2d): the backend has no padding "
                      "kernels pad2d_forward/pad2d_backward; include the backend's header");
        Tensor<B> y(dev, output_shape(x.shape()));
        ops::pad2d_forward(dev, Mode, x, y, pad_);
        ctx.x = x.shape();
        return y;
    }

    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad) {
        const Shape s = ctx.x;
        const bool saved = !(s == Shape{});
        expect_output_grad(name, saved, dy.shape(), saved ? output_shape(s) : Shape{});
        if (dx) {
            *dx = Tensor<B>(dev, s);
            ops::pad2d_backward(dev, Mode, dy, *dx, pad_);
        }
        ctx = {};
    }

    // [N, C, H, W] -> [N, C, H + top + bottom, W + left + right]; the mode must be able to pad x.
    Shape output_shape(const Shape& x) const { return padded_shape(name, Mode, pad_, x); }

    const Padding2d& padding() const { return pad_; }

private:
    static constexpr const char* name = padding_names(Mode).layer;
    Padding2d pad_;
};

// PyTorch's names. Constructed from one int (every side) or from left, right, top, bottom.
template <class B>
struct ReflectionPad2d : Pad2d<B, PaddingMode::reflect> {
    using Pad2d<B, PaddingMode::reflect>::Pad2d;
};

template <class B>
struct ReplicationPad2d : Pad2d<B, PaddingMode::replicate> {
    using Pad2d<B, PaddingMode::replicate>::Pad2d;
};

template <class B>
struct ZeroPad2d : Pad2d<B, PaddingMode::zeros> {
    using Pad2d<B, PaddingMode::zeros>::Pad2d;
};

}  // namespace cyclegan
