#pragma once
// Instance and batch normalisation on the GPU, as backend/cpu/norm.hpp: NormGroups
// (ops/norm.hpp) says which values form a group. Statistics and gradient sums split
// each group across blocks and add in double in a fixed order (reduce.cuh), so they match the
// CPU's to float rounding and do not vary between runs.
#include <cmath>

#include "../../ops/norm.hpp"
#include "cuda.cuh"
#include "reduce.cuh"

namespace cyclegan {
namespace cuda_detail {

// Second pass of the statistics, block i * parts + p: sum((x - mean)^2) over slice p of group i,
// the mean (in double, as on the CPU) from the first pass's partials.
template <class T>
__global__ void __launch_bounds__(reduce_threads)
    norm_square_partials_kernel(const T* x, NormGroups g, Split sp, const double* sum_part, double* part) {
    const int i = static_cast<int>(blockIdx.x) / sp.parts, p = static_cast<int>(blockIdx.x) % sp.parts;
    const double mu = sum_parts(sum_part, i, sp.parts) / static_cast<double>(g.count());
    double sq = 0;
    for_each_in_slice(g, i, p, sp.slice, [&](std::size_t o) {
        const double d = x[o] - mu;
        sq += d * d;
    });
    sq = block_sum(sq);  // reached by every thread
    if (threadIdx.x == 0) part[blockIdx.x] = sq;
}

// Block i * parts + p: sum(dy) and sum(dy * xhat) over slice p of group i into part[b] and
// part[gridDim.x + b].
template <class T>
__global__ void __launch_bounds__(reduce_threads)
    norm_backward_partials_kernel(const T* x, const T* dy, NormGroups g, Split sp, const T* mean, const T* rstd,
                                  double* part) {
    const int i = static_cast<int>(blockIdx.x) / sp.parts, p = static_cast<int>(blockIdx.x) % sp.parts;
    const double mu = mean[i], rs = rstd[i];
    double s1 = 0, s2 = 0;
    for_each_in_slice(g, i, p, sp.slice, [&](std::size_t o) {
        s1 += dy[o];
        s2 += dy[o] * ((x[o] - mu) * rs);
    });
    s1 = block_sum(s1);  // both reached by every thread
    s2 = block_sum(s2);
    if (threadIdx.x == 0) {
        part[blockIdx.x] = s1;
        part[gridDim.x + blockIdx.x] = s2;
    }
}

}  // namespace cuda_detail

// mean[g] = sum(x) / M, rstd[g] = 1 / sqrt(sum((x - mean)^2) / M + eps); var (when given) receives
// the biased variance.
inline void norm_statistics(cuda& dev, const Tensor<cuda>& x, const NormGroups& g, double eps,
                            Tensor<cuda>& mean, Tensor<cuda>& rstd, Tensor<cuda>* var) {
    using namespace cuda_detail;
    if (g.groups <= 0) return;
    // Two passes as on the CPU (the mean, then squares about it), each split across blocks
    // (reduce.cuh); the second pass and the last kernel re-add the first's partials themselves.
    const Split sp = split_groups(g.groups, g.count());
    const unsigned blocks = split_blocks(g.groups, sp);
    std::shared_ptr<float> scratch = dev.allocate(4 * static_cast<std::size_t>(blocks));  // 2 * blocks doubles
    double* sum_part = reinterpret_cast<double*>(scratch.get());
    double* sq_part = sum_part + blocks;
    group_sum_partials_kernel<float><<<blocks, reduce_threads, 0, dev.stream()>>>(x.data(), g, sp, sum_part);
    CYCLEGAN_CUDA_CHECK(cudaGetLastError());
    norm_square_partials_kernel<float><<<blocks, reduce_threads, 0, dev.stream()>>>(x.data(), g, sp, sum_part, sq_part);
    CYCLEGAN_CUDA_CHECK(cudaGetLastError());
    const double m = static_cast<double>(g.count());
    const int parts = sp.parts;
    float *pmean = mean.data(), *prstd = rstd.data(), *pvar = var ? var->data() : nullptr;
    for_each_index(dev.stream(), static_cast<std::size_t>(g.groups), [=] __device__(std::size_t e) {
        const int i = static_cast<int>(e);
        const double mu = sum_parts(sum_part, i, parts) / m, v = sum_parts(sq_part, i, parts) / m;
        pmean[i] = static_cast<float>(mu);
        prstd[i] = static_cast<float>(inverse_std(v, eps));
        if (pvar) pvar[i] = static_cast<float>(v);
    });
    // scratch is freed on the stream, after the kernels above.
}

// rstd[c] = 1 / sqrt(var[c] + eps): batch norm in eval, from its running variance.
inline void norm_inverse_std(cuda& dev, const Tensor<cuda>& var, double eps, Tensor<cuda>& rstd) {
    const float* pv = var.data();
    float* pr = rstd.data();
    for_each_index(dev.stream(), var.numel(), [=] __device__(std::size_t c) {
        pr[c] = static_cast<float>(inverse_std(pv[c], eps));
    });
}

// PyTorch's update (ops/norm.hpp), M = count values per channel.
inline void update_running_statistics(cuda& dev, const Tensor<cuda>& mean, const Tensor<cuda>& var,
                                      std::size_t count, double momentum, Tensor<cuda>& running_mean,
                                      Tensor<cuda>& running_var) {
    const double bessel = bessel_correction(count);
    const float *pm = mean.data(), *pv = var.data();
    float *rm = running_mean.data(), *rv = running_var.data();
    for_each_index(dev.stream(), mean.numel(), [=] __device__(std::size_t c) {
        rm[c] = static_cast<float>(running_average(rm[c], pm[c], momentum));
        rv[c] = static_cast<float>(running_average(rv[c], pv[c], momentum, bessel));
    });
}

// y = (x - mean[g]) * rstd[g] * weight[c] + bias[c], folded into one scale and shift per group;
// weight and bias may be empty (scale 1, shift 0). One thread per value of every run.
inline void norm_forward(cuda& dev, const Tensor<cuda>& x, const NormGroups& g, const Tensor<cuda>& mean,
                         const Tensor<cuda>& rstd, const Tensor<cuda>& weight, const Tensor<cuda>& bias,
                         Tensor<cuda>& y) {
    const float *px = x.data(), *pmean = mean.data(), *prstd = rstd.data();
    const float *pw = weight.data(), *pb = bias.data();
    float* py = y.data();
    const NormGroups gg = g;
    const std::size_t len = g.len, chunks = static_cast<std::size_t>(g.chunks);
    const std::size_t n = g.groups > 0 ? static_cast<std::size_t>(g.groups) * chunks * len : 0;
    for_each_index(dev.stream(), n, [=] __device__(std::size_t e) {
        const std::size_t r = e / len;
        const int i = static_cast<int>(r / chunks), k = static_cast<int>(r % chunks);
        const NormAffine<float> a = norm_affine(pmean[i], prstd[i], pw, pb, gg.channel(i));
        const std::size_t o = gg.offset(i, k) + e % len;
        py[o] = px[o] * a.scale + a.shift;
    });
}

// With xhat = (x - mean) * rstd and the M values of a group:
//   batch statistics: dx = w * rstd * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M)
//   running statistics (constants): dx = w * rstd * dy
//   dweight[c] += sum(dy * xhat), dbias[c] += sum(dy), over every group of channel c.
// dx (overwritten), dweight and dbias (accumulated) may each be null; weight may be empty (w = 1).
inline void norm_backward(cuda& dev, const Tensor<cuda>& x, const Tensor<cuda>& dy, const NormGroups& g,
                          const Tensor<cuda>& mean, const Tensor<cuda>& rstd, const Tensor<cuda>& weight,
                          bool batch_stats, Tensor<cuda>* dx, Tensor<cuda>* dweight, Tensor<cuda>* dbias) {
    using namespace cuda_detail;
    float* pdx = dx ? dx->data() : nullptr;
    float* pdw = dweight ? dweight->data() : nullptr;
    float* pdb = dbias ? dbias->data() : nullptr;
    const bool params = dweight || dbias, dx_sums = pdx && batch_stats;
    if (g.groups <= 0 || (!pdx && !params)) return;
    const int groups = g.groups, channels = g.channels;
    const double m = static_cast<double>(g.count());
    std::shared_ptr<float> scratch;
    double* sums = nullptr;  // per group: sum(dy) at [i], sum(dy * xhat) at [groups + i], for dx
    if (params || dx_sums) {
        // Split sums (reduce.cuh): 2 * blocks partials, then 2 * groups totals.
        const Split sp = split_groups(groups, g.count());
        const unsigned blocks = split_blocks(groups, sp);
        scratch = dev.allocate(4 * (static_cast<std::size_t>(blocks) + static_cast<std::size_t>(groups)));
        double* part = reinterpret_cast<double*>(scratch.get());
        if (dx_sums) sums = part + 2 * static_cast<std::size_t>(blocks);
        norm_backward_partials_kernel<float><<<blocks, reduce_threads, 0, dev.stream()>>>(
            x.data(), dy.data(), g, sp, mean.data(), rstd.data(), part);
        CYCLEGAN_CUDA_CHECK(cudaGetLastError());
        // One thread per channel: each group's partials in index order, then groups c, c + C, ...
        // of channel c added in the CPU's order.
        const int parts = sp.parts;
        double* out = sums;
        for_each_index(dev.stream(), static_cast<std::size_t>(channels), [=] __device__(std::size_t e) {
            const int c = static_cast<int>(e);
            double s1 = 0, s2 = 0;
            for (int i = c; i < groups; i += channels) {
                const double a = sum_parts(part, i, parts), b = sum_parts(part + blocks, i, parts);
                if (out) {
                    out[i] = a;
                    out[groups + i] = b;
                }
                s1 += a;
                s2 += b;
            }
            if (pdw) pdw[c] += static_cast<float>(s2);
            if (pdb) pdb[c] += static_cast<float>(s1);
        });
    }
    if (!pdx) return;
    // dx = scale * (dy - a - xhat * b), one thread per value; a = b = 0 when the statistics are
    // constants (sums is null then).
    const float *px = x.data(), *pdy = dy.data(), *pmean = mean.data(), *prstd = rstd.data(), *pw = weight.data();
    const NormGroups gg = g;
    const std::size_t len = g.len, chunks = static_cast<std::size_t>(g.chunks);
    const double* ps = sums;
    for_each_index(dev.stream(), static_cast<std::size_t>(groups) * chunks * len, [=] __device__(std::size_t e) {
        const std::size_t r = e / len;
        const int i = static_cast<int>(r / chunks), k = static_cast<int>(r % chunks);
        const double mu = pmean[i], rs = prstd[i];
        const double scale = rs * (pw ? static_cast<double>(pw[gg.channel(i)]) : 1.0);
        const double a = ps ? ps[i] / m : 0.0, b = ps ? ps[groups + i] / m : 0.0;
        const std::size_t o = gg.offset(i, k) + e % len;
        pdx[o] = static_cast<float>(norm_input_grad(pdy[o], px[o], mu, rs, scale, a, b));
    });
    // scratch is freed on the stream, after the kernels above.
}

}  // namespace cyclegan
