#pragma once
// 3x3 stride-1 convolutions (the residual blocks', 88% of a generator's multiply-adds) on the CPU by
// Winograd's minimal filtering F(m x m, 3 x 3) (Lavin and Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2016). An m x m tile of the output is A^T [(G g G^T) ⊙ (B^T d B)] A, with d
// the (m+2) x (m+2) input patch under it and g the 3x3 kernel: (m+2)^2 products instead of 9 m^2.
// Summed over the input channels, each of the (m+2)^2 positions ξ of the transformed tile is a GEMM,
//     M[ξ] (O x tiles) = U[ξ] (O x C) · V[ξ] (C x tiles),   U = G g G^T,  V = B^T d B,
// so with m = 4 the GEMMs do 36 multiply-adds where im2col + GEMM does 144.
// The gradients are the exact adjoints of that product (every transform is linear):
//     dM = A dy A^T per output tile;
//     dV[ξ] = U[ξ]^T dM[ξ], and dx += B dV B^T over the overlapping input patches;
//     dU[ξ] = dM[ξ] V[ξ]^T (summed over tiles), and dw += G^T dU G.
// Padding (zero, reflect, replicate) is read while gathering the patches, as im2col does.
// This file holds the transforms' coefficients and when Winograd is taken; the transforms and
// the convolutions themselves are in simd/winograd.inl, compiled once per instruction set
// (simd_kernels.hpp), and conv_winograd.hpp picks the set at run time.
#include <algorithm>
#include <cstddef>

#include "../../ops/conv.hpp"
#include "tuning.hpp"

namespace cyclegan::cpu_detail {

// Whether Winograd takes a convolution: CpuTuning says from which sizes on.
inline bool winograd_applies(const Conv2dGeometry& g, int in_channels, int out_channels, std::size_t output_pixels) {
    return g.kernel == Pair2(3) && g.stride == Pair2(1) && g.dilation == Pair2(1) &&
           std::min(in_channels, out_channels) >= cpu_tuning.winograd_min_channels &&
           output_pixels >= cpu_tuning.winograd_min_pixels;
}

// A small constant matrix, transposable at compile time.
template <int R, int K>
struct Coefficients {
    double v[R][K];
    static constexpr int rows = R, cols = K;
    constexpr Coefficients<K, R> transposed() const {
        Coefficients<K, R> t{};
        for (int r = 0; r < R; ++r)
            for (int k = 0; k < K; ++k) t.v[k][r] = v[r][k];
        return t;
    }
};

template <int M>
struct Winograd;

// F(2x2, 3x3), interpolation points 0, 1, -1 and infinity.
template <>
struct Winograd<2> {
    static constexpr int m = 2, a = 4;
    static constexpr Coefficients<4, 4> BT{{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}};
    static constexpr Coefficients<4, 3> G{{{1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}}};
    static constexpr Coefficients<2, 4> AT{{{1, 1, 1, 0}, {0, 1, -1, -1}}};
    static constexpr auto B = BT.transposed();
    static constexpr auto A = AT.transposed();
    static constexpr auto GT = G.transposed();
};

// F(4x4, 3x3), points 0, 1, -1, 2, -2 and infinity: the smallest coefficients for a 6x6 tile, so
// float keeps about 1e-6 relative accuracy (the tests compare with im2col + GEMM).
template <>
struct Winograd<4> {
    static constexpr int m = 4, a = 6;
    static constexpr Coefficients<6, 6> BT{{{4, 0, -5, 0, 1, 0},
                                            {0, -4, -4, 1, 1, 0},
                                            {0, 4, -4, -1, 1, 0},
                                            {0, -2, -1, 2, 1, 0},
                                            {0, 2, -1, -2, 1, 0},
                                            {0, 4, 0, -5, 0, 1}}};
    static constexpr Coefficients<6, 3> G{{{1. / 4, 0, 0},
                                           {-1. / 6, -1. / 6, -1. / 6},
                                           {-1. / 6, 1. / 6, -1. / 6},
                                           {1. / 24, 1. / 12, 1. / 6},
                                           {1. / 24, -1. / 12, 1. / 6},
                                           {0, 0, 1}}};
    static constexpr Coefficients<4, 6> AT{{{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}}};
    static constexpr auto B = BT.transposed();
    static constexpr auto A = AT.transposed();
    static constexpr auto GT = G.transposed();
};

// Transforms run on L tiles (or channels) at once, one SIMD register of lanes per matrix entry.
template <class T>
inline constexpr int kLanes = 64 / sizeof(T);

}  // namespace cyclegan::cpu_detail
