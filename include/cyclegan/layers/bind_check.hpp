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

// backward's dy must have the batch of the saved input and the layer's output channels.
template <class B>
void expect_grad_shape(const char* layer, const Tensor<B>& dy, int out_channels, const Tensor<B>& saved_x) {
    if (saved_x.empty())
        throw std::logic_error(std::string(layer) + ": backward without a forward (or twice on one context)");
    if (dy.shape().c != out_channels || dy.shape().n != saved_x.shape().n)
        throw shape_error(std::string(layer) + ": output gradient of shape " + to_string(dy.shape()) +
                          " does not fit a forward on " + to_string(saved_x.shape()));
}

}  // namespace cyclegan
