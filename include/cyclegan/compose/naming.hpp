#pragma once
// How a composition names its children's parameters, following nn.Sequential's numbering.
#include <string>

#include "../core/concepts.hpp"

namespace cyclegan {

// A child that occupies several consecutive numbers in its parent (Repeat<N, Block> takes N,
// as the reference's residual blocks sit directly in the generator's nn.Sequential).
template <class L>
concept SpansIndices = requires { L::index_span; };

template <class L, class V>
void visit_numbered(L& layer, V& visit, const std::string& prefix, int& index) {
    if constexpr (SpansIndices<L>) {
        layer.parameters_from(visit, prefix, index);
        index += L::index_span;
    } else {
        if constexpr (ParametricLayer<L>) layer.parameters(visit, join_name(prefix, std::to_string(index)));
        ++index;
    }
}

// A child reached through an attribute name ("conv_block", "model").
template <class L, class V>
void visit_named(L& layer, V& visit, const std::string& prefix, const std::string& name) {
    if constexpr (ParametricLayer<L>) layer.parameters(visit, join_name(prefix, name));
}

}  // namespace cyclegan
