#pragma once
// What a composition calls around each child for the taps active on the thread (core/taps.hpp):
// the output the child gave, and its output gradient with the taps' gradient added before its
// backward.
#include "../core/taps.hpp"
#include "../ops/tensor_ops.hpp"

namespace cyclegan {

template <class L, class B>
void tap_output(const L& child, const Tensor<B>& out) {
    if (Taps<B>* taps = active_taps<B>()) taps->record(LayerId::of(child), out);
}

// dy + the gradient set for `child`, in place of dy (a new tensor: dy may be the caller's).
template <class L, class B>
void add_tap_gradient(B& dev, const L& child, Tensor<B>& dy) {
    Taps<B>* taps = active_taps<B>();
    if (!taps) return;
    if (const Tensor<B>* d = taps->take_gradient(LayerId::of(child))) {
        Tensor<B> sum(dev, dy.shape());
        ops::add(dev, dy, *d, sum);
        dy = std::move(sum);
    }
}

}  // namespace cyclegan
