#pragma once
// 3x3 stride-1 convolutions by Winograd F(m x m, 3x3): the coefficients and when it is taken are
// in winograd_coefficients.hpp, the transforms and convolutions in simd/winograd.inl, compiled once
// per instruction set (simd_kernels.hpp). These pick the set in use at run time: AVX-512 or AVX2
// transforms with our GEMM for the products in float, else the portable ones on Eigen's products.
#include "simd_kernels.hpp"
#include "winograd_coefficients.hpp"

namespace cyclegan::cpu_detail {

// Calls f(isa, ops) with the tags of the set that runs a Winograd convolution in T and of its
// products' operands (float for double).
template <class T, class F>
void with_winograd_kernels(GemmOperands ops, F&& f) {
    auto run = [&](auto isa) { with_operands(isa, ops, [&](auto tag) { f(isa, tag); }); };
    if constexpr (std::is_same_v<T, float>)
        if (with_simd_kernels(run)) return;
    run(portable::Isa{});
}

// Calls f.template operator()<m>() with Winograd's tile for the products' operands: F(4x4, 3x3) in
// float, F(2x2, 3x3) in bf16. F(4x4)'s transforms (coefficients up to 8, outputs that cancel terms
// much larger than themselves) amplify the rounding of its products' operands about 9x: in bf16 a
// residual block's convolution would be 2% off (relative RMS, 256 channels), against 0.24% for
// im2col; F(2x2)'s coefficients (0, ±1, ±1/2) keep it to 0.34%, still 2.25x fewer products than im2col.
template <class F>
void with_winograd_tile(GemmOperands ops, F&& f) {
    if (ops == GemmOperands::f32) f.template operator()<4>();
    else f.template operator()<2>();
}

// y = conv(x, w), 3x3 stride 1, y preallocated, the (m+2)^2 products' operands read as `ops` says. With
// a cache (inference), the transformed weights are kept there between calls (weight_cache.hpp).
template <int M, class T>
void conv2d_forward_winograd(const T* x, const Shape& xs, const T* w, T* y, const Shape& ys, const Conv2dGeometry& g,
                             WeightCache* cache = nullptr, GemmOperands ops = GemmOperands::f32) {
    with_winograd_kernels<T>(ops, [&](auto isa, auto tag) { winograd_forward<M>(isa, tag, x, xs, w, y, ys, g, cache); });
}

// dx = the adjoint of the convolution applied to dy; dx is overwritten.
template <int M, class T>
void conv2d_backward_data_winograd(const T* dy, const Shape& ys, const T* w, T* dx, const Shape& xs, const Conv2dGeometry& g,
                                   GemmOperands ops = GemmOperands::f32) {
    with_winograd_kernels<T>(ops, [&](auto isa, auto tag) { winograd_backward_data<M>(isa, tag, dy, ys, w, dx, xs, g); });
}

// dw += the filter gradient.
template <int M, class T>
void conv2d_backward_filter_winograd(const T* x, const Shape& xs, const T* dy, const Shape& ys, T* dw, const Conv2dGeometry& g,
                                     GemmOperands ops = GemmOperands::f32) {
    with_winograd_kernels<T>(ops, [&](auto isa, auto tag) { winograd_backward_filter<M>(isa, tag, x, xs, dy, ys, dw, g); });
}

}  // namespace cyclegan::cpu_detail
