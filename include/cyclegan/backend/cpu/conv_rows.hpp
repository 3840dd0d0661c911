#pragma once
// Where a convolution's kernel tap reads along an output row: the part inside the image, read as a
// plain (strided) copy, and the columns outside it, read through the padding rule. Shared by
// im2col/col2im (conv.hpp) and the few-output-channel kernels (conv_thin.hpp, simd/conv_thin.inl).
#include <algorithm>
#include <cstddef>

#include "../../ops/conv.hpp"

namespace cyclegan::cpu_detail {

// The output columns [lo, hi) whose input column ow*s + base lies inside [0, W): there the
// gather is a plain (strided) copy; only the columns outside need the padding rule.
struct InsideRange {
    int lo, hi;
};
inline InsideRange inside_columns(int base, int stride, int W, int OW) {
    int lo = base >= 0 ? 0 : (-base + stride - 1) / stride;
    int hi = W - 1 - base < 0 ? 0 : (W - 1 - base) / stride + 1;
    lo = std::min(lo, OW);
    hi = std::max(std::min(hi, OW), lo);
    return {lo, hi};
}

// row[q] = the input row at padded column q - pad (its padding rule outside the image), q < length;
// zeros past the padded width, where only outputs that do not exist read.
inline void padded_row(const float* in, int W, int pad, PaddingMode mode, int length, float* row) {
    const int lo = std::min(pad, length), hi = std::clamp(pad + W, lo, length);
    auto border = [&](int q) {
        const int i = q - pad;
        const int s = i >= -pad && i < W + pad ? padded_source(i, W, mode) : -1;
        row[q] = s >= 0 ? in[s] : 0.f;
    };
    for (int q = 0; q < lo; ++q) border(q);
    std::copy(in + lo - pad, in + hi - pad, row + lo);
    for (int q = hi; q < length; ++q) border(q);
}

// The input row a padded row index reads, or -1 for zeros.
inline int padded_row_source(int r, int H, int pad, PaddingMode mode) {
    const int i = r - pad;
    return i >= -pad && i < H + pad ? padded_source(i, H, mode) : -1;
}

// Padded row r of one input plane, `length` values: zeros where r reads nothing.
inline void padded_plane_row(const float* plane, int H, int W, const Conv2dGeometry& g, int r, int length, float* dst) {
    const int ih = padded_row_source(r, H, g.padding.h, g.padding_mode);
    if (ih < 0) std::fill(dst, dst + length, 0.f);
    else padded_row(plane + static_cast<std::size_t>(ih) * W, W, g.padding.w, g.padding_mode, length, dst);
}

}  // namespace cyclegan::cpu_detail
