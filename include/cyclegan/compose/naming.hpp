#pragma once
// How a composition names its children's parameters, following nn.Sequential's numbering. The same
// walk names the layers themselves, for messages: a visitor that has
// `layer(LayerId layer, const std::string& path)` is shown every layer with its path
// ("model.4.conv_block.2"), which is how a Network names the layer a shape_error came from.
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

// Tells a visitor that wants to know (one with layer(address, path)) where `layer` sits.
template <class V, class L>
void report_layer(V& visit, const L& layer, const std::string& path) {
    if constexpr (requires { visit.layer(LayerId::of(layer), path); }) visit.layer(LayerId::of(layer), path);
}

// A child reached by `path`: reported, then asked for its parameters.
template <class L, class V>
void visit_child(L& layer, V& visit, const std::string& path) {
    report_layer(visit, layer, path);
    if constexpr (ParametricLayer<L>) layer.parameters(visit, path);
}

// Visits `layer` as the child numbered `index` of `prefix`, and moves `index` past it.
template <class L, class V>
void visit_numbered(L& layer, V& visit, const std::string& prefix, int& index) {
    if constexpr (SpansIndices<L>) layer.parameters_from(visit, prefix, index);
    else visit_child(layer, visit, join_name(prefix, std::to_string(index)));
    index += index_span_of(layer);
}

// A child reached through an attribute name ("conv_block", "model").
template <class L, class V>
void visit_named(L& layer, V& visit, const std::string& prefix, const std::string& name) {
    visit_child(layer, visit, join_name(prefix, name));
}

}  // namespace cyclegan
