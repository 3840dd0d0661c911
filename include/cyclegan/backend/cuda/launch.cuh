#pragma once
// One way to launch the elementwise kernels: a grid-stride loop over n indices, each index handed
// to a device lambda (nvcc --extended-lambda) or functor, on the given stream.
#include <algorithm>
#include <cstddef>

#include "errors.cuh"

namespace cyclegan {

namespace detail {
template <class F>
__global__ void for_each_index_kernel(std::size_t n, F f) {
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
         i += std::size_t(blockDim.x) * gridDim.x)
        f(i);
}
}  // namespace detail

// f(i) for every i in [0, n) on the GPU, in any order, on `stream`: f is a device lambda
// (`[=] __device__(std::size_t i) { ... }`, nvcc --extended-lambda) or functor. The launch of the
// elementwise kernels, the library's and a program's own (docs/adding-a-layer.md).
template <class F>
void for_each_index(cudaStream_t stream, std::size_t n, F f) {
    if (n == 0) return;
    constexpr unsigned threads = 256;
    const unsigned blocks = static_cast<unsigned>(std::min<std::size_t>((n + threads - 1) / threads, 65535u * 8));
    detail::for_each_index_kernel<<<blocks, threads, 0, stream>>>(n, f);
    CYCLEGAN_CUDA_CHECK(cudaGetLastError());
}

namespace detail {

// Plane, row and column of flat index e in planes of H x W (NCHW: plane = n * C + c). In 32 bits
// when e fits, since 64-bit division costs many instructions on the GPU.
struct PixelIndex {
    std::size_t plane;
    int h, w;
};
__device__ inline PixelIndex pixel_of(std::size_t e, int H, int W) {
    if (e <= 0xffffffffu) {
        const unsigned u = static_cast<unsigned>(e), row = u / unsigned(W);
        return {row / unsigned(H), static_cast<int>(row % unsigned(H)), static_cast<int>(u - row * unsigned(W))};
    }
    const std::size_t row = e / static_cast<std::size_t>(W);
    return {row / static_cast<std::size_t>(H), static_cast<int>(row % static_cast<std::size_t>(H)),
            static_cast<int>(e - row * static_cast<std::size_t>(W))};
}

}  // namespace detail

}  // namespace cyclegan
