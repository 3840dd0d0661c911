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
    class State {
    public:
        State(B& dev, std::size_t n, Options o = {}) : dev_(&dev), o_(o), buf_(Tensor<B>::zeros(dev, Shape{1, 1, 1, static_cast<int>(n)})) {
            if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
                throw std::invalid_argument("SGD: Nesterov momentum requires a momentum and zero dampening");
        }

        void step(Tensor<B>& params, const Tensor<B>& grads) {
            static_assert(SgdKernels<B>, "SGD: the backend has no sgd_update kernel; include the backend's header");
            if (params.numel() != buf_.numel() || grads.numel() != buf_.numel())
                throw std::invalid_argument("SGD: state holds " + std::to_string(buf_.numel()) + " values, parameters " +
                                            std::to_string(params.numel()));
            sgd_update(*dev_, params, grads, buf_, o_.lr, o_.momentum, o_.dampening, o_.weight_decay, o_.nesterov, steps_ == 0);
            ++steps_;
        }

        double lr() const { return o_.lr; }
        void set_lr(double lr) { o_.lr = lr; }
        long steps() const { return steps_; }
        void set_steps(long s) { steps_ = s; }
        const Options& options() const { return o_; }
        std::vector<OptimizerTensor<B>> tensors() { return {{"momentum_buffer", &buf_}}; }

    private:
        B* dev_;
        Options o_;
        Tensor<B> buf_;
        long steps_ = 0;
    };
};

}  // namespace cyclegan
