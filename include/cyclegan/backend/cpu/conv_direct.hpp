#pragma once
// Direct convolutions on AMX (simd/conv_amx.inl): when they are taken, and their weights, made per
// call or, in inference, kept in the weight cache. The input gradient of a stride-1 convolution is
// itself one: the output gradient padded by kernel - 1 - padding zeros, against the weights
// transposed and flipped; reflect and replicate padding compute the padded input's gradient and
// fold it back onto the pixels it was read from. The filter gradient has its own kernel, with the
// products over pixels.
#include <algorithm>
#include <cstring>
#include <memory>

#include "simd_kernels.hpp"
#include "weight_cache.hpp"

namespace cyclegan::cpu_detail {

// Whether the direct AMX convolution takes a convolution whose products read `ops`: stride 1 or 2
// (the same both ways), undilated, output rows of at least a tile's run of 16 pixels and at least
// 16 channels in and out (fewer leave the tiles mostly zeros: the generator's first and last 7x7
// keep their kernels).
inline bool direct_amx_applies(const Conv2dGeometry& g, int in_channels, int out_channels, int output_width, GemmOperands ops) {
    return ops == GemmOperands::amx_bf16 && g.stride.h == g.stride.w && (g.stride.h == 1 || g.stride.h == 2) &&
           g.dilation == Pair2(1) && output_width >= 16 && std::min(in_channels, out_channels) >= 16;
}

// Whether its adjoint, the input gradient, runs as one too: at stride 1 only (stride 2's is a
// transposed convolution), the input's rows being the runs; zero padding past kernel - 1 (which
// reads nothing but zeros) has no adjoint of that form.
inline bool direct_amx_data_applies(const Conv2dGeometry& g, int in_width) {
    return g.stride == Pair2(1) && in_width >= 16 &&
           (g.padding_mode != PaddingMode::zeros || (g.padding.h <= g.kernel.h - 1 && g.padding.w <= g.kernel.w - 1));
}

#if CYCLEGAN_X86_KERNELS
inline constexpr int kDirectAmxWeightsKind = 1 << 12;  // a weight cache kind apart from Winograd's

// y = conv(x, w) for every image, w {O, C, kh, kw}; with a cache (inference) the packed weights are
// kept there between calls.
inline void conv2d_forward_direct(const float* x, const Shape& xs, const float* w, float* y, const Shape& ys,
                                  const Conv2dGeometry& g, WeightCache* cache) {
    using namespace avx512;
    const int O = ys.c, C = xs.c, positions = g.kernel.h * g.kernel.w;
    const std::size_t count = direct_weights_size(O, C, positions);
    std::shared_ptr<const void> kept;
    const std::uint16_t* Ap = nullptr;
    if (cache) {
        const WeightCache::Key key{w, static_cast<std::size_t>(O) * C * positions, kDirectAmxWeightsKind};
        const std::uint64_t print = fingerprint(w, key.count);
        kept = cache->find(key, print);
        if (!kept) {
            auto made = WeightCache::make_buffer<std::uint16_t>(count);
            pack_direct_weights(O, C, positions, w, std::ptrdiff_t{C} * positions, positions, false, made.get());
            cache->store(key, print, made, count * sizeof(std::uint16_t));
            kept = std::move(made);
        }
        Ap = static_cast<const std::uint16_t*>(kept.get());
    } else {
        auto* made = scratch_buffer<std::uint16_t, Scratch::direct_weights>(count);
        pack_direct_weights(O, C, positions, w, std::ptrdiff_t{C} * positions, positions, false, made);
        Ap = made;
    }
    for (int n = 0; n < xs.n; ++n)
        conv_direct_amx(x + n * xs.image(), C, xs.h, xs.w, g.padding.h, g.padding.w, g.padding_mode, g.stride.h, Ap, g.kernel.h,
                        g.kernel.w, y + n * ys.image(), O, ys.h, ys.w);
}

// dx = the adjoint of the convolution applied to dy (overwritten); direct_amx_data_applies holds.
inline void conv2d_backward_data_direct(const float* dy, const Shape& ys, const float* w, float* dx, const Shape& xs,
                                        const Conv2dGeometry& g) {
    using namespace avx512;
    const int O = ys.c, C = xs.c, kh = g.kernel.h, kw = g.kernel.w, positions = kh * kw;
    const std::size_t count = direct_weights_size(C, O, positions);
    auto* Ap = scratch_buffer<std::uint16_t, Scratch::direct_weights>(count);
    // Output channel c of the adjoint reads input channel o through the weight at the mirrored position.
    pack_direct_weights(C, O, positions, w, positions, std::ptrdiff_t{C} * positions, true, Ap);
    const bool folds = g.padding_mode != PaddingMode::zeros;
    // Zeros: dx directly, dy padded by kernel - 1 - padding. Else the padded input's gradient
    // (H + 2 ph) x (W + 2 pw), dy padded by kernel - 1, then folded.
    const int Hp = xs.h + 2 * g.padding.h, Wp = xs.w + 2 * g.padding.w;
    const int top = folds ? kh - 1 : kh - 1 - g.padding.h, left = folds ? kw - 1 : kw - 1 - g.padding.w;
    const std::size_t padded_plane = static_cast<std::size_t>(Hp) * Wp;
    float* d_padded = folds ? scratch_buffer<float, Scratch::direct_output>(C * padded_plane) : nullptr;
    std::vector<int> src_h, src_w;
    if (folds) {
        src_h.resize(Hp), src_w.resize(Wp);
        for (int r = 0; r < Hp; ++r) src_h[r] = padded_source(r - g.padding.h, xs.h, g.padding_mode);
        for (int q = 0; q < Wp; ++q) src_w[q] = padded_source(q - g.padding.w, xs.w, g.padding_mode);
    }
    for (int n = 0; n < xs.n; ++n) {
        float* dxn = dx + n * xs.image();
        if (!folds) {
            conv_direct_amx(dy + n * ys.image(), O, ys.h, ys.w, top, left, PaddingMode::zeros, 1, Ap, kh, kw, dxn, C, xs.h, xs.w);
            continue;
        }
        conv_direct_amx(dy + n * ys.image(), O, ys.h, ys.w, top, left, PaddingMode::zeros, 1, Ap, kh, kw, d_padded, C, Hp, Wp);
        parallel_for(C, 2.0 * C * padded_plane, [&](int c) {
            float* out = dxn + static_cast<std::size_t>(c) * xs.h * xs.w;
            const float* in = d_padded + c * padded_plane;
            std::fill(out, out + static_cast<std::size_t>(xs.h) * xs.w, 0.f);
            for (int r = 0; r < Hp; ++r)
                for (int q = 0; q < Wp; ++q) out[static_cast<std::size_t>(src_h[r]) * xs.w + src_w[q]] += in[static_cast<std::size_t>(r) * Wp + q];
        });
    }
}

// dw += the filter gradient, summed over the batch.
inline void conv2d_backward_filter_direct(const float* x, const Shape& xs, const float* dy, const Shape& ys, float* dw,
                                          const Conv2dGeometry& g) {
    avx512::conv_direct_amx_filter(x, xs.image(), xs.c, xs.h, xs.w, g.padding.h, g.padding.w, g.padding_mode, g.stride.h, dy,
                                   ys.image(), ys.c, ys.h, ys.w, xs.n, g.kernel.h, g.kernel.w, dw);
}
#endif

}  // namespace cyclegan::cpu_detail
