#pragma once
// Instance and batch normalisation on the CPU. Both are "normalise each group of values by its
// own mean and variance"; NormGroups (layers/instance_norm2d.hpp) says which values form a group,
// so one set of kernels serves both. Threads take whole groups; sums run in double.
#include <cmath>
#include <vector>

#include "../../layers/instance_norm2d.hpp"
#include "cpu.hpp"

namespace cyclegan {

namespace cpu_detail {

// Σ term(j) for j < n, in double over 32 independent lanes added in a fixed order: one running
// double sum waits 4 cycles per element (the statistics of 64x256x256 took 8 ms); lanes vectorise
// and the result still does not depend on the thread count.
template <class F>
double lane_sum(std::size_t n, F term) {
    constexpr std::size_t L = 32;
    double lanes[L] = {};
    std::size_t j = 0;
    for (; j + L <= n; j += L)
        for (std::size_t l = 0; l < L; ++l) lanes[l] += term(j + l);
    double sum = 0;
    for (std::size_t l = 0; l < L; ++l) sum += lanes[l];
    for (; j < n; ++j) sum += term(j);
    return sum;
}

}  // namespace cpu_detail

// mean[g] = sum(x) / M, rstd[g] = 1 / sqrt(sum((x - mean)^2) / M + eps) over the M values of group g
// (two passes, for accuracy). When var is given it also receives the biased variance, which batch
// norm's running statistics need without eps folded in.
template <class T>
void norm_statistics(basic_cpu<T>&, const CpuTensor<T>& x, const NormGroups& g, double eps,
                     CpuTensor<T>& mean, CpuTensor<T>& rstd, CpuTensor<T>* var) {
    const T* px = x.data();
    T *pmean = mean.data(), *prstd = rstd.data(), *pvar = var ? var->data() : nullptr;
    const double m = static_cast<double>(g.count());
    CYCLEGAN_PARALLEL_FOR(x.numel())
    for (int i = 0; i < g.groups; ++i) {
        double sum = 0;
        for (int k = 0; k < g.chunks; ++k) {
            const T* p = px + g.offset(i, k);
            sum += cpu_detail::lane_sum(g.len, [p](std::size_t j) { return double(p[j]); });
        }
        const double mu = sum / m;
        double sq = 0;
        for (int k = 0; k < g.chunks; ++k) {
            const T* p = px + g.offset(i, k);
            sq += cpu_detail::lane_sum(g.len, [p, mu](std::size_t j) { return (p[j] - mu) * (p[j] - mu); });
        }
        const double v = sq / m;
        pmean[i] = static_cast<T>(mu);
        prstd[i] = static_cast<T>(1.0 / std::sqrt(v + eps));
        if (pvar) pvar[i] = static_cast<T>(v);
    }
}

// rstd[c] = 1 / sqrt(var[c] + eps): batch norm in eval, from its running variance.
template <class T>
void norm_inverse_std(basic_cpu<T>&, const CpuTensor<T>& var, double eps, CpuTensor<T>& rstd) {
    const T* pv = var.data();
    T* pr = rstd.data();
    for (std::size_t c = 0; c < var.numel(); ++c) pr[c] = static_cast<T>(1.0 / std::sqrt(double(pv[c]) + eps));
}

// PyTorch's update, with the unbiased variance (M / (M - 1) times the biased one, M values per channel):
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
template <class T>
void update_running_statistics(basic_cpu<T>&, const CpuTensor<T>& mean, const CpuTensor<T>& var,
                               std::size_t count, double momentum, CpuTensor<T>& running_mean,
                               CpuTensor<T>& running_var) {
    const double bessel = static_cast<double>(count) / static_cast<double>(count - 1);
    const T *pm = mean.data(), *pv = var.data();
    T *rm = running_mean.data(), *rv = running_var.data();
    for (std::size_t c = 0; c < mean.numel(); ++c) {
        rm[c] = static_cast<T>((1 - momentum) * rm[c] + momentum * pm[c]);
        rv[c] = static_cast<T>((1 - momentum) * rv[c] + momentum * bessel * pv[c]);
    }
}

// y = (x - mean[g]) * rstd[g] * weight[c] + bias[c], folded into one scale and shift per group.
// weight and bias may be empty (no affine transform): scale 1, shift 0.
template <class T>
void norm_forward(basic_cpu<T>&, const CpuTensor<T>& x, const NormGroups& g, const CpuTensor<T>& mean,
                  const CpuTensor<T>& rstd, const CpuTensor<T>& weight, const CpuTensor<T>& bias,
                  CpuTensor<T>& y) {
    const T *px = x.data(), *pmean = mean.data(), *prstd = rstd.data();
    const T *pw = weight.data(), *pb = bias.data();
    T* py = y.data();
    const int runs = g.groups * g.chunks;
    CYCLEGAN_PARALLEL_FOR(x.numel())
    for (int r = 0; r < runs; ++r) {
        const int i = r / g.chunks, c = g.channel(i);
        const T scale = prstd[i] * (pw ? pw[c] : T(1));
        const T shift = (pb ? pb[c] : T(0)) - pmean[i] * scale;
        const std::size_t o = g.offset(i, r % g.chunks);
        for (std::size_t j = 0; j < g.len; ++j) py[o + j] = px[o + j] * scale + shift;
    }
}

// With xhat = (x - mean) * rstd and the M values of a group:
//   batch statistics (mean and rstd depend on x):
//     dx = w * rstd * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M)
//   running statistics (constants): dx = w * rstd * dy
//   dweight[c] += sum(dy * xhat), dbias[c] += sum(dy), over every group of channel c.
// dx (overwritten), dweight and dbias (accumulated) may each be null; weight may be empty (w = 1).
template <class T>
void norm_backward(basic_cpu<T>&, const CpuTensor<T>& x, const CpuTensor<T>& dy, const NormGroups& g,
                   const CpuTensor<T>& mean, const CpuTensor<T>& rstd, const CpuTensor<T>& weight,
                   bool batch_stats, CpuTensor<T>* dx, CpuTensor<T>* dweight, CpuTensor<T>* dbias) {
    const T *px = x.data(), *pdy = dy.data(), *pmean = mean.data(), *prstd = rstd.data(), *pw = weight.data();
    T* pdx = dx ? dx->data() : nullptr;
    const bool need_sums = dweight || dbias || (pdx && batch_stats);
    std::vector<double> sum_dy(g.groups, 0.0), sum_dy_xhat(g.groups, 0.0);
    const double m = static_cast<double>(g.count());
    CYCLEGAN_PARALLEL_FOR(x.numel())
    for (int i = 0; i < g.groups; ++i) {
        const double mu = pmean[i], rs = prstd[i];
        double s1 = 0, s2 = 0;
        if (need_sums)
            for (int k = 0; k < g.chunks; ++k) {
                const T *d = pdy + g.offset(i, k), *p = px + g.offset(i, k);
                s1 += cpu_detail::lane_sum(g.len, [d](std::size_t j) { return double(d[j]); });
                s2 += cpu_detail::lane_sum(g.len, [d, p, mu, rs](std::size_t j) { return d[j] * ((p[j] - mu) * rs); });
            }
        sum_dy[i] = s1;
        sum_dy_xhat[i] = s2;
        if (!pdx) continue;
        const double scale = rs * (pw ? double(pw[g.channel(i)]) : 1.0);
        // dx = scale * (dy - a - xhat * b); a = b = 0 when the statistics are constants.
        const double a = batch_stats ? s1 / m : 0.0, b = batch_stats ? s2 / m : 0.0;
        for (int k = 0; k < g.chunks; ++k) {
            const std::size_t o = g.offset(i, k);
            for (std::size_t j = 0; j < g.len; ++j) {
                const double xhat = (px[o + j] - mu) * rs;
                pdx[o + j] = static_cast<T>(scale * (pdy[o + j] - a - xhat * b));
            }
        }
    }
    // Groups g and g + C share a channel (instance norm), so channels add up their groups here.
    for (int c = 0; c < g.channels && (dweight || dbias); ++c) {
        double s1 = 0, s2 = 0;
        for (int i = c; i < g.groups; i += g.channels) {
            s1 += sum_dy[i];
            s2 += sum_dy_xhat[i];
        }
        if (dweight) dweight->data()[c] += static_cast<T>(s2);
        if (dbias) dbias->data()[c] += static_cast<T>(s1);
    }
}

}  // namespace cyclegan
