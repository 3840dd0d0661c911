#pragma once
#include "macros.hpp"
#include "shape.hpp"

namespace cyclegan {

// A height/width pair that a single int also converts to, as PyTorch's `kernel_size=3`.
struct Pair2 {
    int h = 0, w = 0;
    constexpr Pair2(int both) : h(both), w(both) {}  // NOLINT: implicit like PyTorch's ints
    constexpr Pair2(int h_, int w_) : h(h_), w(w_) {}
    friend constexpr bool operator==(const Pair2&, const Pair2&) = default;
};

// What a convolution reads outside the image, as PyTorch's Conv2d(padding_mode=...). Reflect and
// replicate read the image itself, so a ReflectionPad2d + Conv2d pair needs no padded copy.
enum class PaddingMode { zeros, reflect, replicate };

// The input index read at `i` (which may lie in the padding) of an axis of length n; -1 for a zero.
CYCLEGAN_HD constexpr int padded_source(int i, int n, PaddingMode mode) {
    if (i >= 0 && i < n) return i;
    switch (mode) {
        case PaddingMode::reflect: return i < 0 ? -i : 2 * (n - 1) - i;  // pad < n, so one reflection
        case PaddingMode::replicate: return i < 0 ? 0 : n - 1;
        case PaddingMode::zeros: break;
    }
    return -1;
}

// What a convolution's caller knows of its weights. `fixed`: the same weights will run again, as in
// inference, so a backend may keep them transformed for its kernels (checked against their values
// on every call, so weights changed in place are still seen). `changing`: training, where every
// step changes them.
enum class ConvWeights { changing, fixed };

// Where a convolution's kernel lands: shared by Conv2d, ConvTranspose2d and every backend.
struct Conv2dGeometry {
    Pair2 kernel{1}, stride{1}, padding{0}, dilation{1};
    PaddingMode padding_mode = PaddingMode::zeros;

    constexpr int out_h(int h) const {
        return (h + 2 * padding.h - dilation.h * (kernel.h - 1) - 1) / stride.h + 1;
    }
    constexpr int out_w(int w) const {
        return (w + 2 * padding.w - dilation.w * (kernel.w - 1) - 1) / stride.w + 1;
    }
    // The input size a transposed convolution produces (output_padding resolves the ambiguity).
    constexpr int transposed_h(int h, int output_padding) const {
        return (h - 1) * stride.h - 2 * padding.h + dilation.h * (kernel.h - 1) + output_padding + 1;
    }
    constexpr int transposed_w(int w, int output_padding) const {
        return (w - 1) * stride.w - 2 * padding.w + dilation.w * (kernel.w - 1) + output_padding + 1;
    }
};

}  // namespace cyclegan
