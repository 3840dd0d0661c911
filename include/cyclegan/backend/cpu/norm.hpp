#pragma once
// Instance and batch normalisation on the CPU. Both are "normalise each group of values by its
// own mean and variance"; NormGroups (ops/norm.hpp) says which values form a group,
// so one set of kernels serves both. Threads take whole groups; sums run in double. The loops are
// in simd/loops.inl, compiled for each kernel set.
#include <cmath>
#include <vector>

#include "../../ops/norm.hpp"
#include "../../core/compiled.hpp"
#include "cpu.hpp"

namespace cyclegan {

// mean[g] = sum(x) / M, rstd[g] = 1 / sqrt(sum((x - mean)^2) / M + eps) over the M values of group g
// (two passes, for accuracy). When var is given it also receives the biased variance, which batch
// norm's running statistics need without eps folded in.
template <class T>
void norm_statistics(basic_cpu<T>&, const CpuTensor<T>& x, const NormGroups& g, double eps,
                     CpuTensor<T>& mean, CpuTensor<T>& rstd, CpuTensor<T>* var);

// rstd[c] = 1 / sqrt(var[c] + eps): batch norm in eval, from its running variance.
template <class T>
void norm_inverse_std(basic_cpu<T>&, const CpuTensor<T>& var, double eps, CpuTensor<T>& rstd);

// PyTorch's update (ops/norm.hpp), M = count values per channel.
template <class T>
void update_running_statistics(basic_cpu<T>&, const CpuTensor<T>& mean, const CpuTensor<T>& var,
                               std::size_t count, double momentum, CpuTensor<T>& running_mean,
                               CpuTensor<T>& running_var);

// y = (x - mean[g]) * rstd[g] * weight[c] + bias[c], folded into one scale and shift per group.
// weight and bias may be empty (no affine transform): scale 1, shift 0.
template <class T>
void norm_forward(basic_cpu<T>&, const CpuTensor<T>& x, const NormGroups& g, const CpuTensor<T>& mean,
                  const CpuTensor<T>& rstd, const CpuTensor<T>& weight, const CpuTensor<T>& bias,
                  CpuTensor<T>& y);

// With xhat = (x - mean) * rstd and the M values of a group:
//   batch statistics (mean and rstd depend on x):
//     dx = w * rstd * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M)
//   running statistics (constants): dx = w * rstd * dy
//   dweight[c] += sum(dy * xhat), dbias[c] += sum(dy), over every group of channel c.
// dx (overwritten), dweight and dbias (accumulated) may each be null; weight may be empty (w = 1).
template <class T>
void norm_backward(basic_cpu<T>&, const CpuTensor<T>& x, const CpuTensor<T>& dy, const NormGroups& g,
                   const CpuTensor<T>& mean, const CpuTensor<T>& rstd, const CpuTensor<T>& weight,
                   bool batch_stats, CpuTensor<T>* dx, CpuTensor<T>* dweight, CpuTensor<T>* dbias);

}  // namespace cyclegan

// The kernels, unless this file takes them from cyclegan_kernels (core/compiled.hpp).
#if !CYCLEGAN_DETAIL_KERNELS_DECLARED
#include "simd_kernels.hpp"

namespace cyclegan {


template <class T>
void norm_statistics(basic_cpu<T>&, const CpuTensor<T>& x, const NormGroups& g, double eps,
                     CpuTensor<T>& mean, CpuTensor<T>& rstd, CpuTensor<T>* var) {
    T* pvar = var ? var->data() : nullptr;
    cpu_detail::with_cpu_kernels([&](auto isa) {
        norm_statistics_loop(isa, x.data(), x.numel(), g, eps, mean.data(), rstd.data(), pvar);
    });
}

template <class T>
void norm_inverse_std(basic_cpu<T>&, const CpuTensor<T>& var, double eps, CpuTensor<T>& rstd) {
    const T* pv = var.data();
    T* pr = rstd.data();
    for (std::size_t c = 0; c < var.numel(); ++c) pr[c] = static_cast<T>(inverse_std(pv[c], eps));
}

template <class T>
void update_running_statistics(basic_cpu<T>&, const CpuTensor<T>& mean, const CpuTensor<T>& var,
                               std::size_t count, double momentum, CpuTensor<T>& running_mean,
                               CpuTensor<T>& running_var) {
    const double bessel = bessel_correction(count);
    const T *pm = mean.data(), *pv = var.data();
    T *rm = running_mean.data(), *rv = running_var.data();
    for (std::size_t c = 0; c < mean.numel(); ++c) {
        rm[c] = static_cast<T>(running_average(rm[c], pm[c], momentum));
        rv[c] = static_cast<T>(running_average(rv[c], pv[c], momentum, bessel));
    }
}

template <class T>
void norm_forward(basic_cpu<T>&, const CpuTensor<T>& x, const NormGroups& g, const CpuTensor<T>& mean,
                  const CpuTensor<T>& rstd, const CpuTensor<T>& weight, const CpuTensor<T>& bias,
                  CpuTensor<T>& y) {
    cpu_detail::with_cpu_kernels([&](auto isa) {
        norm_forward_loop(isa, x.data(), x.numel(), g, mean.data(), rstd.data(), weight.data(), bias.data(), y.data());
    });
}

template <class T>
void norm_backward(basic_cpu<T>&, const CpuTensor<T>& x, const CpuTensor<T>& dy, const NormGroups& g,
                   const CpuTensor<T>& mean, const CpuTensor<T>& rstd, const CpuTensor<T>& weight,
                   bool batch_stats, CpuTensor<T>* dx, CpuTensor<T>* dweight, CpuTensor<T>* dbias) {
    const T *px = x.data(), *pdy = dy.data(), *pmean = mean.data(), *prstd = rstd.data(), *pw = weight.data();
    T* pdx = dx ? dx->data() : nullptr;
    const bool need_sums = dweight || dbias || (pdx && batch_stats);
    std::vector<double> sum_dy(g.groups, 0.0), sum_dy_xhat(g.groups, 0.0);
    cpu_detail::with_cpu_kernels([&](auto isa) {
        norm_backward_loop(isa, px, pdy, x.numel(), g, pmean, prstd, pw, batch_stats, need_sums, pdx, sum_dy.data(),
                           sum_dy_xhat.data());
    });
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
#endif  // !CYCLEGAN_DETAIL_KERNELS_DECLARED
