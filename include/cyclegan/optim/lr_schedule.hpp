#pragma once
// Learning-rate policies of the reference implementation (its get_scheduler), stepped once per epoch.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

#include "../core/choice.hpp"
#include "../core/option_range.hpp"
#include "optimizer.hpp"

namespace cyclegan {

enum class LrPolicy { linear, step, cosine, plateau };

inline constexpr Choice<LrPolicy> lr_policy_choices[] = {
    {"linear", LrPolicy::linear}, {"step", LrPolicy::step}, {"cosine", LrPolicy::cosine}, {"plateau", LrPolicy::plateau}};

inline LrPolicy parse_lr_policy(const std::string& s) { return parse_choice(lr_policy_choices, s, "lr policy"); }

struct LrScheduleOptions {
    LrPolicy policy = LrPolicy::linear;
    int n_epochs = 100;        // linear: constant this long; cosine: T_max
    int n_epochs_decay = 100;  // linear: then to zero over this many
    int epoch_count = 1;       // linear: the reference's starting epoch number
    int lr_decay_iters = 50;   // step: every this many epochs
    double gamma = 0.1;        // step: multiply by this
    double plateau_factor = 0.2, plateau_threshold = 0.01;
    int plateau_patience = 5;

    static constexpr OptionRange epochs_range{.min = 0, .integer = true};            // n_epochs, n_epochs_decay
    static constexpr OptionRange decay_iters_range{.min = 1, .integer = true};       // lr_decay_iters
    static constexpr OptionRange epoch_count_range{.min = 1, .integer = true};
    static constexpr OptionRange factor_range{.min = 0, .max = 1, .max_open = true};  // plateau_factor (PyTorch: < 1)
    static constexpr OptionRange non_negative_range{.min = 0};                        // gamma, plateau_threshold
    static constexpr OptionRange patience_range{.min = 0, .integer = true};
    // Throws std::invalid_argument naming the first option out of its range (cosine: n_epochs >= 1,
    // its period).
    void check() const {
        const char* who = "LrSchedule";
        check_option(who, "n_epochs", n_epochs, policy == LrPolicy::cosine ? OptionRange{.min = 1, .integer = true} : epochs_range);
        check_option(who, "n_epochs_decay", n_epochs_decay, epochs_range);
        check_option(who, "epoch_count", epoch_count, epoch_count_range);
        check_option(who, "lr_decay_iters", lr_decay_iters, decay_iters_range);
        check_option(who, "gamma", gamma, non_negative_range);
        check_option(who, "plateau_factor", plateau_factor, factor_range);
        check_option(who, "plateau_threshold", plateau_threshold, non_negative_range);
        check_option(who, "plateau_patience", plateau_patience, patience_range);
    }
};

// The rate of each epoch, as the reference's get_scheduler gives it over the initial rate:
//   linear:  base * (1 - max(0, k + epoch_count - n_epochs) / (n_epochs_decay + 1))   (LambdaLR)
//   step:    base * gamma^floor(k / lr_decay_iters)                                   (StepLR)
//   cosine:  base * (1 + cos(pi k / n_epochs)) / 2                                     (CosineAnnealingLR)
//   plateau: base, times plateau_factor whenever the metric has not improved by plateau_threshold
//            (relative) for more than plateau_patience epochs                          (ReduceLROnPlateau)
// where k is the number of epochs done. Linear, step and cosine are functions of k and the
// options alone, so a schedule restored under other options (a run extended with more epochs, a
// new base rate) gives from its first epoch the rate those options give; plateau's rate is its
// history (the reductions so far), which a new base rate scales.
class LrSchedule {
public:
    // What the schedule remembers, all of it: what a checkpoint saves.
    struct Saved {
        int epochs_done;
        double lr, best;
        int bad_epochs;
        double base_lr;  // the base the rate was computed from (NaN: not known, an older checkpoint)
    };

    // Throws std::invalid_argument for a base_lr outside learning_rate_range, or options out of
    // their ranges (LrScheduleOptions::check).
    LrSchedule(double base_lr, LrScheduleOptions o = {})
        : base_(base_lr), o_(o), s_{0, base_lr, std::numeric_limits<double>::infinity(), 0, base_lr} {
        check_option("LrSchedule", "base_lr", base_lr, learning_rate_range);
        o.check();
        if (o.policy != LrPolicy::plateau) s_.lr = rate_after(0);
    }

    // The rate of the next epoch (epoch epochs_done() + 1).
    double lr() const { return s_.lr; }
    int epochs_done() const { return s_.epochs_done; }
    double base_lr() const { return base_; }

    // The end of an epoch (PyTorch's scheduler.step()); `metric` only matters for plateau, which
    // throws std::invalid_argument without one (the reference's CycleGAN passes 0 every epoch).
    void step(double metric = std::numeric_limits<double>::quiet_NaN()) {
        if (o_.policy == LrPolicy::plateau && std::isnan(metric))
            throw std::invalid_argument("plateau schedule: step() needs the metric");
        const int k = ++s_.epochs_done;
        if (o_.policy != LrPolicy::plateau) {
            s_.lr = rate_after(k);
            return;
        }
        if (metric < s_.best * (1 - o_.plateau_threshold)) {
            s_.best = metric;
            s_.bad_epochs = 0;
        } else if (++s_.bad_epochs > o_.plateau_patience) {
            const double reduced = s_.lr * o_.plateau_factor;
            if (s_.lr - reduced > 1e-8) s_.lr = reduced;
            s_.bad_epochs = 0;
        }
    }

    Saved save() const { return s_; }

    // Continues a saved schedule under this one's options: the epochs done and plateau's history
    // are the saved ones, and the rate is what this schedule's options give after them (linear,
    // step, cosine), or the saved rate times this base over the saved base (plateau: the
    // reductions so far kept). With the options it was saved under, the rate is the saved one, to
    // the bit.
    void restore(const Saved& s) {
        s_ = s;
        if (o_.policy != LrPolicy::plateau)
            s_.lr = rate_after(s.epochs_done);
        else if (s.base_lr > 0 && s.base_lr != base_)  // (an unknown or zero saved base: the saved rate)
            s_.lr = s.lr * (base_ / s.base_lr);
        s_.base_lr = base_;
    }

    // The rate after k epochs of linear, step or cosine (see above). Past the end of its decay
    // (k > n_epochs + n_epochs_decay) linear turns negative, as torch's LambdaLR does with the
    // reference's rule; an optimizer refuses such a rate.
    double rate_after(int k) const {
        switch (o_.policy) {
            case LrPolicy::linear:
                return base_ * (1.0 - std::max(0, k + o_.epoch_count - o_.n_epochs) / double(o_.n_epochs_decay + 1));
            case LrPolicy::step:
                return base_ * std::pow(o_.gamma, k / o_.lr_decay_iters);
            case LrPolicy::cosine:
                return base_ * (1 + std::cos(std::numbers::pi * k / o_.n_epochs)) / 2;
            case LrPolicy::plateau:
                break;
        }
        throw std::logic_error("LrSchedule::rate_after: plateau's rate depends on its metrics, not on k alone");
    }

private:
    double base_;
    LrScheduleOptions o_;
    Saved s_;
};

}  // namespace cyclegan
