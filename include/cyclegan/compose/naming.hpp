#pragma once
// How a composition names its children's parameters, following nn.Sequential's numbering.
#include <string>

#include "../core/concepts.hpp"

namespace cyclegan {

// A child that occupies some other count of consecutive numbers in its parent: Repeat<N, Block>
// takes one per block (the reference's residual blocks sit directly in the generator's
// nn.Sequential), Inline<Sequential<...>> one per element, an absent Optional none.
template <class L>
concept SpansIndices = requires(const L& l) {
    { l.index_span() } -> std::convertible_to<int>;
};

template <class L>
int index_span_of(const L& layer) {
    if constexpr (SpansIndices<L>) return layer.index_span();
    else return 1;
}

// Visits `layer` as the child numbered `index` of `prefix`, and moves `index` past it.
template <class L, class V>
void visit_numbered(L& layer, V& visit, const std::string& prefix, int& index) {
    if constexpr (SpansIndices<L>) {
        layer.parameters_from(visit, prefix, index);
    } else if constexpr (ParametricLayer<L>) {
        layer.parameters(visit, join_name(prefix, std::to_string(index)));
    }
    index += index_span_of(layer);
}

// A child reached through an attribute name ("conv_block", "model").
template <class L, class V>
void visit_named(L& layer, V& visit, const std::string& prefix, const std::string& name) {
    if constexpr (ParametricLayer<L>) layer.parameters(visit, join_name(prefix, name));
}

}  // namespace cyclegan
