#pragma once
#include <stdexcept>
#include <string>

#include "../core/modes.hpp"
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

// The output tensor of an elementwise layer whose caller gave x up (forward's Tensor<B>&& overload,
// as Sequential and Repeat call their children): x's own memory when backward will not read x
// (`keep_x` false) and no other tensor, view or context holds it, as PyTorch's inplace=True;
// otherwise a fresh tensor. Inference of the paper's generator at 2048x2048 then holds one
// 64-channel map (1 GiB) less at each norm and activation of full size.
template <class B>
Tensor<B> output_over_input(B& dev, const Tensor<B>& x, bool keep_x) {
    return !keep_x && x.sole_owner() ? x : Tensor<B>(dev, x.shape());
}

}  // namespace cyclegan
