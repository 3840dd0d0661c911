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
};

struct Adam {
    using Options = AdamOptions;

    template <class B>
    class State : public OptimizerStateBase<B, Options> {
    public:
        State(B& dev, std::size_t n, Options o = {}) : OptimizerStateBase<B, Options>(dev, o), m_(this->zeros(n)), v_(this->zeros(n)) {}

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
