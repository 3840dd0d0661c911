#pragma once
// Dropout, as nn.Dropout(p): in training each element is zeroed with probability p and the
// survivors are scaled by 1/(1-p), so the expected output equals the input; in evaluation it is
// the identity. The mask's draw is ops/dropout.hpp's.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../core/concepts.hpp"
#include "../core/random.hpp"
#include "../ops/dropout.hpp"
#include "bind_check.hpp"

namespace cyclegan {

// A layer's stream salt: FNV-1a of its state_dict path.
inline std::uint64_t dropout_name_hash(const std::string& name) {
    return name.empty() ? 0 : fnv1a(name);  // a lone layer and a Network<Dropout> named "" draw alike
}

template <class B>
class Dropout {
public:
    using backend = B;
    struct Context {
        Tensor<B> mask;  // 0 or 1/(1-p) per element; empty after an evaluation-mode forward
    };

    Dropout() : Dropout(0.5) {}  // not explicit: `Dropout<B> d = {};` and aggregates of layers work
    explicit Dropout(double p, std::uint64_t seed = 0) : p_(p), seed_(seed) {
        if (!(p >= 0.0 && p <= 1.0))  // also rejects NaN
            throw std::invalid_argument("Dropout: probability has to be between 0 and 1, but got " +
                                        std::to_string(p));
    }

    Tensor<B> forward(B& dev, const Tensor<B>& x, Context& ctx, Phase phase) {
        static_assert(DropoutKernels<B>,
                      "Dropout: the backend has no dropout kernels (dropout_forward, dropout_backward); "
                      "include the backend's header");
        if (phase != Phase::train) {
            ctx = {};
            return x;
        }
        // Every training call takes the next counter, so consecutive calls draw different masks.
        const DropoutDraw draw{dropout_key(seed_, salt_, calls_++), p_, p_ < 1.0 ? 1.0 / (1.0 - p_) : 0.0};
        ctx.mask = Tensor<B>(dev, x.shape());
        Tensor<B> y(dev, x.shape());
        ops::dropout_forward(dev, x, draw, ctx.mask, y);
        return y;
    }

    // y = x * mask is linear in x: dx = dy * mask, with the mask forward drew.
    void backward(B& dev, Context& ctx, const Tensor<B>& dy, Tensor<B>* dx, Grad) {
        if (ctx.mask.empty()) {  // evaluation mode: the identity
            if (dx) *dx = dy;
        } else if (dx) {
            expect_output_grad("Dropout", true, dy.shape(), ctx.mask.shape());
            *dx = Tensor<B>(dev, dy.shape());
            ops::dropout_backward(dev, ctx.mask, dy, *dx);
        }
        ctx = {};
    }

    Shape output_shape(const Shape& x) const { return x; }  // any shape, kept

    // Dropout has no weights, but the Network's walk over the tree tells it its state_dict path
    // ("model.10.conv_block.3"), which salts its stream: copies of one block (Repeat) and the
    // same architecture under another name (G_A, G_B) then draw different masks from one seed.
    template <class V>
    void parameters(V&&, const std::string& prefix) { salt_ = dropout_name_hash(prefix); }

    // Restart the stream: the next training forward draws the mask of call `calls` of `seed`.
    // Resumed training restores each layer's calls(); a gradient check reseeds before each forward.
    void reseed(std::uint64_t seed, std::uint64_t calls = 0) {
        seed_ = seed;
        calls_ = calls;
    }

    double p() const { return p_; }
    std::uint64_t seed() const { return seed_; }
    std::uint64_t calls() const { return calls_; }  // training forwards so far (since reseed)
    std::uint64_t salt() const { return salt_; }

private:
    double p_;
    std::uint64_t seed_;
    std::uint64_t calls_ = 0;
    std::uint64_t salt_ = 0;
};

}  // namespace cyclegan
