#pragma once
// Adam as PyTorch's torch.optim.Adam (weight decay as L2 on the gradient), one fused pass per step.
#include <stdexcept>

#include "../ops/optim.hpp"
#include "optimizer.hpp"

namespace cyclegan {

struct AdamOptions {
    double lr = 2e-4;  // the reference CycleGAN's settings, not PyTorch's defaults
    double beta1 = 0.5;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0;
};

struct Adam {
    using Options = AdamOptions;

    template <class B>
    class State {
    public:
        State(B& dev, std::size_t n, Options o = {})
            : dev_(&dev), o_(o), m_(Tensor<B>::zeros(dev, flat(n))), v_(Tensor<B>::zeros(dev, flat(n))) {}

        void step(Tensor<B>& params, const Tensor<B>& grads) {
            static_assert(AdamKernels<B>, "Adam: the backend has no adam_update kernel; include the backend's header");
            if (params.numel() != m_.numel() || grads.numel() != m_.numel())
                throw std::invalid_argument("Adam: state holds " + std::to_string(m_.numel()) + " values, parameters " +
                                            std::to_string(params.numel()));
            ++steps_;
            adam_update(*dev_, params, grads, m_, v_, o_.lr, o_.beta1, o_.beta2, o_.eps, o_.weight_decay, steps_);
        }

        double lr() const { return o_.lr; }
        void set_lr(double lr) { o_.lr = lr; }
        long steps() const { return steps_; }
        void set_steps(long s) { steps_ = s; }
        const Options& options() const { return o_; }
        std::vector<OptimizerTensor<B>> tensors() { return {{"exp_avg", &m_}, {"exp_avg_sq", &v_}}; }

    private:
        static Shape flat(std::size_t n) { return Shape{1, 1, 1, static_cast<int>(n)}; }
        B* dev_;
        Options o_;
        Tensor<B> m_, v_;
        long steps_ = 0;
    };
};

}  // namespace cyclegan
