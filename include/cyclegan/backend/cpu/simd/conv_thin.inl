// Register-blocked kernels for the few-output convolutions of conv_thin.hpp (stride 1, any kernel,
// padding and dilation, 1-8 outputs), in float, for one vector width (Simd). The axpy formulation
// there streams every output row through the cache once per kernel tap (35-50 GFLOP/s). Here a
// strip of lanes x V output columns of all O outputs (or of CB input channels) stays in registers
// while every tap adds into it:
//   forward:         acc[o][v] += w[o, c, ki, kj] * xpad[c, oh + ki*d, ow + kj*d + lanes v]
//   input gradient:  acc[c][v] += w[o, c, ki, kj] * dy[o, r - ki*d, q - kj*d + lanes v]
//   filter gradient: acc[o][kj] += dy[o, oh, ow .. ow + lanes) * xpad[c, oh + ki*d, ow + kj*d ..]
// where xpad is the input with its padding written out, built one row (forward) or one plane
// (filter gradient) at a time in per-thread scratch memory (conv_rows.hpp), and the input gradient,
// computed in padded coordinates (r, q), is folded back through the padding rule.
// Included inside a namespace compiled for that instruction set (simd_kernels.hpp); no include
// guard, no includes of its own. Loop bodies run by parallel_for are lambdas of this file (parallel.hpp).

struct ThinTile {
    static constexpr int L = Simd::lanes;
    // Forward: O x V accumulators, V input vectors and one weight: V vectors as fit, at most 4.
    template <int O>
    static constexpr int forward_vectors = std::max(1, std::min(4, (Simd::registers - 1) / (O + 1)));
    // Input gradient: CB channels x V columns of accumulators, V dy vectors, one weight.
    static constexpr int data_channels = Simd::registers >= 32 ? 6 : 3, data_vectors = Simd::registers >= 32 ? 4 : 3;
    // Filter gradient: O x KB accumulators (KB kernel columns at a time), O dy vectors, one input.
    template <int O, int KW>
    static constexpr int filter_columns = std::max(1, std::min(KW, (Simd::registers - 1 - O) / O));
    static int round_up(int n) { return (n + L - 1) / L * L; }
};

template <int O>
void thin_forward(Isa, const float* x, const Shape& xs, const float* w, float* y, const Shape& ys, const Conv2dGeometry& g) {
    constexpr int V = ThinTile::forward_vectors<O>, L = Simd::lanes;
    const int C = xs.c, H = xs.h, W = xs.w, OH = ys.h, OW = ys.w, KH = g.kernel.h, KW = g.kernel.w;
    const int dh = g.dilation.h, dw = g.dilation.w, K = C * KH * KW;
    const int R = (KH - 1) * dh + 1;                                     // padded rows one output row reads
    const int length = ThinTile::round_up(OW) + L * V + (KW - 1) * dw;  // room for a strip's loads past OW
    const int rows = xs.n * OH;
    parallel_threads(static_cast<double>(ys.numel()) * K, [&](int t, int nt) {
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
            for (int ow0 = 0; ow0 < OW; ow0 += L * V) {
                typename Simd::reg acc[O][V];
CYCLEGAN_UNROLL(8)
                for (int o = 0; o < O; ++o)
CYCLEGAN_UNROLL(4)
                    for (int v = 0; v < V; ++v) acc[o][v] = Simd::zero();
                for (int c = 0; c < C; ++c)
                    for (int ki = 0; ki < KH; ++ki) {
                        const float* in = ring + (static_cast<std::size_t>(c) * R + (oh + ki * dh) % R) * length + ow0;
                        const float* wt = w + (c * KH + ki) * KW;
                        for (int kj = 0; kj < KW; ++kj) {
                            typename Simd::reg xv[V];
CYCLEGAN_UNROLL(4)
                            for (int v = 0; v < V; ++v) xv[v] = Simd::load(in + kj * dw + L * v);
CYCLEGAN_UNROLL(8)
                            for (int o = 0; o < O; ++o) {
                                const auto wv = Simd::set1(wt[static_cast<std::size_t>(o) * K + kj]);
CYCLEGAN_UNROLL(4)
                                for (int v = 0; v < V; ++v) acc[o][v] = Simd::fmadd(wv, xv[v], acc[o][v]);
                            }
                        }
                    }
                for (int v = 0; v < V; ++v) {
                    const int col = ow0 + L * v, left = OW - col;
                    if (left <= 0) break;
                    for (int o = 0; o < O; ++o) {
                        float* dst = out + static_cast<std::size_t>(o) * ys.plane() + col;
                        if (left >= L) Simd::store(dst, acc[o][v]);
                        else Simd::store_first(dst, acc[o][v], left);
                    }
                }
            }
        }
    });
}

// The filter gradient's accumulators for kernel columns [KJ0, KJ0 + KB) of one kernel row, over
// output rows [oh0, oh1), flushed into sum (double, per lane): then the next block of columns.
template <int O, int KW, int KJ0>
void thin_filter_columns(const float* plane, int length, const float* grad, const Shape& ys, int oh0, int oh1, int dw,
                         double* sum) {
    constexpr int KB = std::min(ThinTile::filter_columns<O, KW>, KW - KJ0), L = Simd::lanes;
    const int OW = ys.w, full = OW / L, rest = OW % L;
    typename Simd::reg acc[O][KB];
CYCLEGAN_UNROLL(8)
    for (int o = 0; o < O; ++o)
CYCLEGAN_UNROLL(8)
        for (int j = 0; j < KB; ++j) acc[o][j] = Simd::zero();
    for (int oh = oh0; oh < oh1; ++oh) {
        const float* in = plane + static_cast<std::size_t>(oh) * length;
        const float* d = grad + static_cast<std::size_t>(oh) * OW;
        for (int b = 0; b <= full; ++b) {
            if (b == full && rest == 0) break;
            typename Simd::reg dv[O];
CYCLEGAN_UNROLL(8)
            for (int o = 0; o < O; ++o) {
                const float* p = d + static_cast<std::size_t>(o) * ys.plane() + L * b;
                dv[o] = b < full ? Simd::load(p) : Simd::load_first(p, rest);
            }
CYCLEGAN_UNROLL(8)
            for (int j = 0; j < KB; ++j) {
                const auto xv = Simd::load(in + L * b + (KJ0 + j) * dw);
CYCLEGAN_UNROLL(8)
                for (int o = 0; o < O; ++o) acc[o][j] = Simd::fmadd(dv[o], xv, acc[o][j]);
            }
        }
    }
    for (int o = 0; o < O; ++o)
        for (int j = 0; j < KB; ++j) {
            double* s = sum + (static_cast<std::size_t>(o) * KW + KJ0 + j) * L;
            alignas(64) float lanes[L];
            Simd::store_aligned(lanes, acc[o][j]);
            for (int l = 0; l < L; ++l) s[l] += lanes[l];
        }
    if constexpr (KJ0 + KB < KW) thin_filter_columns<O, KW, KJ0 + KB>(plane, length, grad, ys, oh0, oh1, dw, sum);
}

// dw[o, c, ki, kj] += sum over images and output pixels of dy[o, pixel] * xpad[c, pixel + tap].
// Threads take channels, so each dw entry has one writer and the sum does not depend on the thread
// count. Float lanes accumulate 8 output rows at a time, then flush into double.
template <int O, int KW>
void thin_filter_gradient(Isa, const float* x, const Shape& xs, const float* dy, const Shape& ys, float* dwt, const Conv2dGeometry& g) {
    constexpr int L = Simd::lanes;
    const int C = xs.c, H = xs.h, W = xs.w, OH = ys.h, OW = ys.w, KH = g.kernel.h;
    const int dh = g.dilation.h, dw = g.dilation.w, K = C * KH * KW;
    const int length = ThinTile::round_up(OW) + (KW - 1) * dw + L, PH = (OH - 1) + (KH - 1) * dh + 1;
    parallel_for(C, static_cast<double>(ys.numel()) * K, [&](int c) {
        float* plane = scratch_buffer<float, Scratch::thin_rows>(static_cast<std::size_t>(PH) * length);
        std::vector<double> sum(static_cast<std::size_t>(O) * KH * KW * L, 0.0);  // per (o, ki, kj), per lane
        for (int n = 0; n < xs.n; ++n) {
            const float* image = x + (static_cast<std::size_t>(n) * C + c) * H * W;
            for (int r = 0; r < PH; ++r) padded_plane_row(image, H, W, g, r, length, plane + static_cast<std::size_t>(r) * length);
            const float* grad = dy + static_cast<std::size_t>(n) * ys.image();
            for (int ki = 0; ki < KH; ++ki)
                for (int oh0 = 0; oh0 < OH; oh0 += 8)
                    // Padded row oh + ki*dh of the plane: rows one apart, starting ki*dh rows in.
                    thin_filter_columns<O, KW, 0>(plane + static_cast<std::size_t>(ki) * dh * length, length, grad, ys, oh0,
                                                  std::min(OH, oh0 + 8), dw, sum.data() + static_cast<std::size_t>(ki) * KW * L * O);
        }
        for (int o = 0; o < O; ++o)
            for (int ki = 0; ki < KH; ++ki)
                for (int kj = 0; kj < KW; ++kj) {
                    const double* s = sum.data() + static_cast<std::size_t>(ki) * KW * L * O + (static_cast<std::size_t>(o) * KW + kj) * L;
                    double total = 0;
                    for (int l = 0; l < L; ++l) total += s[l];
                    dwt[static_cast<std::size_t>(o) * K + (c * KH + ki) * KW + kj] += static_cast<float>(total);
                }
    });
}

// dx = the adjoint of forward, computed in padded coordinates and folded back through the padding
// rule: xgrad[c, r, q] = sum over (o, ki, kj) of w[o, c, ki, kj] * dy[o, r - ki*d, q - kj*d], then
// dx[c, source(r), source(q)] += xgrad[c, r, q]. Registers hold a strip of lanes x V columns of CB
// input channels; threads take blocks of channels, so no two write the same dx plane.
template <int O>
void thin_data_gradient(Isa, const float* dy, const Shape& ys, const float* w, float* dx, const Shape& xs, const Conv2dGeometry& g) {
    constexpr int V = ThinTile::data_vectors, CB = ThinTile::data_channels, L = Simd::lanes;
    const int C = xs.c, H = xs.h, W = xs.w, OH = ys.h, OW = ys.w, KH = g.kernel.h, KW = g.kernel.w;
    const int dh = g.dilation.h, dw = g.dilation.w, K = C * KH * KW, taps = KH * KW;
    const int PH = OH + (KH - 1) * dh, PW = OW + (KW - 1) * dw, lead = (KW - 1) * dw;
    const int length = lead + ThinTile::round_up(PW) + L * V;  // a dy row with zeros either side
    const int blocks = (C + CB - 1) / CB;
    // dy rows with their zeros written out, once: strips read them at q - kj*d + lead.
    float* rows = scratch_buffer<float, Scratch::thin_rows>(static_cast<std::size_t>(xs.n) * O * OH * length);
    for (std::size_t i = 0; i < static_cast<std::size_t>(xs.n) * O * OH; ++i) {
        float* dst = rows + i * length;
        std::fill(dst, dst + length, 0.f);
        std::copy(dy + i * OW, dy + (i + 1) * OW, dst + lead);
    }
    std::fill(dx, dx + xs.numel(), 0.f);
    parallel_for(xs.n * blocks, static_cast<double>(ys.numel()) * K, [&](int job) {
        const int n = job / blocks, c0 = (job % blocks) * CB, cn = std::min(CB, C - c0);
        // The block's weights, CB channels side by side (zeros past the last channel).
        std::vector<float> wb(static_cast<std::size_t>(O) * taps * CB, 0.f);
        for (int o = 0; o < O; ++o)
            for (int c = 0; c < cn; ++c)
                for (int t = 0; t < taps; ++t) wb[(static_cast<std::size_t>(o) * taps + t) * CB + c] = w[static_cast<std::size_t>(o) * K + (c0 + c) * taps + t];
        const std::size_t stride = ThinTile::round_up(PW) + L * V;
        std::vector<float> grad(static_cast<std::size_t>(CB) * stride);
        for (int r = 0; r < PH; ++r) {
            const int ih = padded_row_source(r, H, g.padding.h, g.padding_mode);
            if (ih < 0) continue;  // a zero of the padding: its gradient goes nowhere
            for (int q0 = 0; q0 < PW; q0 += L * V) {
                typename Simd::reg acc[CB][V];
CYCLEGAN_UNROLL(8)
                for (int c = 0; c < CB; ++c)
CYCLEGAN_UNROLL(4)
                    for (int v = 0; v < V; ++v) acc[c][v] = Simd::zero();
                for (int o = 0; o < O; ++o)
                    for (int ki = 0; ki < KH; ++ki) {
                        const int oh = r - ki * dh;
                        if (oh < 0 || oh >= OH) continue;
                        const float* in = rows + ((static_cast<std::size_t>(n) * O + o) * OH + oh) * length + lead + q0;
                        const float* wt = wb.data() + (static_cast<std::size_t>(o) * taps + ki * KW) * CB;
                        for (int kj = 0; kj < KW; ++kj) {
                            typename Simd::reg gv[V];
CYCLEGAN_UNROLL(4)
                            for (int v = 0; v < V; ++v) gv[v] = Simd::load(in - kj * dw + L * v);
CYCLEGAN_UNROLL(8)
                            for (int c = 0; c < CB; ++c) {
                                const auto wv = Simd::set1(wt[kj * CB + c]);
CYCLEGAN_UNROLL(4)
                                for (int v = 0; v < V; ++v) acc[c][v] = Simd::fmadd(wv, gv[v], acc[c][v]);
                            }
                        }
                    }
CYCLEGAN_UNROLL(8)
                for (int c = 0; c < CB; ++c)
CYCLEGAN_UNROLL(4)
                    for (int v = 0; v < V; ++v) Simd::store(grad.data() + c * stride + q0 + L * v, acc[c][v]);
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
    });
}
