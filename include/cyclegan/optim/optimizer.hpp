#pragma once
#include <concepts>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/option_range.hpp"
#include "../core/tensor.hpp"

namespace cyclegan {

// As torch.optim's optimizers check them: a learning rate >= 0 (0 leaves the weights as they
// are), weight decay >= 0; both finite.
inline constexpr OptionRange learning_rate_range{.min = 0};
inline constexpr OptionRange weight_decay_range{.min = 0};

// An optimizer's state for one parameter buffer, as named tensors (for checkpoints) and a step count.
template <class B>
struct OptimizerTensor {
    std::string name;  // "exp_avg", "exp_avg_sq", "momentum_buffer"
    Tensor<B>* tensor;
};

// What every optimizer's per-buffer state holds besides its update rule: the device, the options
// (with their lr, which schedules change), the step count, and flat buffers of the parameters' size.
template <class B, class Options>
class OptimizerStateBase {
public:
    double lr() const { return o_.lr; }
    // Throws std::invalid_argument for a rate outside learning_rate_range.
    void set_lr(double lr) {
        check_option("optimizer", "lr", lr, learning_rate_range);
        o_.lr = lr;
    }
    long steps() const { return steps_; }
    void set_steps(long s) { steps_ = s; }
    const Options& options() const { return o_; }

protected:
    OptimizerStateBase(B& dev, Options o) : dev_(&dev), o_(o) {}
    Tensor<B> zeros(std::size_t n) const { return Tensor<B>::zeros(*dev_, Shape{1, 1, 1, static_cast<int>(n)}); }

    B* dev_;
    Options o_;
    long steps_ = 0;
};

// An optimizer type (Adam, SGD) is a policy with options and a per-buffer state template:
//   typename O::Options;  O::State<B>(dev, n, options);  state.step(params, grads);
template <class O, class B>
concept Optimizer = requires { typename O::Options; } &&
    requires(typename O::template State<B>& s, Tensor<B>& p, const Tensor<B>& g, double lr) {
        s.step(p, g);
        s.set_lr(lr);
        { s.lr() } -> std::convertible_to<double>;
        { s.steps() } -> std::convertible_to<long>;
        { s.tensors() } -> std::convertible_to<std::vector<OptimizerTensor<B>>>;
    };

}  // namespace cyclegan
