#pragma once
// Where a convolution's kernel tap reads along an output row: the part inside the image, read as a
// plain (strided) copy, and the columns outside it, read through the padding rule. Shared by
// im2col/col2im (conv.hpp) and the few-output-channel kernels (conv_thin.hpp).
#include <algorithm>

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

}  // namespace cyclegan::cpu_detail
