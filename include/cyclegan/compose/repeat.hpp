#pragma once
// Repeat<N, Block>: N copies of one block type applied in turn, each with its own parameters.
#include <array>
#include <string>
#include <utility>

#include "../core/concepts.hpp"
#include "naming.hpp"

namespace cyclegan {

template <std::size_t N, class Block>
class Repeat {
    static_assert(check_layer<Block>(), "Repeat: the block must be a Layer");
    static_assert(N > 0, "Repeat: N must be at least 1");

public:
    using backend = typename Block::backend;
    using Context = std::array<typename Block::Context, N>;
    static constexpr int index_span = static_cast<int>(N);

    Repeat() requires std::default_initializable<Block> = default;
    // Every copy starts as `prototype`; the Network gives each its own weights.
    explicit Repeat(const Block& prototype)
        : blocks_([&]<std::size_t... I>(std::index_sequence<I...>) {
              return std::array<Block, N>{(static_cast<void>(I), prototype)...};
          }(std::make_index_sequence<N>{})) {}

    Tensor<backend> forward(backend& dev, const Tensor<backend>& x, Context& ctx, Phase phase) {
        Tensor<backend> h = x;
        for (std::size_t i = 0; i < N; ++i) h = blocks_[i].forward(dev, h, ctx[i], phase);
        return h;
    }

    void backward(backend& dev, Context& ctx, const Tensor<backend>& dy, Tensor<backend>* dx, Grad grad) {
        Tensor<backend> g = dy;
        for (std::size_t i = N; i-- > 1;) {
            Tensor<backend> next;
            blocks_[i].backward(dev, ctx[i], g, &next, grad);
            g = std::move(next);
        }
        blocks_[0].backward(dev, ctx[0], g, dx, grad);
    }

    // Inside a Sequential the blocks continue its numbering; alone they count from 0.
    template <class V>
    void parameters_from(V&& visit, const std::string& prefix, int first) {
        for (std::size_t i = 0; i < N; ++i) {
            int index = first + static_cast<int>(i);
            visit_numbered(blocks_[i], visit, prefix, index);
        }
    }
    template <class V>
    void parameters(V&& visit, const std::string& prefix) { parameters_from(visit, prefix, 0); }

    Block& operator[](std::size_t i) { return blocks_[i]; }

private:
    std::array<Block, N> blocks_;
};

}  // namespace cyclegan
