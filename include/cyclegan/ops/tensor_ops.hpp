#pragma once
// Whole-tensor arithmetic that the compositions need (Residual's sum, SkipConcat's and the U-Net's
// channel concatenation): the kernels a backend provides, and the shape checks every backend's
// kernels run first, so each message is written once.
#include "../core/tensor.hpp"

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
    if (sy.c != sa.c + sb.c || sa.n != sy.n || sb.n != sy.n)
        throw shape_error("split_channels: cannot split " + to_string(sy));
}

template <class B>
concept TensorOpKernels = requires(B& d, Tensor<B>& t, const Tensor<B>& ct) {
    add(d, ct, ct, t);                 // out = a + b
    concat_channels(d, ct, ct, t);     // out = [a, b] along C
    split_channels(d, ct, t, t);       // the adjoint of concat_channels
};

}  // namespace cyclegan
