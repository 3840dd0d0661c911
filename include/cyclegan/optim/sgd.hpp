#pragma once
// SGD with momentum as PyTorch's torch.optim.SGD, one fused pass per step.
#include <stdexcept>

#include "../ops/optim.hpp"
#include "optimizer.hpp"

namespace cyclegan {

struct SGDOptions {
    double lr = 1e-2;
    double momentum = 0.9;
    double dampening = 0;
    double weight_decay = 0;
    bool nesterov = false;
};

struct SGD {
    using Options = SGDOptions;

    template <class B>
    class State : public OptimizerStateBase<B, Options> {
    public:
        State(B& dev, std::size_t n, Options o = {}) : OptimizerStateBase<B, Options>(dev, o), buf_(this->zeros(n)) {
            if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
                throw std::invalid_argument("SGD: Nesterov momentum requires a momentum and zero dampening");
        }

        void step(Tensor<B>& params, const Tensor<B>& grads) {
            static_assert(SgdKernels<B>, "SGD: the backend has no sgd_update kernel; include the backend's header");
            const Options& o = this->o_;
            ops::sgd_update(*this->dev_, params, grads, buf_, o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov,
                       this->steps_ == 0);
            ++this->steps_;  // after the update: a failed one is not counted
        }

        std::vector<OptimizerTensor<B>> tensors() { return {{"momentum_buffer", &buf_}}; }

    private:
        Tensor<B> buf_;
    };
};

}  // namespace cyclegan
