#pragma once
// Whole-tensor arithmetic that the compositions need (Residual's sum, SkipConcat's and the U-Net's
// channel concatenation): the kernels a backend provides, their shape checks and the checked entry
// points that run them (ops/kernel_lookup.hpp).
#include "../core/tensor.hpp"
#include "kernel_lookup.hpp"

namespace cyclegan {

// out = a + b (out may be a or b)
template <class Tensor>
void check_add(const Tensor& a, const Tensor& b, const Tensor& out) {
    if (!(a.shape() == b.shape()) || !(a.shape() == out.shape()))
        throw shape_error("add: shapes " + to_string(a.shape()) + " and " + to_string(b.shape()) + " differ");
}

// out[n] = [a[n]; b[n]]: per image, a's channels then b's.
template <class Tensor>
void check_concat_channels(const Tensor& a, const Tensor& b, const Tensor& out) {
    const Shape sa = a.shape(), sb = b.shape(), so = out.shape();
    if (sa.n != sb.n || sa.h != sb.h || sa.w != sb.w || so.c != sa.c + sb.c || so.n != sa.n || so.h != sa.h ||
        so.w != sa.w)
        throw shape_error("concat_channels: cannot join " + to_string(sa) + " and " + to_string(sb));
}

// a[n] = the first a.c channels of y[n], b[n] = the rest: concat_channels' adjoint.
template <class Tensor>
void check_split_channels(const Tensor& y, const Tensor& a, const Tensor& b) {
    const Shape sa = a.shape(), sb = b.shape(), sy = y.shape();
    if (sy.c != sa.c + sb.c || sa.n != sy.n || sb.n != sy.n || sa.h != sy.h || sb.h != sy.h || sa.w != sy.w || sb.w != sy.w)
        throw shape_error("split_channels: cannot split " + to_string(sy) + " into " + to_string(sa) + " and " + to_string(sb));
}

template <class B>
concept TensorOpKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct) {
    add(d, ct, ct, t);                 // out = a + b
    concat_channels(d, ct, ct, t);     // out = [a, b] along C
    split_channels(d, ct, t, t);       // the adjoint of concat_channels
};

CYCLEGAN_KERNEL_LOOKUP(add)
CYCLEGAN_KERNEL_LOOKUP(concat_channels)
CYCLEGAN_KERNEL_LOOKUP(split_channels)

// The checked entry points (ops/kernel_lookup.hpp).
namespace ops {

template <class B>
void add(B& dev, const Tensor<B>& a, const Tensor<B>& b, Tensor<B>& out) {
    check_add(a, b, out), kernel_lookup::add(dev, a, b, out);
}

template <class B>
void concat_channels(B& dev, const Tensor<B>& a, const Tensor<B>& b, Tensor<B>& out) {
    check_concat_channels(a, b, out), kernel_lookup::concat_channels(dev, a, b, out);
}

template <class B>
void split_channels(B& dev, const Tensor<B>& y, Tensor<B>& a, Tensor<B>& b) {
    check_split_channels(y, a, b), kernel_lookup::split_channels(dev, y, a, b);
}

}  // namespace ops

}  // namespace cyclegan
