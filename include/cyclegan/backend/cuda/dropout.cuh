#pragma once
// Dropout's kernels (ops/dropout.hpp): the mask is drawn and applied in one pass, and
// backward multiplies by the same mask. Element i's draw is DropoutDraw::factor(i), i the flat
// NCHW index, as on the CPU, so both backends draw the same mask.
#include <cstdint>

#include "../../ops/dropout.hpp"
#include "cuda.cuh"

namespace cyclegan {

// mask[i] = 0 with probability p, else 1/(1-p); y = x * mask.
inline void dropout_forward(cuda& dev, const Tensor<cuda>& x, const DropoutDraw& draw, Tensor<cuda>& mask,
                            Tensor<cuda>& y) {
    const DropoutDraw d = draw;
    const float* px = x.data();
    float *pm = mask.data(), *py = y.data();
    for_each_index(dev.stream(), x.numel(), [=] __device__(std::size_t i) {
        const float m = d.factor<float>(static_cast<std::uint64_t>(i));
        pm[i] = m;
        py[i] = px[i] * m;
    });
}

// y = x * mask is linear in x with a constant mask: dx = dy * mask.
inline void dropout_backward(cuda& dev, const Tensor<cuda>& mask, const Tensor<cuda>& dy, Tensor<cuda>& dx) {
    const float *pm = mask.data(), *pdy = dy.data();
    float* pdx = dx.data();
    for_each_index(dev.stream(), mask.numel(), [=] __device__(std::size_t i) { pdx[i] = pdy[i] * pm[i]; });
}

}  // namespace cyclegan
