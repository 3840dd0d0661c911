#pragma once
// Instance normalisation. What it shares with batch normalisation (layers/batch_norm2d.hpp), how
// a norm layer groups an NCHW tensor's values and the kernels that normalise by group, is
// ops/norm.hpp.
#include <cstddef>
#include <string>

#include "../core/concepts.hpp"
#include "../ops/norm.hpp"
#include "bind_check.hpp"

namespace cyclegan {

struct InstanceNorm2dOptions {
    double eps = 1e-5;
    bool affine = false;
    // PyTorch's track_running_stats (and so momentum) is not supported: the reference CycleGAN
    // uses InstanceNorm2d(affine=False, track_running_stats=False), which always normalises by the
    // statistics of the image itself, in training and in eval alike.
};

// PyTorch's nn.InstanceNorm2d(num_features, eps, affine): each (n, c) plane is normalised by its
// own mean and biased variance over H*W, then, with affine, scaled by weight[c] and shifted by
// bias[c]. Without affine it has no parameters (as in PyTorch's state_dict).
template <class B>
class InstanceNorm2d {
public:
    using backend = B;
    struct Context {
        Tensor<B> x;           // a view of the input
        Tensor<B> mean, rstd;  // per (n, c): [N*C, 1, 1, 1]
    };

    explicit InstanceNorm2d(int num_features, InstanceNorm2dOptions o = {})
        : channels_(num_features), eps_(o.eps), affine_(o.affine) {}

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase) {
        static_assert(NormKernels<B>, "InstanceNorm2d: the backend has no normalisation kernels; include the backend's header");
        if (affine_) expect_bound("InstanceNorm2d", weight_);
        expect_channels("InstanceNorm2d", x.shape(), channels_);
        const Shape s = x.shape();
        // As PyTorch: one value per plane would normalise to 0 whatever it is.
        if (s.plane() <= 1)
            throw shape_error("InstanceNorm2d: expected more than 1 spatial element, got input of shape " +
                              to_string(s));
        const auto g = NormGroups::per_plane(s);
        ctx.mean = Tensor<B>(dev, Shape{g.groups, 1, 1, 1});
        ctx.rstd = Tensor<B>(dev, Shape{g.groups, 1, 1, 1});
        norm_statistics(dev, x, g, eps_, ctx.mean, ctx.rstd, static_cast<Tensor<B>*>(nullptr));
        Tensor<B> y(dev, s);
        norm_forward(dev, x, g, ctx.mean, ctx.rstd, weight_, bias_, y);
        ctx.x = x;
        return y;
    }

    // dx = rstd * (w*dy - mean(w*dy) - xhat * mean(w*dy*xhat)) per plane; dw += sum(dy*xhat), db += sum(dy).
    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad grad) {
        expect_output_grad("InstanceNorm2d", !ctx.x.empty(), dy.shape(), ctx.x.shape());
        const bool params = affine_ && grad == Grad::accumulate;
        if (dx) *dx = Tensor<B>(dev, ctx.x.shape());
        if (dx || params)
            norm_backward(dev, ctx.x, dy, NormGroups::per_plane(ctx.x.shape()), ctx.mean, ctx.rstd,
                          weight_, true, dx, params ? &grad_weight_ : nullptr, params ? &grad_bias_ : nullptr);
        ctx = {};
    }

    template <class V>
    void parameters(V&& visit, const std::string& prefix) {
        if (!affine_) return;
        visit(ParamSpec{join_name(prefix, "weight"), {channels_}, ParamRole::norm_weight}, weight_, &grad_weight_);
        visit(ParamSpec{join_name(prefix, "bias"), {channels_}, ParamRole::norm_bias}, bias_, &grad_bias_);
    }

    int num_features() const { return channels_; }
    double eps() const { return eps_; }
    bool affine() const { return affine_; }

private:
    int channels_;
    double eps_;
    bool affine_;
    Tensor<B> weight_, bias_, grad_weight_, grad_bias_;  // empty without affine
};

}  // namespace cyclegan
