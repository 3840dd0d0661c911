#pragma once
// Adam as PyTorch's torch.optim.Adam (weight decay as L2 on the gradient), one fused pass per step.
#include "../ops/optim.hpp"
#include "optimizer.hpp"

namespace cyclegan {

struct AdamOptions {
    double lr = 2e-4;  // the reference CycleGAN's settings, not PyTorch's defaults
    double beta1 = 0.5;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0;

    // torch.optim.Adam's checks: each beta in [0, 1), lr, eps and weight decay >= 0; all finite.
    static constexpr OptionRange beta_range{.min = 0, .max = 1, .max_open = true};
    static constexpr OptionRange eps_range{.min = 0};
    // Throws std::invalid_argument naming the first option out of its range.
    void check() const {
        check_option("Adam", "lr", lr, learning_rate_range);
        check_option("Adam", "beta1", beta1, beta_range);
        check_option("Adam", "beta2", beta2, beta_range);
        check_option("Adam", "eps", eps, eps_range);
        check_option("Adam", "weight_decay", weight_decay, weight_decay_range);
    }
};

struct Adam {
    using Options = AdamOptions;

    template <class B>
    class State : public OptimizerStateBase<B, Options> {
    public:
        // Throws std::invalid_argument for options out of range (Options::check).
        State(B& dev, std::size_t n, Options o = {})
            : OptimizerStateBase<B, Options>(dev, (o.check(), o)), m_(this->zeros(n)), v_(this->zeros(n)) {}

        void step(Tensor<B>& params, const Tensor<B>& grads) {
            static_assert(AdamKernels<B>, "Adam: the backend has no adam_update kernel; include the backend's header");
            const Options& o = this->o_;
            ops::adam_update(*this->dev_, params, grads, m_, v_, o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, this->steps_ + 1);
            ++this->steps_;  // after the update: a failed one is not counted
        }

        std::vector<OptimizerTensor<B>> tensors() { return {{"exp_avg", &m_}, {"exp_avg_sq", &v_}}; }

    private:
        Tensor<B> m_, v_;
    };
};

}  // namespace cyclegan
