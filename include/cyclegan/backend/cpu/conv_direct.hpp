#pragma once
// Direct convolutions on AMX (simd/conv_amx.inl): when they are taken, and their weights, made per
// call or, in inference, kept in the weight cache. The input gradient of a stride-1 convolution is
// itself one: the output gradient padded by kernel - 1 - padding zeros, against the weights
// transposed and mirrored; otherwise (reflect, replicate) the padded input's gradient is made (per
// phase: DirectPhases) and folded back onto the pixels it was read from. The filter gradient has its own
// kernel, with the products over pixels.
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

// Whether its adjoint, the input gradient, runs direct too: at stride 1. Stride 2's, per phase of
// the input and folded back, was slower than im2col + GEMM's col2im (the generator's upsampling
// at 128 on a Xeon with AMX: 1.55 against 1.10 ms, 2.22 against 1.99).
inline bool direct_amx_data_applies(const Conv2dGeometry& g) { return g.stride == Pair2(1); }

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
            pack_direct_weights(O, C, positions, w, std::ptrdiff_t{C} * positions, positions, nullptr, made.get());
            cache->store(key, print, made, count * sizeof(std::uint16_t));
            kept = std::move(made);
        }
        Ap = static_cast<const std::uint16_t*>(kept.get());
    } else {
        auto* made = scratch_buffer<std::uint16_t, Scratch::direct_weights>(count);
        pack_direct_weights(O, C, positions, w, std::ptrdiff_t{C} * positions, positions, nullptr, made);
        Ap = made;
    }
    for (int n = 0; n < xs.n; ++n)
        conv_direct_amx(x + n * xs.image(), C, xs.h, xs.w, g.padding.h, g.padding.w, g.padding_mode, g.stride.h, Ap, g.kernel.h,
                        g.kernel.w, y + n * ys.image(), O, ys.h, ys.w);
}

// dx = the adjoint of the convolution applied to dy (overwritten), at stride 1 (direct_amx_data_applies).
inline void conv2d_backward_data_direct(const float* dy, const Shape& ys, const float* w, float* dx, const Shape& xs,
                                        const Conv2dGeometry& g) {
    using namespace avx512;
    const int O = ys.c, C = xs.c, kh = g.kernel.h, kw = g.kernel.w, S = g.stride.h, positions = kh * kw;
    const int ph = g.padding.h, pw = g.padding.w, Hpad = xs.h + 2 * ph, Wpad = xs.w + 2 * pw;
    // Output channel c of the adjoint reads input channel o (w[o][c]) through the sub-kernel of the
    // taps that reach its phase, mirrored.
    auto pack = [&](int Th, int Tw, const int* taps) {
        auto* Ap = scratch_buffer<std::uint16_t, Scratch::direct_weights>(direct_weights_size(C, O, Th * Tw));
        pack_direct_weights(C, O, Th * Tw, w, positions, std::ptrdiff_t{C} * positions, taps, Ap);
        return Ap;
    };
    auto taps_of = [&](int a, int b, int Th, int Tw) {
        std::vector<int> taps;
        for (int t = Th - 1; t >= 0; --t)
            for (int u = Tw - 1; u >= 0; --u) taps.push_back((a + S * t) * kw + b + S * u);
        return taps;
    };
    if (S == 1 && g.padding_mode == PaddingMode::zeros && ph <= kh - 1 && pw <= kw - 1 && xs.w >= AmxDirect::Run) {
        // dx itself: dy padded by kernel - 1 - padding.
        const auto taps = taps_of(0, 0, kh, kw);
        const std::uint16_t* Ap = pack(kh, kw, taps.data());
        for (int n = 0; n < xs.n; ++n)
            conv_direct_amx(dy + n * ys.image(), O, ys.h, ys.w, kh - 1 - ph, kw - 1 - pw, PaddingMode::zeros, 1, Ap, kh, kw,
                            dx + n * xs.image(), C, xs.h, xs.w);
        return;
    }
    // Else per phase (a, b) of the padded input (DirectPhases), its gradient: padded pixel (S i + a,
    // S j + b) gathers dy[i - t][j - u] through tap (a + S t, b + S u), a stride-1 convolution of
    // dy padded by taps - 1 with the phase's taps mirrored, then folded onto the pixels it was read
    // from (nothing for zeros' padding).
    std::vector<int> src_h(Hpad), src_w(Wpad);
    for (int r = 0; r < Hpad; ++r) src_h[r] = padded_source(r - ph, xs.h, g.padding_mode);
    for (int q = 0; q < Wpad; ++q) src_w[q] = padded_source(q - pw, xs.w, g.padding_mode);
    std::fill(dx, dx + xs.numel(), 0.f);
    for (int a = 0; a < S; ++a)
        for (int b = 0; b < S; ++b) {
            const int Th = (kh - a + S - 1) / S, Tw = (kw - b + S - 1) / S;
            if (Th <= 0 || Tw <= 0) continue;  // no tap reaches this phase
            const auto taps = taps_of(a, b, Th, Tw);
            const std::uint16_t* Ap = pack(Th, Tw, taps.data());
            const int Hph = ys.h + Th - 1, Wph = ys.w + Tw - 1;
            const std::size_t plane = static_cast<std::size_t>(Hph) * Wph;
            float* d_phase = scratch_buffer<float, Scratch::direct_output>(C * plane);
            for (int n = 0; n < xs.n; ++n) {
                conv_direct_amx(dy + n * ys.image(), O, ys.h, ys.w, Th - 1, Tw - 1, PaddingMode::zeros, 1, Ap, Th, Tw, d_phase, C, Hph,
                                Wph);
                float* dxn = dx + n * xs.image();
                parallel_for(C, 2.0 * C * plane, [&](int c) {
                    float* out = dxn + static_cast<std::size_t>(c) * xs.h * xs.w;
                    const float* in = d_phase + c * plane;
                    for (int i = 0; i < Hph && S * i + a < Hpad; ++i) {
                        const int sh = src_h[S * i + a];
                        if (sh < 0) continue;
                        for (int j = 0; j < Wph && S * j + b < Wpad; ++j)
                            if (const int sw = src_w[S * j + b]; sw >= 0)
                                out[static_cast<std::size_t>(sh) * xs.w + sw] += in[static_cast<std::size_t>(i) * Wph + j];
                    }
                });
            }
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
