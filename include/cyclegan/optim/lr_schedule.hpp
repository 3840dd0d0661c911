#pragma once
// Learning-rate policies of the reference implementation (its get_scheduler), stepped once per epoch.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

#include "../core/choice.hpp"

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
};

class LrSchedule {
public:
    // What the schedule remembers, all of it: what a checkpoint saves.
    struct Saved {
        int epochs_done;
        double lr, best;
        int bad_epochs;
    };

    LrSchedule(double base_lr, LrScheduleOptions o = {}) : base_(base_lr), o_(o), s_{0, base_lr, std::numeric_limits<double>::infinity(), 0} {
        if (o.policy == LrPolicy::cosine && o.n_epochs <= 0) throw std::invalid_argument("cosine schedule needs n_epochs > 0");
        if (o.policy == LrPolicy::step && o.lr_decay_iters <= 0) throw std::invalid_argument("step schedule needs lr_decay_iters > 0");
    }

    double lr() const { return s_.lr; }
    int epochs_done() const { return s_.epochs_done; }

    // The end of an epoch (PyTorch's scheduler.step()); `metric` only matters for plateau.
    void step(double metric = std::numeric_limits<double>::quiet_NaN()) {
        const int k = ++s_.epochs_done;
        switch (o_.policy) {
            case LrPolicy::linear:
                s_.lr = base_ * (1.0 - std::max(0, k + o_.epoch_count - o_.n_epochs) / double(o_.n_epochs_decay + 1));
                break;
            case LrPolicy::step:
                s_.lr = base_ * std::pow(o_.gamma, k / o_.lr_decay_iters);
                break;
            case LrPolicy::cosine:
                s_.lr = base_ * (1 + std::cos(std::numbers::pi * k / o_.n_epochs)) / 2;
                break;
            case LrPolicy::plateau:
                if (std::isnan(metric)) throw std::invalid_argument("plateau schedule: step() needs the metric");
                if (metric < s_.best * (1 - o_.plateau_threshold)) {
                    s_.best = metric;
                    s_.bad_epochs = 0;
                } else if (++s_.bad_epochs > o_.plateau_patience) {
                    const double reduced = s_.lr * o_.plateau_factor;
                    if (s_.lr - reduced > 1e-8) s_.lr = reduced;
                    s_.bad_epochs = 0;
                }
                break;
        }
    }

    Saved save() const { return s_; }
    void restore(const Saved& s) { s_ = s; }

private:
    double base_;
    LrScheduleOptions o_;
    Saved s_;
};

}  // namespace cyclegan
