#pragma once
// 3x3 stride-1 convolutions by Winograd F(m x m, 3x3): the coefficients and when it is taken are
// in winograd_coefficients.hpp, the transforms and convolutions in simd/winograd.inl, compiled once
// per instruction set (simd_kernels.hpp). These pick the set in use at run time: AVX-512 or AVX2
// transforms with our GEMM for the products in float, else the portable ones on Eigen's products.
#include "simd_kernels.hpp"
#include "winograd_coefficients.hpp"

namespace cyclegan::cpu_detail {

// Calls f(isa) with the tag of the set that runs a Winograd convolution in T.
template <class T, class F>
void with_winograd_kernels(F&& f) {
    if constexpr (std::is_same_v<T, float>)
        if (with_simd_kernels(f)) return;
    f(portable::Isa{});
}

// y = conv(x, w), 3x3 stride 1, y preallocated. With a cache (inference), the transformed weights
// are kept there between calls (weight_cache.hpp).
template <int M, class T>
void conv2d_forward_winograd(const T* x, const Shape& xs, const T* w, T* y, const Shape& ys, const Conv2dGeometry& g,
                             WeightCache* cache = nullptr) {
    with_winograd_kernels<T>([&](auto isa) { winograd_forward<M>(isa, x, xs, w, y, ys, g, cache); });
}

// dx = the adjoint of the convolution applied to dy; dx is overwritten.
template <int M, class T>
void conv2d_backward_data_winograd(const T* dy, const Shape& ys, const T* w, T* dx, const Shape& xs, const Conv2dGeometry& g) {
    with_winograd_kernels<T>([&](auto isa) { winograd_backward_data<M>(isa, dy, ys, w, dx, xs, g); });
}

// dw += the filter gradient.
template <int M, class T>
void conv2d_backward_filter_winograd(const T* x, const Shape& xs, const T* dy, const Shape& ys, T* dw, const Conv2dGeometry& g) {
    with_winograd_kernels<T>([&](auto isa) { winograd_backward_filter<M>(isa, x, xs, dy, ys, dw, g); });
}

}  // namespace cyclegan::cpu_detail
