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

}  // namespace cyclegan
