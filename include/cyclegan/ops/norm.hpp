#pragma once
// Normalisation's contract, shared by InstanceNorm2d, BatchNorm2d and their backends
// (backend/cpu/norm.hpp, backend/cuda/norm.cuh): which values form a group, and the kernels.
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <type_traits>

#include "../core/macros.hpp"
#include "../core/tensor.hpp"
#include "kernel_lookup.hpp"

namespace cyclegan {

// How a norm layer groups the values of an NCHW tensor. Group g is `chunks` runs of `len`
// contiguous values, run k starting at offset(g, k), and it is scaled by channel(g)'s weight.
//   instance norm: one group per (n, c) plane, g = n*C + c, one run of H*W values;
//   batch norm:    one group per channel c, N runs of H*W values, one in each image.
// Both are offset(g, k) = g*H*W + k*C*H*W, channel(g) = g % C; only `groups` and `chunks` differ.
struct NormGroups {
    int groups = 0;
    int chunks = 0;
    int channels = 0;
    std::size_t len = 0;     // H*W
    std::size_t stride = 0;  // C*H*W: from a plane to the same channel's plane in the next image

    static NormGroups per_plane(const Shape& s) { return {s.n * s.c, 1, s.c, s.plane(), s.image()}; }
    static NormGroups per_channel(const Shape& s) { return {s.c, s.n, s.c, s.plane(), s.image()}; }

    CYCLEGAN_HD std::size_t offset(int g, int k) const {
        return static_cast<std::size_t>(g) * len + static_cast<std::size_t>(k) * stride;
    }
    CYCLEGAN_HD int channel(int g) const { return g % channels; }
    CYCLEGAN_HD std::size_t count() const { return static_cast<std::size_t>(chunks) * len; }  // values per group
};

// The arithmetic every backend's norm kernels share.

// y = (x - mean) * rstd * w[c] + b[c], folded into y = x * scale + shift per group; w and b null
// (no affine transform): scale rstd, shift -mean * rstd.
template <class T>
struct NormAffine {
    T scale, shift;
};
template <class T>
CYCLEGAN_HD NormAffine<T> norm_affine(T mean, T rstd, const T* w, const T* b, int c) {
    const T scale = rstd * (w ? w[c] : T(1));
    return {scale, (b ? b[c] : T(0)) - mean * scale};
}

// The input gradient of one value, with scale = rstd * w[c], xhat = (x - mean) * rstd and, with
// batch statistics, a = sum(dy) / M and b = sum(dy * xhat) / M over the group's M values (both 0
// when the statistics are constants, as batch norm's running ones in eval):
//   dx = scale * (dy - a - xhat * b)
CYCLEGAN_HD inline double norm_input_grad(double dy, double x, double mean, double rstd, double scale, double a,
                                          double b) {
    const double xhat = (x - mean) * rstd;
    return scale * (dy - a - xhat * b);
}

// 1 / sqrt(var + eps): the statistics' rstd, and batch norm's in eval from its running variance.
CYCLEGAN_HD inline double inverse_std(double var, double eps) { return 1.0 / sqrt(var + eps); }

// PyTorch's running statistics, with the unbiased variance (M / (M - 1) times the biased one):
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
// (scale: M / (M - 1) for the variance, 1 for the mean.)
CYCLEGAN_HD inline double running_average(double running, double batch, double momentum, double scale = 1) {
    return (1 - momentum) * running + momentum * scale * batch;
}
inline double bessel_correction(std::size_t count) {
    return static_cast<double>(count) / static_cast<double>(count - 1);
}

// The kernels' contract: g made for x's shape (the layer's NormGroups of it), statistics of one value
// per group, weight and bias of one value per channel or empty (no affine transform), and every
// tensor given beside x of x's shape.
template <class Tensor, class... Same>
void check_norm(const char* who, const Tensor& x, const NormGroups& g, const Tensor& mean, const Tensor& rstd,
                const Tensor* weight, const Tensor* bias, const Same*... same) {
    const Shape s = x.shape();
    const auto groups = static_cast<std::size_t>(g.groups);
    const bool fits = g.channels == s.c && g.len == s.plane() && g.stride == s.image() &&
                      groups * static_cast<std::size_t>(g.chunks) * g.len == x.numel() && mean.numel() == groups &&
                      rstd.numel() == groups;
    auto per_channel = [&](const Tensor* t) { return !t || t->empty() || t->numel() == static_cast<std::size_t>(s.c); };
    if (!fits || !per_channel(weight) || !per_channel(bias) || !((!same || same->shape() == s) && ...))
        throw shape_error(std::string(who) + ": the groups, statistics, weights or other tensors do not fit the input " +
                          to_string(s));
}

// The kernels both norm layers call (backend/cpu/norm.hpp). Optional tensors are pointers (null:
// absent) or empty tensors (weight, bias: no affine transform).
template <class B>
concept NormKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct, Tensor<B>* p,
                               const NormGroups& g, double eps, bool batch_stats) {
    norm_statistics(d, ct, g, eps, t, t, p);          // mean, rstd (and biased var into *p) per group
    norm_forward(d, ct, g, ct, ct, ct, ct, t);        // y = (x - mean) * rstd * weight + bias
    norm_backward(d, ct, ct, g, ct, ct, ct, batch_stats, p, p, p);  // dx, dweight +=, dbias +=
};

// What batch norm needs beyond the shared norm kernels: its running statistics.
template <class B>
concept BatchNormKernels = NormKernels<B> &&
    requires(B& d, Tensor<B>& t, const Tensor<B>& ct, double eps, double momentum, std::size_t count) {
        norm_inverse_std(d, ct, eps, t);                                  // rstd = 1 / sqrt(var + eps)
        update_running_statistics(d, ct, ct, count, momentum, t, t);      // running <- (1-m) running + m batch
    };

// The same numbers of values in every tensor (per-channel statistics), and a count over 1.
template <class Tensor>
void check_norm_statistics(const char* who, std::initializer_list<const Tensor*> tensors, std::size_t count = 2) {
    const std::size_t n = (*tensors.begin())->numel();
    for (const Tensor* t : tensors)
        if (t->numel() != n || count <= 1)
            throw shape_error(std::string(who) + ": statistics of " + std::to_string(t->numel()) + " and " + std::to_string(n) +
                              " values over " + std::to_string(count));
}

CYCLEGAN_KERNEL_LOOKUP(norm_statistics)
CYCLEGAN_KERNEL_LOOKUP(norm_forward)
CYCLEGAN_KERNEL_LOOKUP(norm_backward)
CYCLEGAN_KERNEL_LOOKUP(norm_inverse_std)
CYCLEGAN_KERNEL_LOOKUP(update_running_statistics)

// The checked entry points (ops/kernel_lookup.hpp).
namespace ops {

// mean, rstd (and the biased variance into *var) of each group of x.
template <class B>
void norm_statistics(B& dev, const Tensor<B>& x, const NormGroups& g, double eps, Tensor<B>& mean, Tensor<B>& rstd,
                     std::type_identity_t<Tensor<B>*> var) {
    check_norm("norm_statistics", x, g, mean, rstd, static_cast<const Tensor<B>*>(nullptr), static_cast<const Tensor<B>*>(nullptr));
    if (var) check_norm_statistics<Tensor<B>>("norm_statistics", {&mean, var});
    kernel_lookup::norm_statistics(dev, x, g, eps, mean, rstd, var);
}

// y = (x - mean) * rstd * weight + bias
template <class B>
void norm_forward(B& dev, const Tensor<B>& x, const NormGroups& g, const Tensor<B>& mean, const Tensor<B>& rstd,
                  const Tensor<B>& weight, const Tensor<B>& bias, Tensor<B>& y) {
    check_norm("norm_forward", x, g, mean, rstd, &weight, &bias, &y);
    kernel_lookup::norm_forward(dev, x, g, mean, rstd, weight, bias, y);
}

// dx (when given, overwritten), dweight and dbias (when given, added to) from dy.
template <class B>
void norm_backward(B& dev, const Tensor<B>& x, const Tensor<B>& dy, const NormGroups& g, const Tensor<B>& mean,
                   const Tensor<B>& rstd, const Tensor<B>& weight, bool batch_stats, std::type_identity_t<Tensor<B>*> dx,
                   std::type_identity_t<Tensor<B>*> dweight, std::type_identity_t<Tensor<B>*> dbias) {
    check_norm("norm_backward", x, g, mean, rstd, &weight, static_cast<const Tensor<B>*>(nullptr), &dy, dx);
    if ((dweight && dweight->numel() != weight.numel()) || (dbias && dbias->numel() != weight.numel()))
        throw shape_error("norm_backward: parameter gradients of another size than the weights'");
    kernel_lookup::norm_backward(dev, x, dy, g, mean, rstd, weight, batch_stats, dx, dweight, dbias);
}

// rstd = 1 / sqrt(var + eps)
template <class B>
void norm_inverse_std(B& dev, const Tensor<B>& var, double eps, Tensor<B>& rstd) {
    check_norm_statistics<Tensor<B>>("norm_inverse_std", {&var, &rstd}), kernel_lookup::norm_inverse_std(dev, var, eps, rstd);
}

// running <- (1 - momentum) running + momentum batch, the variance unbiased over `count` values.
template <class B>
void update_running_statistics(B& dev, const Tensor<B>& mean, const Tensor<B>& var, std::size_t count, double momentum,
                               Tensor<B>& running_mean, Tensor<B>& running_var) {
    check_norm_statistics<Tensor<B>>("update_running_statistics", {&mean, &var, &running_mean, &running_var}, count);
    kernel_lookup::update_running_statistics(dev, mean, var, count, momentum, running_mean, running_var);
}

}  // namespace ops

}  // namespace cyclegan
