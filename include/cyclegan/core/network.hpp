#pragma once
// A Network owns a layer tree's parameters: one flat buffer of weights, one of gradients (same
// layout), one of buffers such as running statistics. Each layer's tensors are views into them,
// so an optimizer step is one pass over one buffer and a checkpoint is a list of named slices.
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "concepts.hpp"
#include "init.hpp"

namespace cyclegan {

// One named tensor of a network: a view of its value and, for trainable ones, of its gradient.
template <class B>
struct NamedTensor {
    ParamSpec spec;
    Tensor<B> value;
    Tensor<B> grad;  // empty for buffers
    std::size_t offset = 0;  // into parameters() or buffers()
};

// PyTorch dims -> our 4-d shape: [o, i, kh, kw] as is, [o] as [o, 1, 1, 1].
inline Shape shape_of_dims(const std::vector<int>& d) {
    Shape s{1, 1, 1, 1};
    int* slots[4] = {&s.n, &s.c, &s.h, &s.w};
    if (d.size() > 4) throw shape_error("parameter with more than 4 dimensions");
    for (std::size_t i = 0; i < d.size(); ++i) *slots[i] = d[i];
    return s;
}

template <class Net>
class Network {
    static_assert(check_layer<Net>(), "Network: the type it wraps must be a Layer");

public:
    using backend = typename Net::backend;
    using B = backend;
    using scalar = typename B::scalar;
    using Context = typename Net::Context;

    // `name` prefixes every parameter name, as a PyTorch attribute would ("model" -> "model.1.weight").
    Network(B& dev, Net net, std::string name = "", InitOptions init_options = {})
        : dev_(&dev), net_(std::move(net)), name_(std::move(name)) {
        bind();
        init(init_options);
    }

    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;
    Network(Network&&) noexcept = default;
    Network& operator=(Network&&) noexcept = default;

    Tensor<B> forward(const Tensor<B>& x, Context& ctx) {
        return net_.forward(*dev_, x, ctx, training_ ? Phase::train : Phase::eval);
    }

    // Adds this call's weight gradients (Grad::accumulate) or skips them (Grad::ignore); writes
    // the input gradient to *dx when dx is given.
    void backward(Context& ctx, const Tensor<B>& dy, Tensor<B>* dx = nullptr,
                  Grad grad = Grad::accumulate) {
        if (dy.empty()) throw std::invalid_argument("Network::backward: empty output gradient");
        if (!dx && grad == Grad::ignore) {  // nothing asked for: just release the activations
            ctx = Context{};
            return;
        }
        net_.backward(*dev_, ctx, dy, dx, grad);
    }

    // A forward that no backward will follow: in eval mode each layer's activations are freed as
    // soon as the next layer has run (Phase::inference); in training mode it is forward().
    Tensor<B> operator()(const Tensor<B>& x) {
        Context ctx;
        if (training_) return forward(x, ctx);
        return net_.forward(*dev_, x, ctx, Phase::inference);
    }

    void train(bool on = true) { training_ = on; }
    void eval() { training_ = false; }
    bool training() const { return training_; }

    void zero_grad() {
        if (!grads_.empty()) dev_->fill(grads_.data(), grads_.numel(), scalar(0));
    }

    // Re-initialises every parameter and buffer, in declaration order, from one seeded stream.
    // Throws std::invalid_argument for a gain out of range (InitOptions::check).
    void init(const InitOptions& o) {
        o.check();
        std::mt19937_64 rng(o.seed);
        for (auto& t : named_) {
            const auto values = initial_values<scalar>(t.spec, o, rng);
            dev_->upload(values.data(), t.value.data(), values.size());
        }
        zero_grad();
    }

    // Trainable parameters, their gradients and the buffers, each as one flat tensor [1, 1, 1, count].
    Tensor<B>& parameters() { return params_; }
    Tensor<B>& gradients() { return grads_; }
    Tensor<B>& buffers() { return buffers_; }
    std::size_t parameter_count() const { return params_.numel(); }

    // Every parameter and buffer in declaration order, with state_dict names.
    const std::vector<NamedTensor<B>>& named_tensors() const { return named_; }

    const NamedTensor<B>& find(const std::string& name) const {
        for (auto& t : named_)
            if (t.spec.name == name) return t;
        throw std::out_of_range("Network: no parameter named '" + printable(name) + "'");
    }

    Net& net() { return net_; }
    const Net& net() const { return net_; }
    B& device() const { return *dev_; }
    const std::string& name() const { return name_; }

private:
    // Walk the tree twice: once to size the buffers, once to hand each layer its views.
    void bind() {
        std::size_t n_params = 0, n_buffers = 0;
        auto count = [&](const ParamSpec& spec, Tensor<B>&, Tensor<B>* grad) {
            (grad ? n_params : n_buffers) += spec.numel();
        };
        visit_all(count);
        // One flat tensor each, indexed by int (Shape): larger networks cannot be held.
        for (const std::size_t n : {n_params, n_buffers})
            if (n > std::size_t(std::numeric_limits<int>::max()))
                throw std::length_error("Network '" + name_ + "': " + std::to_string(n) + " values of " +
                                        (n == n_params ? "parameters" : "buffers") + ", more than one tensor holds (" +
                                        std::to_string(std::numeric_limits<int>::max()) + "); use a narrower network");
        if (n_params) {
            params_ = Tensor<B>(*dev_, Shape{1, 1, 1, static_cast<int>(n_params)});
            grads_ = Tensor<B>::zeros(*dev_, params_.shape());
        }
        if (n_buffers) buffers_ = Tensor<B>(*dev_, Shape{1, 1, 1, static_cast<int>(n_buffers)});
        std::size_t p = 0, b = 0;
        auto assign = [&](const ParamSpec& spec, Tensor<B>& value, Tensor<B>* grad) {
            const Shape s = shape_of_dims(spec.dims);
            NamedTensor<B> t{spec, {}, {}, grad ? p : b};
            if (grad) {
                value = slice(params_, p, s);
                *grad = slice(grads_, p, s);
                t.grad = *grad;
                p += spec.numel();
            } else {
                value = slice(buffers_, b, s);
                b += spec.numel();
            }
            t.value = value;
            named_.push_back(std::move(t));
        };
        visit_all(assign);
    }

    template <class V>
    void visit_all(V&& v) {
        if constexpr (ParametricLayer<Net>) net_.parameters(v, name_);
    }

    static Tensor<B> slice(const Tensor<B>& flat, std::size_t offset, Shape s) {
        // Views share the flat buffer's ownership, so they stay valid while any layer holds one.
        return Tensor<B>::view_of(flat.storage(), flat.data() + offset, s);
    }

    B* dev_;
    Net net_;
    std::string name_;
    bool training_ = true;
    Tensor<B> params_, grads_, buffers_;
    std::vector<NamedTensor<B>> named_;
};

}  // namespace cyclegan
