#pragma once
// Instance and batch normalisation on the GPU, as backend/cpu/norm.hpp: NormGroups
// (layers/instance_norm2d.hpp) says which values form a group. Statistics and gradient sums take
// one block per group and add in double in a fixed order (reduce.cuh), so they match the CPU's to
// float rounding and do not vary between runs.
#include <cmath>

#include "../../layers/instance_norm2d.hpp"
#include "cuda.cuh"
#include "reduce.cuh"

namespace cyclegan {
namespace cuda_detail {

// Block i: mean, rstd (and biased variance) of group i, two passes as on the CPU.
template <class T>
__global__ void __launch_bounds__(reduce_threads)
    norm_statistics_kernel(const T* x, NormGroups g, double eps, T* mean, T* rstd, T* var) {
    const int i = blockIdx.x;
    const double m = static_cast<double>(g.count());
    double s = 0;
    for (int k = 0; k < g.chunks; ++k) {
        const T* p = x + g.offset(i, k);
        for (std::size_t j = threadIdx.x; j < g.len; j += reduce_threads) s += p[j];
    }
    const double mu = block_sum(s) / m;
    double sq = 0;
    for (int k = 0; k < g.chunks; ++k) {
        const T* p = x + g.offset(i, k);
        for (std::size_t j = threadIdx.x; j < g.len; j += reduce_threads) {
            const double d = p[j] - mu;
            sq += d * d;
        }
    }
    const double v = block_sum(sq) / m;
    if (threadIdx.x == 0) {
        mean[i] = static_cast<T>(mu);
        rstd[i] = static_cast<T>(1.0 / sqrt(v + eps));
        if (var) var[i] = static_cast<T>(v);
    }
}

// Block i: group i's sum(dy) and sum(dy * xhat) into sums[i], sums[groups + i] (when sums is
// given), then dx for the group when dx is given. need_sums is uniform, so every thread reaches
// block_sum.
template <class T>
__global__ void __launch_bounds__(reduce_threads)
    norm_backward_kernel(const T* x, const T* dy, NormGroups g, const T* mean, const T* rstd, const T* w,
                         bool batch_stats, bool need_sums, T* dx, double* sums) {
    const int i = blockIdx.x;
    const double mu = mean[i], rs = rstd[i];
    double s1 = 0, s2 = 0;
    if (need_sums) {
        for (int k = 0; k < g.chunks; ++k) {
            const std::size_t o = g.offset(i, k);
            for (std::size_t j = threadIdx.x; j < g.len; j += reduce_threads) {
                s1 += dy[o + j];
                s2 += dy[o + j] * ((x[o + j] - mu) * rs);
            }
        }
        s1 = block_sum(s1);
        s2 = block_sum(s2);
    }
    if (sums && threadIdx.x == 0) {
        sums[i] = s1;
        sums[g.groups + i] = s2;
    }
    if (!dx) return;
    const double m = static_cast<double>(g.count());
    const double scale = rs * (w ? static_cast<double>(w[g.channel(i)]) : 1.0);
    // dx = scale * (dy - a - xhat * b); a = b = 0 when the statistics are constants.
    const double a = batch_stats ? s1 / m : 0.0, b = batch_stats ? s2 / m : 0.0;
    for (int k = 0; k < g.chunks; ++k) {
        const std::size_t o = g.offset(i, k);
        for (std::size_t j = threadIdx.x; j < g.len; j += reduce_threads) {
            const double xhat = (x[o + j] - mu) * rs;
            dx[o + j] = static_cast<T>(scale * (dy[o + j] - a - xhat * b));
        }
    }
}

}  // namespace cuda_detail

// mean[g] = sum(x) / M, rstd[g] = 1 / sqrt(sum((x - mean)^2) / M + eps); var (when given) receives
// the biased variance.
inline void norm_statistics(cuda& dev, const Tensor<cuda>& x, const NormGroups& g, double eps,
                            Tensor<cuda>& mean, Tensor<cuda>& rstd, Tensor<cuda>* var) {
    if (g.groups <= 0) return;
    cuda_detail::norm_statistics_kernel<float><<<g.groups, cuda_detail::reduce_threads, 0, dev.stream()>>>(
        x.data(), g, eps, mean.data(), rstd.data(), var ? var->data() : nullptr);
    CYCLEGAN_CUDA_CHECK(cudaGetLastError());
}

// rstd[c] = 1 / sqrt(var[c] + eps): batch norm in eval, from its running variance.
inline void norm_inverse_std(cuda& dev, const Tensor<cuda>& var, double eps, Tensor<cuda>& rstd) {
    const float* pv = var.data();
    float* pr = rstd.data();
    detail::for_each_index(dev.stream(), var.numel(), [=] __device__(std::size_t c) {
        pr[c] = static_cast<float>(1.0 / sqrt(static_cast<double>(pv[c]) + eps));
    });
}

// PyTorch's update, with the unbiased variance (M / (M - 1) times the biased one):
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
inline void update_running_statistics(cuda& dev, const Tensor<cuda>& mean, const Tensor<cuda>& var,
                                      std::size_t count, double momentum, Tensor<cuda>& running_mean,
                                      Tensor<cuda>& running_var) {
    const double bessel = static_cast<double>(count) / static_cast<double>(count - 1);
    const float *pm = mean.data(), *pv = var.data();
    float *rm = running_mean.data(), *rv = running_var.data();
    detail::for_each_index(dev.stream(), mean.numel(), [=] __device__(std::size_t c) {
        rm[c] = static_cast<float>((1 - momentum) * rm[c] + momentum * pm[c]);
        rv[c] = static_cast<float>((1 - momentum) * rv[c] + momentum * bessel * pv[c]);
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
    detail::for_each_index(dev.stream(), n, [=] __device__(std::size_t e) {
        const std::size_t r = e / len;
        const int i = static_cast<int>(r / chunks), k = static_cast<int>(r % chunks), c = gg.channel(i);
        const float scale = prstd[i] * (pw ? pw[c] : 1.0f);
        const float shift = (pb ? pb[c] : 0.0f) - pmean[i] * scale;
        const std::size_t o = gg.offset(i, k) + e % len;
        py[o] = px[o] * scale + shift;
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
    float* pdx = dx ? dx->data() : nullptr;
    const bool params = dweight || dbias;
    const bool need_sums = params || (pdx && batch_stats);
    if (g.groups <= 0 || (!pdx && !params)) return;
    // Per-group sums, kept for the channel pass below: 2 * groups doubles.
    std::shared_ptr<float> scratch = params ? dev.allocate(4 * static_cast<std::size_t>(g.groups)) : nullptr;
    double* sums = reinterpret_cast<double*>(scratch.get());
    cuda_detail::norm_backward_kernel<float><<<g.groups, cuda_detail::reduce_threads, 0, dev.stream()>>>(
        x.data(), dy.data(), g, mean.data(), rstd.data(), weight.data(), batch_stats, need_sums, pdx, sums);
    CYCLEGAN_CUDA_CHECK(cudaGetLastError());
    if (!params) return;
    // Groups c, c + C, ... share channel c (instance norm): add them in the CPU's order.
    float* pdw = dweight ? dweight->data() : nullptr;
    float* pdb = dbias ? dbias->data() : nullptr;
    const int groups = g.groups, channels = g.channels;
    detail::for_each_index(dev.stream(), static_cast<std::size_t>(channels), [=] __device__(std::size_t c) {
        double s1 = 0, s2 = 0;
        for (int i = static_cast<int>(c); i < groups; i += channels) {
            s1 += sums[i];
            s2 += sums[groups + i];
        }
        if (pdw) pdw[c] += static_cast<float>(s2);
        if (pdb) pdb[c] += static_cast<float>(s1);
    });
    // scratch is freed on the stream, after the kernels above.
}

}  // namespace cyclegan
