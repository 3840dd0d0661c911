#pragma once
// Elementwise kernels driven by an activation functor (ops/pointwise.hpp; the functors are in layers/activations.hpp); the functor's
// CYCLEGAN_HD f and df run on the device, so the arithmetic is the CPU's.
#include "../../ops/pointwise.hpp"
#include "cuda.cuh"

namespace cyclegan {

template <class Op>
void pointwise_forward(cuda& dev, const Op& op, const Tensor<cuda>& x, Tensor<cuda>& y) {
    const Op o = op;  // the lambda captures a copy, not the host reference
    const float* px = x.data();
    float* py = y.data();
    for_each_index(dev.stream(), x.numel(), [=] __device__(std::size_t i) { py[i] = o.f(px[i]); });
}

template <class Op>
void pointwise_backward(cuda& dev, const Op& op, const Tensor<cuda>& x, const Tensor<cuda>& y,
                        const Tensor<cuda>& dy, Tensor<cuda>& dx) {
    const Op o = op;
    const float *px = x.data(), *py = y.data(), *pdy = dy.data();
    float* pdx = dx.data();
    for_each_index(dev.stream(), x.numel(),
                           [=] __device__(std::size_t i) { pdx[i] = pdy[i] * o.df(px[i], py[i]); });
}

}  // namespace cyclegan
