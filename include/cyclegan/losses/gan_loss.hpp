#pragma once
// GAN losses: how far a discriminator's output (a patch map of logits or scores) is from saying
// "real" or "fake". Each returns weight * loss and writes weight * d(loss)/d(pred) to *grad.
#include <concepts>

#include "../core/choice.hpp"
#include "reduce.hpp"

namespace cyclegan {

enum class Target { real, fake };
// Hinge loss differs for the two players; the others do not care.
enum class Player { discriminator, generator };

template <class L, class B>
concept GanLoss = requires(const L& loss, B& dev, const Tensor<B>& pred, Tensor<B>* grad) {
    { loss(dev, pred, Target::real, Player::generator, grad, 1.0) } -> std::convertible_to<double>;
};

// A loss of the prediction against labels 1 (real) and 0 (fake), by an elementwise term (ops/loss.hpp).
template <class Term>
struct LabelledGAN {
    template <class B>
    double operator()(B& dev, const Tensor<B>& pred, Target target, Player, std::type_identity_t<Tensor<B>*> grad, double weight = 1) const {
        return weighted_mean_loss(dev, Term{}, pred, nullptr, target == Target::real ? 1 : 0, grad, weight);
    }
};

// Least squares (the reference's default, gan_mode 'lsgan'): mean((pred - label)^2).
struct LSGAN : LabelledGAN<SquaredError> {};
// 'vanilla': binary cross-entropy with logits, numerically stable for any logit.
struct VanillaGAN : LabelledGAN<BinaryCrossEntropyWithLogits> {};

// Hinge: the discriminator minimises mean(max(0, 1 - pred)) on real and mean(max(0, 1 + pred)) on
// fake; the generator minimises -mean(pred).
struct HingeGAN {
    template <class B>
    double operator()(B& dev, const Tensor<B>& pred, Target target, Player player, std::type_identity_t<Tensor<B>*> grad,
                      double weight = 1) const {
        if (player == Player::generator) return weighted_mean_loss(dev, Linear{}, pred, nullptr, 1, grad, weight);
        return weighted_mean_loss(dev, Hinge{}, pred, nullptr, target == Target::real ? 1 : -1, grad, weight);
    }
};

// The Wasserstein objective, the reference's 'wgangp' (models/networks.py, GANLoss): the critic
// minimises mean(pred) on fake and -mean(pred) on real (times the model's 0.5: 0.5 * (mean D(fake)
// - mean D(real))), the generator -mean(pred). The reference's cal_gradient_penalty is never called
// by its CycleGAN model, so neither is a penalty here (it would need second derivatives).
struct WassersteinGAN {
    template <class B>
    double operator()(B& dev, const Tensor<B>& pred, Target target, Player, std::type_identity_t<Tensor<B>*> grad,
                      double weight = 1) const {
        return weighted_mean_loss(dev, Linear{}, pred, nullptr, target == Target::real ? 1 : -1, grad, weight);
    }
};

// --gan-mode, as the reference names the losses above.
enum class GanMode { lsgan, vanilla, hinge, wgangp };
inline constexpr Choice<GanMode> gan_mode_choices[] = {
    {"lsgan", GanMode::lsgan}, {"vanilla", GanMode::vanilla}, {"hinge", GanMode::hinge}, {"wgangp", GanMode::wgangp}};

// f(GanLossType{}) for the loss `mode` names: the one place a mode meets its type.
template <class F>
decltype(auto) with_gan_loss(GanMode mode, F&& f) {
    switch (mode) {
        case GanMode::vanilla: return f(VanillaGAN{});
        case GanMode::hinge: return f(HingeGAN{});
        case GanMode::wgangp: return f(WassersteinGAN{});
        case GanMode::lsgan: break;
    }
    return f(LSGAN{});
}

// The loss chosen at run time, as the reference's GANLoss(gan_mode): one model type serves every
// --gan-mode (a program compiles its training once, not once per mode), at the cost of a switch per
// call. CycleGAN<G, D, GANLoss> takes it as its constructor's last argument.
struct GANLoss {
    GanMode mode = GanMode::lsgan;

    template <class B>
    double operator()(B& dev, const Tensor<B>& pred, Target target, Player player, std::type_identity_t<Tensor<B>*> grad,
                      double weight = 1) const {
        return with_gan_loss(mode, [&](auto loss) { return loss(dev, pred, target, player, grad, weight); });
    }
};

}  // namespace cyclegan
