#pragma once
// Instance and batch normalisation. How they group an NCHW tensor's values and the kernels that
// normalise by group are ops/norm.hpp; what the two layers share beyond that is Norm2dLayer.
#include <string>
#include <utility>

#include "../core/concepts.hpp"
#include "../core/norm_statistics_source.hpp"
#include "../ops/norm.hpp"
#include "bind_check.hpp"

namespace cyclegan {

// Normalisation by per-group statistics, then, with affine, weight[c] * xhat + bias[c]; the
// statistics are the input's own (a group's mean and biased variance) or, for batch norm in eval,
// its running ones. `Groups` (NormGroups::per_plane or per_channel) says which values form a group.
template <class B, NormGroups (*Groups)(const Shape&)>
class Norm2dLayer {
public:
    using backend = B;
    struct Context {
        Tensor<B> x;              // a view of the input
        Tensor<B> mean, rstd;     // per group: [groups, 1, 1, 1]
        bool batch_stats = true;  // false: constant statistics (batch norm's running ones in eval)
    };

    // Statistics of the input: dx = rstd * (w*dy - mean(w*dy) - xhat * mean(w*dy*xhat)) per group;
    // constant statistics: dx = w * rstd * dy. Both: dw += sum(dy*xhat), db += sum(dy).
    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad grad) {
        expect_output_grad(name_, !ctx.x.empty(), dy.shape(), ctx.x.shape());
        const bool params = affine_ && grad == Grad::accumulate;
        if (dx) *dx = Tensor<B>(dev, ctx.x.shape());
        if (dx || params)
            ops::norm_backward(dev, ctx.x, dy, Groups(ctx.x.shape()), ctx.mean, ctx.rstd, weight_, ctx.batch_stats, dx,
                               params ? &grad_weight_ : nullptr, params ? &grad_bias_ : nullptr);
        ctx = {};
    }

    int num_features() const { return channels_; }
    double eps() const { return eps_; }
    bool affine() const { return affine_; }

protected:
    Norm2dLayer(const char* name, int channels, double eps, bool affine)
        : name_(name), channels_(channels), eps_(eps), affine_(affine) {}

    NormGroups groups_of(const Tensor<B>& x) const {
        if (affine_) expect_bound(name_, weight_);
        return Groups(x.shape());
    }

    // x with the layer's channels (any_channels become them), else shape_error.
    Shape with_channels(const Shape& x) const {
        expect_channels(name_, x, channels_);
        return {x.n, channels_, x.h, x.w};
    }

    // y = (x - mean) * rstd * weight + bias, with ctx's statistics; saves x for backward, or, in
    // inference, writes y over x when the caller gave x up (output_over_input).
    Tensor<B> normalize(B& dev, Tensor<B>&& x, const NormGroups& g, Context& ctx, Phase phase) const {
        const bool keep_x = phase != Phase::inference;
        Tensor<B> y = output_over_input(dev, x, keep_x);
        ops::norm_forward(dev, x, g, ctx.mean, ctx.rstd, weight_, bias_, y);
        if (keep_x) ctx.x = std::move(x);
        return y;
    }

    template <class V>
    void affine_parameters(V& visit, const std::string& prefix) {
        if (!affine_) return;
        visit(ParamSpec{join_name(prefix, "weight"), {channels_}, ParamRole::norm_weight}, weight_, &grad_weight_);
        visit(ParamSpec{join_name(prefix, "bias"), {channels_}, ParamRole::norm_bias}, bias_, &grad_bias_);
    }

    const char* name_;
    int channels_;
    double eps_;
    bool affine_;
    Tensor<B> weight_, bias_, grad_weight_, grad_bias_;  // empty without affine
};

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
class InstanceNorm2d : public Norm2dLayer<B, NormGroups::per_plane> {
public:
    using Context = typename Norm2dLayer<B, NormGroups::per_plane>::Context;

    explicit InstanceNorm2d(int num_features, InstanceNorm2dOptions o = {})
        : Norm2dLayer<B, NormGroups::per_plane>("InstanceNorm2d", num_features, o.eps, o.affine) {}

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase phase) { return forward(dev, Tensor<B>(x), ctx, phase); }

    Tensor<B> forward(B& dev, Tensor<B>&& x, Context& ctx, Phase phase) {
        static_assert(NormKernels<B>, "InstanceNorm2d: the backend has no normalisation kernels; include the backend's header");
        (void)output_shape(x.shape());
        const NormGroups g = this->groups_of(x);
        ctx.mean = Tensor<B>(dev, Shape{g.groups, 1, 1, 1});
        ctx.rstd = Tensor<B>(dev, Shape{g.groups, 1, 1, 1});
        if (auto* source = installed_norm_statistics<B>(); source && phase == Phase::inference)
            source->statistics(dev, x, this->eps_, ctx.mean, ctx.rstd);
        else
            ops::norm_statistics(dev, x, g, this->eps_, ctx.mean, ctx.rstd, static_cast<Tensor<B>*>(nullptr));
        return this->normalize(dev, std::move(x), g, ctx, phase);
    }

    // Its channels, and more than one value per plane: as PyTorch, one value would normalise to 0
    // whatever it is.
    Shape output_shape(const Shape& x) const {
        const Shape y = this->with_channels(x);
        if (x.plane() <= 1)
            throw shape_error("InstanceNorm2d: expected more than 1 spatial element, got input of shape " + to_string(x));
        return y;
    }

    template <class V>
    void parameters(V&& visit, const std::string& prefix) { this->affine_parameters(visit, prefix); }
};

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
class BatchNorm2d : public Norm2dLayer<B, NormGroups::per_channel> {
public:
    using Context = typename Norm2dLayer<B, NormGroups::per_channel>::Context;

    explicit BatchNorm2d(int num_features, BatchNorm2dOptions o = {})
        : Norm2dLayer<B, NormGroups::per_channel>("BatchNorm2d", num_features, o.eps, o.affine),
          momentum_(o.momentum), track_(o.track_running_stats) {}

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase phase) { return forward(dev, Tensor<B>(x), ctx, phase); }

    Tensor<B> forward(B& dev, Tensor<B>&& x, Context& ctx, Phase phase) {
        static_assert(BatchNormKernels<B>, "BatchNorm2d: the backend has no normalisation kernels; include the backend's header");
        (void)output_shape(x.shape(), phase);
        const NormGroups g = this->groups_of(x);
        if (track_) expect_bound("BatchNorm2d", running_mean_);
        const Shape stat{g.groups, 1, 1, 1};
        ctx.batch_stats = batch_statistics(phase);
        if (ctx.batch_stats) {
            ctx.mean = Tensor<B>(dev, stat);
            ctx.rstd = Tensor<B>(dev, stat);
            const bool update = track_ && phase == Phase::train;
            Tensor<B> var = update ? Tensor<B>(dev, stat) : Tensor<B>();
            ops::norm_statistics(dev, x, g, this->eps_, ctx.mean, ctx.rstd, update ? &var : nullptr);
            if (update)
                ops::update_running_statistics(dev, ctx.mean, var, g.count(), momentum_, running_mean_, running_var_);
        } else {
            // Copies: a training forward before this call's backward would change the buffers.
            ctx.mean = running_mean_.clone(dev);
            ctx.rstd = Tensor<B>(dev, stat);
            ops::norm_inverse_std(dev, running_var_, this->eps_, ctx.rstd);
        }
        return this->normalize(dev, std::move(x), g, ctx, phase);
    }

    // Its channels, and on the batch's statistics (training, or without running ones) more than one
    // value per channel: as PyTorch, one has no variance to normalise by (nor an unbiased one).
    Shape output_shape(const Shape& x, Phase phase) const {
        const Shape y = this->with_channels(x);
        if (batch_statistics(phase) && static_cast<std::size_t>(x.n) * x.plane() <= 1)
            throw shape_error("BatchNorm2d: expected more than 1 value per channel when using batch "
                              "statistics, got input of shape " + to_string(x));
        return y;
    }

    // state_dict order: weight, bias, running_mean, running_var (num_batches_tracked is not kept).
    template <class V>
    void parameters(V&& visit, const std::string& prefix) {
        this->affine_parameters(visit, prefix);
        if (!track_) return;
        const int c = this->channels_;
        visit(ParamSpec{join_name(prefix, "running_mean"), {c}, ParamRole::running_mean}, running_mean_,
              static_cast<Tensor<B>*>(nullptr));
        visit(ParamSpec{join_name(prefix, "running_var"), {c}, ParamRole::running_var}, running_var_,
              static_cast<Tensor<B>*>(nullptr));
    }

    double momentum() const { return momentum_; }
    bool track_running_stats() const { return track_; }

private:
    bool batch_statistics(Phase phase) const { return phase == Phase::train || !track_; }

    double momentum_;
    bool track_;
    Tensor<B> running_mean_, running_var_;  // empty without track_running_stats
};

}  // namespace cyclegan
