#pragma once
// Loss reduction on the GPU: one pass computes the per-element losses and the gradient; the sum
// is reduced in double in a fixed order (a fixed number of blocks, then one block over their
// totals, reduce.cuh), so it is the same on every run. The one value comes back through the
// device's pinned scalar: the only copy to the host and the only wait in the GPU kernels.
#include "../../ops/loss.hpp"
#include "cuda.cuh"
#include "reduce.cuh"

namespace cyclegan {
namespace cuda_detail {

inline constexpr unsigned loss_blocks = 256;  // at most; fixed for a given n, so the order is too

// Block b: the sum of l over its grid-stride share into partial[b]; grad = scale * dl/dx.
template <class T, class Op>
__global__ void __launch_bounds__(reduce_threads)
    loss_partials_kernel(Op op, const T* x, const T* target, T target_constant, T* grad, double scale,
                         std::size_t n, double* partial) {
    double sum = 0;
    for (std::size_t i = blockIdx.x * std::size_t(reduce_threads) + threadIdx.x; i < n;
         i += std::size_t(reduce_threads) * gridDim.x) {
        T l, g;
        op(x[i], target ? target[i] : target_constant, l, g);
        sum += l;
        if (grad) grad[i] = static_cast<T>(scale * g);
    }
    sum = block_sum(sum);
    if (threadIdx.x == 0) partial[blockIdx.x] = sum;
}

// One block: *out = the sum of partial[0, count).
template <class T>
__global__ void __launch_bounds__(reduce_threads) sum_partials_kernel(const double* partial, unsigned count, T* out) {
    double sum = 0;
    for (unsigned i = threadIdx.x; i < count; i += reduce_threads) sum += partial[i];
    sum = block_sum(sum);
    if (threadIdx.x == 0) *out = static_cast<T>(sum);
}

}  // namespace cuda_detail

// sum_i l(x_i, t_i) returned; grad_i = scale * dl/dx_i written when grad is given. The target is
// a tensor or, when target is null, the constant target_constant.
template <class Op>
double elementwise_loss(cuda& dev, const Op& op, const Tensor<cuda>& x, const Tensor<cuda>* target,
                        float target_constant, Tensor<cuda>* grad, double scale) {
    const std::size_t n = x.numel();
    if (n == 0) return 0.0;
    using cuda_detail::reduce_threads;
    const unsigned blocks = cuda_detail::reduce_blocks(n, cuda_detail::loss_blocks);
    // Scratch: `blocks` doubles of block totals, then the double result.
    const std::shared_ptr<float> scratch = dev.allocate(2 * (static_cast<std::size_t>(blocks) + 1));
    double* partial = reinterpret_cast<double*>(scratch.get());  // pool memory is 256-byte aligned
    double* result = partial + blocks;
    cuda_detail::loss_partials_kernel<float, Op><<<blocks, reduce_threads, 0, dev.stream()>>>(
        op, x.data(), target ? target->data() : nullptr, target_constant, grad ? grad->data() : nullptr, scale,
        n, partial);
    CYCLEGAN_CUDA_CHECK(cudaGetLastError());
    cuda_detail::sum_partials_kernel<double><<<1, reduce_threads, 0, dev.stream()>>>(partial, blocks, result);
    CYCLEGAN_CUDA_CHECK(cudaGetLastError());
    double* host = dev.host_scalar();
    CYCLEGAN_CUDA_CHECK(cudaMemcpyAsync(host, result, sizeof(double), cudaMemcpyDeviceToHost, dev.stream()));
    dev.synchronize();
    return *host;
}

}  // namespace cyclegan
