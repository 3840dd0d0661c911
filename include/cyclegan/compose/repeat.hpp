#pragma once
// Repeat<N, Block>: N copies of one block type applied in turn, each with its own parameters
// (N = 0 is the identity, so that a count given by a template argument may be zero).
#include <array>
#include <string>
#include <type_traits>
#include <utility>

#include "../core/concepts.hpp"
#include "../core/shape_walk.hpp"
#include "naming.hpp"
#include "taps.hpp"

namespace cyclegan {

template <std::size_t N, class Block>
class Repeat {
    static_assert(check_layer<Block>(), "Repeat: the block must be a Layer");

public:
    using backend = typename Block::backend;
    using Context = std::array<typename Block::Context, N>;

    Repeat() requires std::default_initializable<Block> = default;
    // Copy k is make(k), for blocks whose channel counts change along the chain.
    template <class Make>
        requires std::is_invocable_r_v<Block, Make, int>
    explicit Repeat(Make make)
        : blocks_([&]<std::size_t... I>(std::index_sequence<I...>) {
              return std::array<Block, N>{make(static_cast<int>(I))...};
          }(std::make_index_sequence<N>{})) {}

    // Every copy starts as `prototype`; the Network gives each its own weights.
    explicit Repeat(const Block& prototype)
        : blocks_([&]<std::size_t... I>(std::index_sequence<I...>) {
              return std::array<Block, N>{(static_cast<void>(I), prototype)...};
          }(std::make_index_sequence<N>{})) {}

    // As Sequential's: each block is given the previous one's output.
    Tensor<backend> forward(backend& dev, const Tensor<backend>& x, Context& ctx, Phase phase) {
        return forward(dev, Tensor<backend>(x), ctx, phase);
    }
    Tensor<backend> forward(backend& dev, Tensor<backend>&& x, Context& ctx, Phase phase) {
        Tensor<backend> h = std::move(x);
        if constexpr (N > 0)  // N == 0 is the identity (nvcc warns of a comparison i < 0 otherwise)
            for (std::size_t i = 0; i < N; ++i) {
                h = within(blocks_[i], [&] { return blocks_[i].forward(dev, std::move(h), ctx[i], phase); });
                tap_output(blocks_[i], h);
                if (phase == Phase::inference) ctx[i] = {};
            }
        return h;
    }

    Shape output_shape(const Shape& x, Phase phase) const {
        Shape h = x;
        for (const auto& block : blocks_) h = within(block, [&] { return layer_output_shape(block, h, phase); });
        return h;
    }

    // The blocks' backwards in reverse; the first one's input gradient only when dx is asked for.
    void backward(backend& dev, Context& ctx, const Tensor<backend>& dy, Tensor<backend>* dx, Grad grad) {
        Tensor<backend> g = dy;
        for (std::size_t i = N; i-- > 0;) {
            Tensor<backend> next;
            add_tap_gradient(dev, blocks_[i], g);
            within(blocks_[i], [&] { blocks_[i].backward(dev, ctx[i], g, i > 0 || dx ? &next : nullptr, grad); });
            g = std::move(next);
        }
        if (dx) *dx = std::move(g);
    }

    // Inside a Sequential the blocks continue its numbering; alone they count from 0.
    template <class V>
    void parameters_from(V&& visit, const std::string& prefix, int first) {
        int index = first;
        for (auto& block : blocks_) visit_numbered(block, visit, prefix, index);
    }
    int index_span() const {
        int span = 0;
        for (const auto& block : blocks_) span += index_span_of(block);
        return span;
    }
    template <class V>
    void parameters(V&& visit, const std::string& prefix) { parameters_from(visit, prefix, 0); }

    Block& operator[](std::size_t i) { return blocks_[i]; }

private:
    std::array<Block, N> blocks_;
};

}  // namespace cyclegan
