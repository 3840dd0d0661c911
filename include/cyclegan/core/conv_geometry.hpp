#pragma once
#include "shape.hpp"

namespace cyclegan {

// A height/width pair that a single int also converts to, as PyTorch's `kernel_size=3`.
struct Pair2 {
    int h = 0, w = 0;
    constexpr Pair2(int both) : h(both), w(both) {}  // NOLINT: implicit like PyTorch's ints
    constexpr Pair2(int h_, int w_) : h(h_), w(w_) {}
    friend constexpr bool operator==(const Pair2&, const Pair2&) = default;
};

// Where a convolution's kernel lands: shared by Conv2d, ConvTranspose2d and every backend.
struct Conv2dGeometry {
    Pair2 kernel{1}, stride{1}, padding{0}, dilation{1};

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
