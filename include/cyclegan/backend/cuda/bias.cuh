#pragma once
// Per-channel bias of the convolutions (as the bottom of backend/cpu/conv.hpp): the add is
// elementwise; the gradient splits each channel across blocks and adds in double (reduce.cuh).
#include <memory>

#include "../../ops/norm.hpp"
#include "cuda.cuh"
#include "reduce.cuh"

namespace cyclegan {

// y[n, c, h, w] += b[c]
inline void add_channel_bias(cuda& dev, Tensor<cuda>& y, const Tensor<cuda>& b) {
    const Shape s = y.shape();
    const std::size_t plane = s.plane(), channels = static_cast<std::size_t>(s.c);
    float* py = y.data();
    const float* pb = b.data();
    for_each_index(dev.stream(), y.numel(),
                           [=] __device__(std::size_t i) { py[i] += pb[(i / plane) % channels]; });
}

// db[c] += sum over n, h, w of dy[n, c, h, w]
inline void channel_bias_backward(cuda& dev, const Tensor<cuda>& dy, Tensor<cuda>& db) {
    using namespace cuda_detail;
    const int channels = dy.shape().c;
    if (channels <= 0) return;
    // Channel c's values lie as batch norm's group c: one plane in each image.
    const NormGroups g = NormGroups::per_channel(dy.shape());
    const Split sp = split_groups(channels, g.count());
    const unsigned blocks = split_blocks(channels, sp);
    std::shared_ptr<float> scratch = dev.allocate(2 * static_cast<std::size_t>(blocks));  // blocks doubles
    double* part = reinterpret_cast<double*>(scratch.get());
    group_sum_partials_kernel<float><<<blocks, reduce_threads, 0, dev.stream()>>>(dy.data(), g, sp, part);
    CYCLEGAN_CUDA_CHECK(cudaGetLastError());
    float* pdb = db.data();
    const int parts = sp.parts;
    for_each_index(dev.stream(), static_cast<std::size_t>(channels), [=] __device__(std::size_t c) {
        pdb[c] += static_cast<float>(sum_parts(part, static_cast<int>(c), parts));
    });
    // scratch is freed on the stream, after the kernels above.
}

}  // namespace cyclegan
