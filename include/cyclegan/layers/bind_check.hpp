#pragma once
#include <stdexcept>
#include <string>

#include "../core/tensor.hpp"

namespace cyclegan {

// A parametric layer's tensors are views into its Network's flat buffers; they are empty until
// a Network has taken the layer.
template <class B>
void expect_bound(const char* layer, const Tensor<B>& weight) {
    if (weight.empty())
        throw std::logic_error(std::string(layer) +
                               ": parameters are not allocated; wrap the layer in a cyclegan::Network");
}

// backward's protocol, the same for every layer: its context holds a forward (`saved`: backward
// resets it, so a second backward on it is refused too), and dy has the forward output's shape.
inline void expect_output_grad(const char* layer, bool saved, const Shape& dy, const Shape& output) {
    if (!saved) throw std::logic_error(std::string(layer) + ": backward without a forward (or twice on one context)");
    if (!(dy == output))
        throw shape_error(std::string(layer) + ": output gradient of shape " + to_string(dy) +
                          " does not match the output's shape " + to_string(output));
}

}  // namespace cyclegan
