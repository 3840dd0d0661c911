#pragma once
// Per-channel bias of the convolutions (as the bottom of backend/cpu/conv.hpp): the add is
// elementwise; the gradient takes one block per channel and adds in double (reduce.cuh).
#include "cuda.cuh"
#include "reduce.cuh"

namespace cyclegan {
namespace cuda_detail {

// Block c: db[c] += sum over n, h, w of dy[n, c, h, w].
template <class T>
__global__ void __launch_bounds__(reduce_threads)
    channel_bias_backward_kernel(const T* dy, int images, int channels, std::size_t plane, T* db) {
    const int c = blockIdx.x;
    double sum = 0;
    for (int n = 0; n < images; ++n) {
        const T* p = dy + (static_cast<std::size_t>(n) * channels + c) * plane;
        for (std::size_t i = threadIdx.x; i < plane; i += reduce_threads) sum += p[i];
    }
    sum = block_sum(sum);
    if (threadIdx.x == 0) db[c] += static_cast<T>(sum);
}

}  // namespace cuda_detail

// y[n, c, h, w] += b[c]
inline void add_channel_bias(cuda& dev, Tensor<cuda>& y, const Tensor<cuda>& b) {
    const Shape s = y.shape();
    const std::size_t plane = s.plane(), channels = static_cast<std::size_t>(s.c);
    float* py = y.data();
    const float* pb = b.data();
    detail::for_each_index(dev.stream(), y.numel(),
                           [=] __device__(std::size_t i) { py[i] += pb[(i / plane) % channels]; });
}

// db[c] += sum over n, h, w of dy[n, c, h, w]
inline void channel_bias_backward(cuda& dev, const Tensor<cuda>& dy, Tensor<cuda>& db) {
    const int images = dy.shape().n, channels = dy.shape().c;
    const std::size_t plane = dy.shape().plane();
    if (channels <= 0) return;
    cuda_detail::channel_bias_backward_kernel<float><<<channels, cuda_detail::reduce_threads, 0, dev.stream()>>>(
        dy.data(), images, channels, plane, db.data());
    CYCLEGAN_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cyclegan
