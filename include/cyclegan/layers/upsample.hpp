#pragma once
// nn.Upsample with an integer scale_factor: mode 'nearest' or 'bilinear' (align_corners False,
// PyTorch's default, or True). The index formulas are in ops/upsample.hpp.
#include <stdexcept>
#include <string>

#include "../core/concepts.hpp"
#include "../ops/upsample.hpp"
#include "bind_check.hpp"

namespace cyclegan {

template <class B>
class Upsample {
public:
    using backend = B;
    struct Context {
        Shape x;  // the gather needs only the input's shape to be undone
    };

    explicit Upsample(UpsampleOptions o = {}) : o_(o) {
        if (o.scale_factor < 1)
            throw std::invalid_argument("Upsample: scale_factor must be a positive integer, got " +
                                        std::to_string(o.scale_factor));
        if (o.align_corners && o.mode == UpsampleMode::nearest)
            throw std::invalid_argument("Upsample: align_corners can only be set with mode bilinear");
    }

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase) {
        static_assert(UpsampleKernels<B>,
                      "Upsample: the backend has no upsampling kernels (upsample_nearest2d_*, "
                      "upsample_bilinear2d_*); include the backend's header");
        const int k = o_.scale_factor;
        Tensor<B> y(dev, output_shape(x.shape()));
        if (o_.mode == UpsampleMode::nearest)
            ops::upsample_nearest2d_forward(dev, x, y, k);
        else
            ops::upsample_bilinear2d_forward(dev, x, y, k, o_.align_corners);
        ctx.x = x.shape();
        return y;
    }

    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad) {
        const Shape s = ctx.x;
        const int k = o_.scale_factor;
        const bool saved = !(s == Shape{});
        expect_output_grad("Upsample", saved, dy.shape(), saved ? output_shape(s) : Shape{});
        if (dx) {
            *dx = Tensor<B>(dev, s);
            if (o_.mode == UpsampleMode::nearest)
                ops::upsample_nearest2d_backward(dev, dy, *dx, k);
            else
                ops::upsample_bilinear2d_backward(dev, dy, *dx, k, o_.align_corners);
        }
        ctx = {};
    }

    // [N, C, H, W] -> [N, C, k H, k W]; an input must have pixels.
    Shape output_shape(const Shape& x) const { return upsampled_shape("Upsample", x, o_.scale_factor); }

    const UpsampleOptions& options() const { return o_; }

private:
    UpsampleOptions o_;
};

}  // namespace cyclegan
