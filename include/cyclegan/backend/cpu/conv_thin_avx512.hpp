#pragma once
// Register-blocked AVX-512 kernels for the few-output convolutions of conv_thin.hpp (stride 1, any
// kernel, padding and dilation), in float. The axpy formulation there streams every output row
// through the cache once per kernel tap (35-50 GFLOP/s). Here a strip of 16 x V output columns of
// all O outputs (or of 6 input channels) stays in registers while every tap adds into it:
//   forward:         acc[o][v] += w[o, c, ki, kj] * xpad[c, oh + ki*d, ow + kj*d + 16 v]
//   input gradient:  acc[c][v] += w[o, c, ki, kj] * dy[o, r - ki*d, q - kj*d + 16 v]
//   filter gradient: acc[o][kj] += dy[o, oh, ow..ow+15] * xpad[c, oh + ki*d, ow + kj*d ..]
// where xpad is the input with its padding written out, built one row (forward) or one plane
// (filter gradient) at a time in per-thread scratch memory, and the input gradient, computed in
// padded coordinates (r, q), is folded back through the padding rule.
#if defined(__AVX512F__)
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "../../core/conv_geometry.hpp"
#include "../../core/shape.hpp"
#include "scratch.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace cyclegan::cpu_detail::thin_avx512 {

inline int round16(int n) { return (n + 15) / 16 * 16; }

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

inline bool applies(const Conv2dGeometry& g, int O) { return g.stride == Pair2(1) && O >= 1 && O <= 8; }

// Output columns per strip: V vectors of 16, as many as leave room in the 32 registers.
template <int O>
inline constexpr int kStrip = std::max(1, std::min(4, 24 / O));

template <int O>
void forward(const float* x, const Shape& xs, const float* w, float* y, const Shape& ys, const Conv2dGeometry& g) {
    constexpr int V = kStrip<O>;
    const int C = xs.c, H = xs.h, W = xs.w, OH = ys.h, OW = ys.w, KH = g.kernel.h, KW = g.kernel.w;
    const int dh = g.dilation.h, dw = g.dilation.w, K = C * KH * KW;
    const int R = (KH - 1) * dh + 1;                          // padded rows one output row reads
    const int length = round16(OW) + 16 * V + (KW - 1) * dw;  // room for a strip's loads past OW
    const int rows = xs.n * OH;
#if defined(_OPENMP)
#pragma omp parallel if (static_cast<double>(ys.numel()) * K >= CYCLEGAN_PARALLEL_MIN_WORK)
#endif
    {
#if defined(_OPENMP)
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
        const int t = 0, nt = 1;
#endif
        // Each thread takes a contiguous block of output rows, so consecutive rows share R - 1
        // padded input rows: a ring of R rows per channel, slot r % R holding padded row r.
        float* ring = scratch_buffer<float, Scratch::thin_rows>(static_cast<std::size_t>(C) * R * length);
        std::vector<int> held(R, -1);
        int held_image = -1;
        for (int row = rows * t / nt; row < rows * (t + 1) / nt; ++row) {
            const int n = row / OH, oh = row % OH;
            const float* image = x + static_cast<std::size_t>(n) * xs.image();
            if (n != held_image) std::fill(held.begin(), held.end(), -1), held_image = n;
            for (int ki = 0; ki < KH; ++ki) {
                const int r = oh + ki * dh, slot = r % R;
                if (held[slot] == r) continue;
                held[slot] = r;
                for (int c = 0; c < C; ++c)
                    padded_plane_row(image + static_cast<std::size_t>(c) * H * W, H, W, g, r, length,
                                     ring + (static_cast<std::size_t>(c) * R + slot) * length);
            }
            float* out = y + static_cast<std::size_t>(n) * ys.image() + static_cast<std::size_t>(oh) * OW;
            for (int ow0 = 0; ow0 < OW; ow0 += 16 * V) {
                __m512 acc[O][V];
#pragma GCC unroll 8
                for (int o = 0; o < O; ++o)
#pragma GCC unroll 4
                    for (int v = 0; v < V; ++v) acc[o][v] = _mm512_setzero_ps();
                for (int c = 0; c < C; ++c)
                    for (int ki = 0; ki < KH; ++ki) {
                        const float* in = ring + (static_cast<std::size_t>(c) * R + (oh + ki * dh) % R) * length + ow0;
                        const float* wt = w + (c * KH + ki) * KW;
                        for (int kj = 0; kj < KW; ++kj) {
                            __m512 xv[V];
#pragma GCC unroll 4
                            for (int v = 0; v < V; ++v) xv[v] = _mm512_loadu_ps(in + kj * dw + 16 * v);
#pragma GCC unroll 8
                            for (int o = 0; o < O; ++o) {
                                const __m512 wv = _mm512_set1_ps(wt[static_cast<std::size_t>(o) * K + kj]);
#pragma GCC unroll 4
                                for (int v = 0; v < V; ++v) acc[o][v] = _mm512_fmadd_ps(wv, xv[v], acc[o][v]);
                            }
                        }
                    }
                for (int v = 0; v < V; ++v) {
                    const int col = ow0 + 16 * v, left = OW - col;
                    if (left <= 0) break;
                    const __mmask16 mask = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
                    for (int o = 0; o < O; ++o) _mm512_mask_storeu_ps(out + static_cast<std::size_t>(o) * ys.plane() + col, mask, acc[o][v]);
                }
            }
        }
    }
}

// dw[o, c, ki, kj] += sum over images and output pixels of dy[o, pixel] * xpad[c, pixel + tap].
// Threads take channels, so each dw entry has one writer and the sum does not depend on the thread
// count. Sixteen float lanes accumulate 8 output rows at a time, then flush into double.
template <int O, int KW>
void filter_gradient(const float* x, const Shape& xs, const float* dy, const Shape& ys, float* dwt, const Conv2dGeometry& g) {
    const int C = xs.c, H = xs.h, W = xs.w, OH = ys.h, OW = ys.w, KH = g.kernel.h;
    const int dh = g.dilation.h, dw = g.dilation.w, K = C * KH * KW;
    const int length = round16(OW) + (KW - 1) * dw + 16, PH = (OH - 1) + (KH - 1) * dh + 1;
    const int full = OW / 16, rest = OW % 16;
    const __mmask16 tail = __mmask16((1u << rest) - 1);
    CYCLEGAN_PARALLEL_FOR(static_cast<double>(ys.numel()) * K)
    for (int c = 0; c < C; ++c) {
        float* plane = scratch_buffer<float, Scratch::thin_rows>(static_cast<std::size_t>(PH) * length);
        std::vector<double> sum(static_cast<std::size_t>(O) * KH * KW * 16, 0.0);
        for (int n = 0; n < xs.n; ++n) {
            const float* image = x + (static_cast<std::size_t>(n) * C + c) * H * W;
            for (int r = 0; r < PH; ++r) padded_plane_row(image, H, W, g, r, length, plane + static_cast<std::size_t>(r) * length);
            const float* grad = dy + static_cast<std::size_t>(n) * ys.image();
            for (int ki = 0; ki < KH; ++ki)
                for (int oh0 = 0; oh0 < OH; oh0 += 8) {
                    __m512 acc[O][KW];
#pragma GCC unroll 8
                    for (int o = 0; o < O; ++o)
#pragma GCC unroll 8
                        for (int kj = 0; kj < KW; ++kj) acc[o][kj] = _mm512_setzero_ps();
                    for (int oh = oh0; oh < std::min(OH, oh0 + 8); ++oh) {
                        const float* in = plane + static_cast<std::size_t>(oh + ki * dh) * length;
                        const float* d = grad + static_cast<std::size_t>(oh) * OW;
                        for (int b = 0; b <= full; ++b) {
                            if (b == full && rest == 0) break;
                            const __mmask16 m = b < full ? __mmask16(0xFFFF) : tail;
                            __m512 dv[O];
#pragma GCC unroll 8
                            for (int o = 0; o < O; ++o) dv[o] = _mm512_maskz_loadu_ps(m, d + static_cast<std::size_t>(o) * ys.plane() + 16 * b);
#pragma GCC unroll 8
                            for (int kj = 0; kj < KW; ++kj) {
                                const __m512 xv = _mm512_loadu_ps(in + 16 * b + kj * dw);
#pragma GCC unroll 8
                                for (int o = 0; o < O; ++o) acc[o][kj] = _mm512_fmadd_ps(dv[o], xv, acc[o][kj]);
                            }
                        }
                    }
                    for (int o = 0; o < O; ++o)
                        for (int kj = 0; kj < KW; ++kj) {
                            double* s = sum.data() + ((static_cast<std::size_t>(o) * KH + ki) * KW + kj) * 16;
                            alignas(64) float lanes[16];
                            _mm512_store_ps(lanes, acc[o][kj]);
                            for (int l = 0; l < 16; ++l) s[l] += lanes[l];
                        }
                }
        }
        for (int o = 0; o < O; ++o)
            for (int k = 0; k < KH * KW; ++k) {
                const double* s = sum.data() + (static_cast<std::size_t>(o) * KH * KW + k) * 16;
                double total = 0;
                for (int l = 0; l < 16; ++l) total += s[l];
                dwt[static_cast<std::size_t>(o) * K + c * KH * KW + k] += static_cast<float>(total);
            }
    }
}

// dx = the adjoint of forward, computed in padded coordinates and folded back through the padding
// rule: xgrad[c, r, q] = sum over (o, ki, kj) of w[o, c, ki, kj] * dy[o, r - ki*d, q - kj*d], then
// dx[c, source(r), source(q)] += xgrad[c, r, q]. Registers hold a strip of 64 columns of 6 input
// channels; threads take blocks of channels, so no two write the same dx plane.
inline constexpr int kDataChannels = 6;

template <int O>
void data_gradient(const float* dy, const Shape& ys, const float* w, float* dx, const Shape& xs, const Conv2dGeometry& g) {
    constexpr int V = 4, CB = kDataChannels;
    const int C = xs.c, H = xs.h, W = xs.w, OH = ys.h, OW = ys.w, KH = g.kernel.h, KW = g.kernel.w;
    const int dh = g.dilation.h, dw = g.dilation.w, K = C * KH * KW, taps = KH * KW;
    const int PH = OH + (KH - 1) * dh, PW = OW + (KW - 1) * dw, lead = (KW - 1) * dw;
    const int length = lead + round16(PW) + 16 * V;  // a dy row with zeros either side
    const int blocks = (C + CB - 1) / CB;
    // dy rows with their zeros written out, once: strips read them at q - kj*d + lead.
    float* rows = scratch_buffer<float, Scratch::thin_rows>(static_cast<std::size_t>(xs.n) * O * OH * length);
    for (std::size_t i = 0; i < static_cast<std::size_t>(xs.n) * O * OH; ++i) {
        float* dst = rows + i * length;
        std::fill(dst, dst + length, 0.f);
        std::copy(dy + i * OW, dy + (i + 1) * OW, dst + lead);
    }
    std::fill(dx, dx + xs.numel(), 0.f);
    CYCLEGAN_PARALLEL_FOR(static_cast<double>(ys.numel()) * K)
    for (int job = 0; job < xs.n * blocks; ++job) {
        const int n = job / blocks, c0 = (job % blocks) * CB, cn = std::min(CB, C - c0);
        // The block's weights, CB channels side by side (zeros past the last channel).
        std::vector<float> wb(static_cast<std::size_t>(O) * taps * CB, 0.f);
        for (int o = 0; o < O; ++o)
            for (int c = 0; c < cn; ++c)
                for (int t = 0; t < taps; ++t) wb[(static_cast<std::size_t>(o) * taps + t) * CB + c] = w[static_cast<std::size_t>(o) * K + (c0 + c) * taps + t];
        std::vector<float> grad(static_cast<std::size_t>(CB) * (round16(PW) + 16 * V));
        const std::size_t stride = round16(PW) + 16 * V;
        for (int r = 0; r < PH; ++r) {
            const int ih = padded_row_source(r, H, g.padding.h, g.padding_mode);
            if (ih < 0) continue;  // a zero of the padding: its gradient goes nowhere
            for (int q0 = 0; q0 < PW; q0 += 16 * V) {
                __m512 acc[CB][V];
#pragma GCC unroll 8
                for (int c = 0; c < CB; ++c)
#pragma GCC unroll 4
                    for (int v = 0; v < V; ++v) acc[c][v] = _mm512_setzero_ps();
                for (int o = 0; o < O; ++o)
                    for (int ki = 0; ki < KH; ++ki) {
                        const int oh = r - ki * dh;
                        if (oh < 0 || oh >= OH) continue;
                        const float* in = rows + ((static_cast<std::size_t>(n) * O + o) * OH + oh) * length + lead + q0;
                        const float* wt = wb.data() + (static_cast<std::size_t>(o) * taps + ki * KW) * CB;
                        for (int kj = 0; kj < KW; ++kj) {
                            __m512 gv[V];
#pragma GCC unroll 4
                            for (int v = 0; v < V; ++v) gv[v] = _mm512_loadu_ps(in - kj * dw + 16 * v);
#pragma GCC unroll 8
                            for (int c = 0; c < CB; ++c) {
                                const __m512 wv = _mm512_set1_ps(wt[kj * CB + c]);
#pragma GCC unroll 4
                                for (int v = 0; v < V; ++v) acc[c][v] = _mm512_fmadd_ps(wv, gv[v], acc[c][v]);
                            }
                        }
                    }
#pragma GCC unroll 8
                for (int c = 0; c < CB; ++c)
#pragma GCC unroll 4
                    for (int v = 0; v < V; ++v) _mm512_storeu_ps(grad.data() + c * stride + q0 + 16 * v, acc[c][v]);
            }
            // Fold the padded row back: inside the image a plain add, the padding by its rule.
            for (int c = 0; c < cn; ++c) {
                float* out = dx + ((static_cast<std::size_t>(n) * C + c0 + c) * H + ih) * W;
                const float* src = grad.data() + c * stride;
                const int pw = g.padding.w, lo = std::min(pw, PW), hi = std::clamp(pw + W, lo, PW);
                for (int q = lo; q < hi; ++q) out[q - pw] += src[q];
                for (int q = 0; q < PW; ++q) {
                    if (q >= lo && q < hi) continue;
                    const int iw = q - pw >= -pw && q - pw < W + pw ? padded_source(q - pw, W, g.padding_mode) : -1;
                    if (iw >= 0) out[iw] += src[q];
                }
            }
        }
    }
}

// Calls f.template operator()<O>() for the runtime O in 1..8.
template <class F>
void with_outputs(int O, F&& f) {
    switch (O) {
        case 1: return f.template operator()<1>();
        case 2: return f.template operator()<2>();
        case 3: return f.template operator()<3>();
        case 4: return f.template operator()<4>();
        case 5: return f.template operator()<5>();
        case 6: return f.template operator()<6>();
        case 7: return f.template operator()<7>();
        default: return f.template operator()<8>();
    }
}

// The filter gradient keeps O x KW vectors in registers, both known at compile time: instantiated
// for 1-3 outputs (a PatchGAN's score, grayscale, RGB) and kernel widths 3, 4 and 7.
inline bool applies_filter(const Conv2dGeometry& g, int O) {
    return applies(g, O) && O <= 3 && (g.kernel.w == 3 || g.kernel.w == 4 || g.kernel.w == 7);
}
template <class F>
void with_filter_shape(int O, int KW, F&& f) {
    auto by_width = [&]<int Os>() {
        if (KW == 3) return f.template operator()<Os, 3>();
        if (KW == 4) return f.template operator()<Os, 4>();
        return f.template operator()<Os, 7>();
    };
    if (O == 1) return by_width.template operator()<1>();
    if (O == 2) return by_width.template operator()<2>();
    return by_width.template operator()<3>();
}

}  // namespace cyclegan::cpu_detail::thin_avx512
#endif
