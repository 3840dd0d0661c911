#pragma once
// ops/tensor_ops.hpp on the GPU: sums for residual connections, channel concatenation for U-Net skips.
#include "../../ops/tensor_ops.hpp"
#include "cuda.cuh"

namespace cyclegan {

// out = a + b (out may be a or b)
inline void add(cuda& dev, const Tensor<cuda>& a, const Tensor<cuda>& b, Tensor<cuda>& out) {
    const float *pa = a.data(), *pb = b.data();
    float* po = out.data();
    for_each_index(dev.stream(), a.numel(), [=] __device__(std::size_t i) { po[i] = pa[i] + pb[i]; });
}

// out[n] = [a[n]; b[n]]: per image, a's channels then b's. One gather over out, so one launch.
inline void concat_channels(cuda& dev, const Tensor<cuda>& a, const Tensor<cuda>& b, Tensor<cuda>& out) {
    const Shape sa = a.shape(), sb = b.shape(), so = out.shape();
    const std::size_t ia = sa.image(), ib = sb.image(), io = so.image();
    const float *pa = a.data(), *pb = b.data();
    float* po = out.data();
    for_each_index(dev.stream(), out.numel(), [=] __device__(std::size_t e) {
        const std::size_t n = e / io, r = e % io;
        po[e] = r < ia ? pa[n * ia + r] : pb[n * ib + (r - ia)];
    });
}

// a[n] = first a.c channels of y[n], b[n] = the rest.
inline void split_channels(cuda& dev, const Tensor<cuda>& y, Tensor<cuda>& a, Tensor<cuda>& b) {
    const Shape sa = a.shape(), sb = b.shape(), sy = y.shape();
    const std::size_t ia = sa.image(), ib = sb.image(), iy = sy.image();
    const float* py = y.data();
    float *pa = a.data(), *pb = b.data();
    // As the CPU: a.image() then b.image() values from the front of each of y's images.
    for_each_index(dev.stream(), static_cast<std::size_t>(sy.n) * (ia + ib), [=] __device__(std::size_t e) {
        const std::size_t n = e / (ia + ib), r = e % (ia + ib);
        if (r < ia)
            pa[n * ia + r] = py[n * iy + r];
        else
            pb[n * ib + (r - ia)] = py[n * iy + r];
    });
}

}  // namespace cyclegan
