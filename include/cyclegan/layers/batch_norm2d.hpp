#pragma once
#include <string>

#include "../core/concepts.hpp"
#include "../ops/norm.hpp"
#include "bind_check.hpp"

namespace cyclegan {

struct BatchNorm2dOptions {
    double eps = 1e-5;
    // running = (1 - momentum) * running + momentum * batch. PyTorch's momentum=None (a cumulative
    // average over num_batches_tracked) is not supported, and num_batches_tracked is not stored: it
    // only serves that mode.
    double momentum = 0.1;
    bool affine = true;
    bool track_running_stats = true;
};

// PyTorch's nn.BatchNorm2d: each channel is normalised over N*H*W by the batch's mean and biased
// variance in training (updating running_mean and running_var, the latter from the unbiased
// variance), and by the running statistics in eval, treated there as constants. Without
// track_running_stats there are no buffers and eval uses the batch's statistics too, as PyTorch does.
template <class B>
class BatchNorm2d {
public:
    using backend = B;
    struct Context {
        Tensor<B> x;           // a view of the input
        Tensor<B> mean, rstd;  // per channel: [C, 1, 1, 1]
        bool batch_stats = true;  // false: running statistics, constants for backward
    };

    explicit BatchNorm2d(int num_features, BatchNorm2dOptions o = {})
        : channels_(num_features), eps_(o.eps), momentum_(o.momentum), affine_(o.affine),
          track_(o.track_running_stats) {}

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase phase) {
        static_assert(BatchNormKernels<B>, "BatchNorm2d: the backend has no normalisation kernels; include the backend's header");
        if (affine_) expect_bound("BatchNorm2d", weight_);
        if (track_) expect_bound("BatchNorm2d", running_mean_);
        expect_channels("BatchNorm2d", x.shape(), channels_);
        const Shape s = x.shape();
        const auto g = NormGroups::per_channel(s);
        const Shape stat{channels_, 1, 1, 1};
        ctx.batch_stats = phase == Phase::train || !track_;
        if (ctx.batch_stats) {
            // As PyTorch: one value per channel has no variance to normalise by (nor an unbiased one).
            if (g.count() <= 1)
                throw shape_error("BatchNorm2d: expected more than 1 value per channel when using batch "
                                  "statistics, got input of shape " + to_string(s));
            ctx.mean = Tensor<B>(dev, stat);
            ctx.rstd = Tensor<B>(dev, stat);
            const bool update = track_ && phase == Phase::train;
            Tensor<B> var = update ? Tensor<B>(dev, stat) : Tensor<B>();
            norm_statistics(dev, x, g, eps_, ctx.mean, ctx.rstd, update ? &var : nullptr);
            if (update)
                update_running_statistics(dev, ctx.mean, var, g.count(), momentum_, running_mean_, running_var_);
        } else {
            // Copies: a training forward before this call's backward would change the buffers.
            ctx.mean = running_mean_.clone(dev);
            ctx.rstd = Tensor<B>(dev, stat);
            norm_inverse_std(dev, running_var_, eps_, ctx.rstd);
        }
        Tensor<B> y(dev, s);
        norm_forward(dev, x, g, ctx.mean, ctx.rstd, weight_, bias_, y);
        ctx.x = x;
        return y;
    }

    // Batch statistics: dx = rstd * (w*dy - mean(w*dy) - xhat * mean(w*dy*xhat)) per channel;
    // running statistics: dx = w * rstd * dy. Both: dw += sum(dy*xhat), db += sum(dy).
    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad grad) {
        expect_output_grad("BatchNorm2d", !ctx.x.empty(), dy.shape(), ctx.x.shape());
        const bool params = affine_ && grad == Grad::accumulate;
        if (dx) *dx = Tensor<B>(dev, ctx.x.shape());
        if (dx || params)
            norm_backward(dev, ctx.x, dy, NormGroups::per_channel(ctx.x.shape()), ctx.mean, ctx.rstd,
                          weight_, ctx.batch_stats, dx, params ? &grad_weight_ : nullptr,
                          params ? &grad_bias_ : nullptr);
        ctx = {};
    }

    // state_dict order: weight, bias, running_mean, running_var (num_batches_tracked is not kept).
    template <class V>
    void parameters(V&& visit, const std::string& prefix) {
        if (affine_) {
            visit(ParamSpec{join_name(prefix, "weight"), {channels_}, ParamRole::norm_weight}, weight_, &grad_weight_);
            visit(ParamSpec{join_name(prefix, "bias"), {channels_}, ParamRole::norm_bias}, bias_, &grad_bias_);
        }
        if (track_) {
            visit(ParamSpec{join_name(prefix, "running_mean"), {channels_}, ParamRole::running_mean},
                  running_mean_, static_cast<Tensor<B>*>(nullptr));
            visit(ParamSpec{join_name(prefix, "running_var"), {channels_}, ParamRole::running_var},
                  running_var_, static_cast<Tensor<B>*>(nullptr));
        }
    }

    int num_features() const { return channels_; }
    double eps() const { return eps_; }
    double momentum() const { return momentum_; }
    bool affine() const { return affine_; }
    bool track_running_stats() const { return track_; }

private:
    int channels_;
    double eps_, momentum_;
    bool affine_, track_;
    Tensor<B> weight_, bias_, grad_weight_, grad_bias_;  // empty without affine
    Tensor<B> running_mean_, running_var_;                // empty without track_running_stats
};

}  // namespace cyclegan
