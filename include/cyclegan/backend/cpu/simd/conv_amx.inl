// Direct convolution on AMX (the amx_bf16 kernel set, issue 25): undilated convolutions of stride
// 1 or 2 in bf16 with no column buffer. The input is padded once into AMX's B layout, pairs of
// channels in one 32-bit lane per pixel, so that the tile of 32 channels x 16 pixels a kernel
// position reads is 16 rows of 64 bytes at a fixed stride: TILELOADD reads it in place, for every
// (ky, kx), where im2col would copy the input kh * kw times (stride 2 reads the input's four
// phases: DirectPhases). The output tile is 16 channels x 16 pixels of one row, stored straight
// into NCHW. A block of the output is 2 x 2 tiles (32 channels x two runs of 16 pixels), as
// gemm_amx.inl's: four accumulators, two weight tiles, two input tiles. Operands are rounded as
// everywhere (round_bf16_lanes), so the results are im2col + GEMM's in bf16 up to the order of the
// float sums. Included in the AVX-512 namespace after gemm_amx.inl; called only when cpu_kernels()
// is amx_bf16 (conv_direct.hpp says when).

struct AmxDirect {
    static constexpr int KStep = 32;  // input channels per tile product (16 pairs)
    static constexpr int Run = 16;    // output pixels per tile: a run along a row
    static constexpr int Block = 32;  // output channels per block: two tiles
};

// The 16 lanes of v rounded to bf16 (round_bf16_lanes), as 16-bit values at out. (The masked forms:
// GCC 12 warns of the unmasked ones' undefined fill.)
[[gnu::always_inline]] inline void store_bf16(std::uint16_t* out, __m512 v) {
    const __m512i bits = _mm512_maskz_srli_epi32(0xffff, _mm512_castps_si512(round_bf16_lanes(v)), 16);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_maskz_cvtepi32_epi16(0xffff, bits));
}

// Weights in the A tiles' order: Ap[((pos * steps + s) * Ob + o) * 32 + j] = bf16 of weight (o, 32 s + j)
// at packed position pos, zero past O (Ob rounds it up to a block) and past C. The weight (o, c,
// pos) is w[o * o_stride + c * c_stride + taps[pos]] (taps: which of the kernel's positions, ky kw +
// kx, each packed one is; null for all in order): 16 values of c gathered at a time, rounded, halved
// to 16 bits.
inline void pack_direct_weights(int O, int C, int positions, const float* w, std::ptrdiff_t o_stride, std::ptrdiff_t c_stride,
                                const int* taps, std::uint16_t* Ap) {
    constexpr int KS = AmxDirect::KStep, L = Simd::lanes;
    const int steps = (C + KS - 1) / KS, Ob = (O + AmxDirect::Block - 1) / AmxDirect::Block * AmxDirect::Block;
    const __m512i lane_offsets = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                                    _mm512_set1_epi32(static_cast<int>(c_stride)));
    parallel_for(Ob, 1.0 * positions * Ob * steps * KS, [&](int o) {
        for (int pos = 0; pos < positions; ++pos) {
            const float* base = w + static_cast<std::ptrdiff_t>(o) * o_stride + (taps ? taps[pos] : pos);
            for (int s = 0; s < steps; ++s) {
                std::uint16_t* out = Ap + ((static_cast<std::size_t>(pos) * steps + s) * Ob + o) * KS;
                for (int j = 0; j < KS; j += L) {
                    const int c = s * KS + j, n = o < O ? std::clamp(C - c, 0, L) : 0;
                    const __mmask16 valid = static_cast<__mmask16>((1u << n) - 1);
                    const __m512 v = n ? _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid, lane_offsets, base + c * c_stride, 4)
                                       : _mm512_setzero_ps();
                    store_bf16(out + j, v);
                }
            }
        }
    });
}
inline std::size_t direct_weights_size(int O, int C, int positions) {
    constexpr int KS = AmxDirect::KStep;
    return static_cast<std::size_t>(positions) * ((C + KS - 1) / KS) * KS * ((O + AmxDirect::Block - 1) / AmxDirect::Block * AmxDirect::Block);
}

// Where a stride-S convolution's taps read the padded input: tap (ky, kx) of output pixel (oh, ow)
// reads padded pixel (S oh + ky, S ow + kx), which is pixel (oh + ky / S, ow + kx / S) of phase
// (ky % S, kx % S), the image of padded pixels (S i + a, S j + b). Stride 1 has one phase, the
// padded image; stride 2 four, each a stride-1 read. `source` tables give, per phase coordinate,
// the input index it copies, -1 for a zero (padding, or past the padded extent).
struct DirectPhases {
    int S, top, left, H, W, padded_h, padded_w;
    PaddingMode mode;
    int source(int padded, int before, int n, int extent) const { return padded < extent ? padded_source(padded - before, n, mode) : -1; }
    int row_source(int a, int i) const { return source(S * i + a, top, H, padded_h); }
    // Columns j = 0 .. n - 1 of phase column b, then 16 entries of -1 (a vector may read past n).
    std::vector<int> column_sources(int b, int n) const {
        std::vector<int> t(static_cast<std::size_t>(n) + Simd::lanes, -1);
        for (int j = 0; j < n; ++j) t[j] = source(S * j + b, left, W, padded_w);
        return t;
    }
};

// The padded pixels `src[q]` (q < n) of row sh of channels c0 and c0 + 1 of x (C x H x W), as bf16
// pairs: out[q] = (x[c0][sh][src[q]], x[c0 + 1][sh][src[q]]), zero where src is -1, sh is -1 or the
// channel is past C. Where src counts up by one (stride 1 inside the image) vectors load in place;
// elsewhere they gather.
inline void pack_pair_row(const float* x, int C, int H, int W, int c0, int sh, const int* src, int n, bf16_pair* out) {
    constexpr int L = Simd::lanes;
    if (sh < 0 || c0 >= C) return std::fill(out, out + n, bf16_pair{0});
    const float* even = x + (static_cast<std::size_t>(c0) * H + sh) * W;
    const float* odd = c0 + 1 < C ? x + (static_cast<std::size_t>(c0 + 1) * H + sh) * W : nullptr;
    for (int q = 0; q < n; q += L) {
        const int m = std::min(L, n - q);
        __m512 e, o = Simd::zero();
        // In order when 15 steps end 15 above the start: a fold (reflect) or a repeat (replicate) steps back
        // or stays, and stride 2 steps by 2, an even sum.
        if (m == L && src[q] >= 0 && src[q + L - 1] == src[q] + L - 1) {
            e = Simd::load(even + src[q]);
            if (odd) o = Simd::load(odd + src[q]);
        } else {
            const __m512i index = _mm512_loadu_si512(src + q);
            const __mmask16 valid = _mm512_cmpge_epi32_mask(index, _mm512_setzero_si512()) & static_cast<__mmask16>((1u << m) - 1);
            e = _mm512_mask_i32gather_ps(Simd::zero(), valid, index, even, 4);
            if (odd) o = _mm512_mask_i32gather_ps(Simd::zero(), valid, index, odd, 4);
        }
        Simd::store_first(reinterpret_cast<float*>(out + q), pair_up(e, o), m);
    }
}

// y (O x OH x OW, one image) = the undilated stride-S convolution (S = 1 or 2) of x with kh x kw
// weights packed by pack_direct_weights, x padded by (top, left) in `mode`. The input is laid out
// per phase in pairs: Xp[((phase * pairs + cp) * rows + i) * Wph + j] = phase pixel (i, j) of
// channels 2 cp, 2 cp + 1 (rows of the band). OW >= 16: a row's last run starts at OW - 16,
// overlapping the one before it (both store the same sums), so no run has a tail.
inline void conv_direct_amx(const float* x, int C, int H, int W, int top, int left, PaddingMode mode, int S, const std::uint16_t* Ap,
                            int kh, int kw, float* y, int O, int OH, int OW) {
    constexpr int KS = AmxDirect::KStep, R = AmxDirect::Run, BO = AmxDirect::Block;
    const int steps = (C + KS - 1) / KS, pairs = steps * KS / 2, Ob = (O + BO - 1) / BO * BO, phases = S * S;
    const int Wph = OW + (kw - 1) / S, reach_h = (kh - 1) / S;
    const int runs_per_row = (OW + R - 1) / R, blocks_o = Ob / BO;
    const DirectPhases ph{S, top, left, H, W, S * (OH - 1) + kh, S * (OW - 1) + kw, mode};
    std::vector<std::vector<int>> src_w;
    for (int b = 0; b < S; ++b) src_w.push_back(ph.column_sources(b, Wph));
    // Output rows in bands whose packed input fits the column budget, whole images where they fit.
    const std::size_t per_row = static_cast<std::size_t>(phases) * pairs * Wph * 2;
    const int band = std::clamp<int>(static_cast<int>(cpu_tuning.conv_column_budget / per_row) - reach_h, 1, OH);
    bf16_pair* Xp = scratch_buffer<bf16_pair, Scratch::direct_input>(static_cast<std::size_t>(phases) * pairs * (band + reach_h) * Wph);
    const std::size_t plane = static_cast<std::size_t>(OH) * OW;
    for (int oh0 = 0; oh0 < OH; oh0 += band) {
        const int oh1 = std::min(OH, oh0 + band), rows = oh1 - oh0 + reach_h;
        parallel_for(phases * pairs * rows, 2.0 * phases * pairs * rows * Wph, [&](int i) {
            const int phase = i / (pairs * rows), cp = i / rows % pairs, r = i % rows;
            pack_pair_row(x, C, H, W, 2 * cp, ph.row_source(phase / S, oh0 + r), src_w[phase % S].data(), Wph,
                          Xp + static_cast<std::size_t>(i) * Wph);
        });
        const std::ptrdiff_t b_stride = static_cast<std::ptrdiff_t>(rows) * Wph * sizeof(bf16_pair);
        const int runs = (oh1 - oh0) * runs_per_row, run_pairs = (runs + 1) / 2, items = blocks_o * run_pairs;
        // A run's first output pixel: row oh0 + run / runs_per_row, column 16 j or OW - 16 for the last.
        auto run_at = [&](int run, int& oh, int& ow) {
            run = std::min(run, runs - 1);  // an odd count: the last pair does its run twice
            oh = run / runs_per_row;
            ow = std::min((run % runs_per_row) * R, OW - R);
        };
        // A thread's blocks go in batches of `batch` with the same output channels, and the products
        // over input channels and kernel positions in chunks of `chunk`: a chunk's weights (2 KB
        // each) stay in L1 for the whole batch, whose sums wait in `partial` between chunks. Without
        // it every block streamed all its weights from L2: 1.55 ms for the residual convolution at
        // 128 on one core of a Xeon with AMX.
        const int positions = kh * kw, products = steps * positions;
        constexpr int batch = 8, chunk = 9;
        parallel_threads(2.0 * items * products * KS * BO * 2 * R, [&](int t, int threads) {
            const AmxTiles tiles;
            alignas(64) float spill[R * R];
            alignas(64) float partial[batch][4][R * R];
            const int i0 = static_cast<int>(static_cast<long long>(items) * t / threads),
                      i1 = static_cast<int>(static_cast<long long>(items) * (t + 1) / threads);
            for (int b0 = i0; b0 < i1;) {
              const int b1 = std::min({i1, b0 + batch, (b0 / run_pairs + 1) * run_pairs});
              for (int k0 = 0; k0 < products; k0 += chunk) {
                const int k1 = std::min(products, k0 + chunk);
                for (int item = b0; item < b1; ++item) {
                const int ob = item / run_pairs, rp = item % run_pairs, o0 = ob * BO;
                int h0, w0, h1, w1;
                run_at(2 * rp, h0, w0);
                run_at(2 * rp + 1, h1, w1);
                float(*sums)[R * R] = partial[item - b0];
                if (k0 == 0) {
                    _tile_zero(0);
                    _tile_zero(1);
                    _tile_zero(2);
                    _tile_zero(3);
                } else {
                    _tile_loadd(0, sums[0], R * sizeof(float));
                    _tile_loadd(1, sums[1], R * sizeof(float));
                    _tile_loadd(2, sums[2], R * sizeof(float));
                    _tile_loadd(3, sums[3], R * sizeof(float));
                }
                for (int k = k0; k < k1; ++k) {
                    const int s = k / positions, pos = k % positions, ky = pos / kw, kx = pos % kw;
                    const int phase = ky % S * S + kx % S, dy = ky / S, dx = kx / S;
                    const bf16_pair* xs = Xp + (static_cast<std::size_t>(phase) * pairs + s * (KS / 2)) * rows * Wph;
                    const std::uint16_t* a = Ap + ((static_cast<std::size_t>(pos) * steps + s) * Ob + o0) * KS;
                    _tile_loadd(4, a, KS * 2);
                    _tile_loadd(6, xs + static_cast<std::size_t>(h0 + dy) * Wph + w0 + dx, b_stride);
                    _tile_dpbf16ps(0, 4, 6);
                    _tile_loadd(7, xs + static_cast<std::size_t>(h1 + dy) * Wph + w1 + dx, b_stride);
                    _tile_dpbf16ps(1, 4, 7);
                    _tile_loadd(5, a + R * KS, KS * 2);
                    _tile_dpbf16ps(2, 5, 6);
                    _tile_dpbf16ps(3, 5, 7);
                }
                if (k1 < products) {
                    _tile_stored(0, sums[0], R * sizeof(float));
                    _tile_stored(1, sums[1], R * sizeof(float));
                    _tile_stored(2, sums[2], R * sizeof(float));
                    _tile_stored(3, sums[3], R * sizeof(float));
                    continue;
                }
                // Tile 2 i + j holds channels o0 + 16 i.., pixels of run j; rows past O are dropped.
                // (_tile_stored names its tile in the instruction's text: a literal each.)
                auto store = [&](int o, int oh, int ow, auto&& stored) {
                    float* dst = y + static_cast<std::size_t>(o) * plane + static_cast<std::size_t>(oh0 + oh) * OW + ow;
                    if (o + R <= O) return stored(dst, static_cast<std::ptrdiff_t>(plane * sizeof(float)));
                    stored(spill, static_cast<std::ptrdiff_t>(R * sizeof(float)));
                    for (int i = 0; i < O - o; ++i) std::memcpy(dst + i * plane, spill + i * R, R * sizeof(float));
                };
                store(o0, h0, w0, [](float* p, std::ptrdiff_t stride) { _tile_stored(0, p, stride); });
                store(o0, h1, w1, [](float* p, std::ptrdiff_t stride) { _tile_stored(1, p, stride); });
                if (o0 + R < O) {
                    store(o0 + R, h0, w0, [](float* p, std::ptrdiff_t stride) { _tile_stored(2, p, stride); });
                    store(o0 + R, h1, w1, [](float* p, std::ptrdiff_t stride) { _tile_stored(3, p, stride); });
                }
                }
              }
              b0 = b1;
            }
        });
    }
}

// dw (O x C x kh x kw) += the filter gradient of the same convolution, summed over `images`:
// dw[o][c][pos] += sum over output pixels of dy[o][oh][ow] x_padded[c][S oh + ky][S ow + kx]. The
// products run over pixels: a tile of dy is 16 channels x 32 pixels of a row (Dq: rows rounded up
// to 32 with zeros), its partner 32 pixels (16 pairs) x 16 channels of the tap's phase image
// (DirectPhases), laid out with the channels of each pair of neighbouring pixels together (Xq: per
// phase one copy pairing even columns, one odd, for the taps' even and odd column offsets). Sums
// wait in G[pos][o][c] between images.
inline void conv_direct_amx_filter(const float* x, std::ptrdiff_t x_image, int C, int H, int W, int top, int left, PaddingMode mode,
                                   int S, const float* dy, std::ptrdiff_t dy_image, int O, int OH, int OW, int images, int kh,
                                   int kw, float* dw) {
    constexpr int KS = AmxDirect::KStep, R = AmxDirect::Run, BO = AmxDirect::Block, L = Simd::lanes;
    const int positions = kh * kw, Ob = (O + BO - 1) / BO * BO, Cb = (C + BO - 1) / BO * BO;
    const int OWq = (OW + KS - 1) / KS * KS, Hp = OH + (kh - 1) / S, pairs_w = (OWq + (kw - 1) / S) / 2 + 1, copies = 2 * S * S;
    const DirectPhases ph{S, top, left, H, W, S * (OH - 1) + kh, S * (OW - 1) + kw, mode};
    std::uint16_t* Dq = scratch_buffer<std::uint16_t, Scratch::direct_input>(static_cast<std::size_t>(Ob) * OH * OWq);
    bf16_pair* Xq = scratch_buffer<bf16_pair, Scratch::direct_pairs>(static_cast<std::size_t>(copies) * Hp * pairs_w * Cb);
    float* G = scratch_buffer<float, Scratch::direct_sums>(static_cast<std::size_t>(positions) * Ob * Cb);
    std::vector<std::vector<int>> src_w;
    for (int b = 0; b < S; ++b) src_w.push_back(ph.column_sources(b, 2 * pairs_w + 2));
    const __m512i channel_offsets = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                                       _mm512_set1_epi32(H * W));
    for (int n = 0; n < images; ++n) {
        const float* xn = x + n * x_image;
        const float* dyn = dy + n * dy_image;
        parallel_for(Ob * OH, 1.0 * Ob * OH * OWq, [&](int i) {  // Dq[o][oh][w] = bf16 of dy, zero past OW and O
            const int o = i / OH, oh = i % OH;
            std::uint16_t* out = Dq + static_cast<std::size_t>(i) * OWq;
            const float* in = dyn + (static_cast<std::size_t>(o) * OH + oh) * OW;
            for (int w = 0; w < OWq; w += L) {
                const int m = o < O ? std::clamp(OW - w, 0, L) : 0;
                store_bf16(out + w, Simd::load_first(in + w, m));
            }
        });
        // Xq[phase * 2 + e][r][q][c] = (P[c][r][2q + e], P[c][r][2q + e + 1]) for the phase image P,
        // 16 channels gathered at once, each column once for both copies (it ends a pair of one
        // and starts a pair of the other).
        parallel_for(S * S * Hp, 2.0 * copies * Hp * pairs_w * Cb, [&](int i) {
            const int phase = i / Hp, r = i % Hp, sh = ph.row_source(phase / S, r), columns = 2 * pairs_w + 1;
            const int* sources = src_w[phase % S].data();
            bf16_pair* even = Xq + (static_cast<std::size_t>(phase * 2) * Hp + r) * pairs_w * Cb;
            bf16_pair* odd = even + static_cast<std::size_t>(Hp) * pairs_w * Cb;
            for (int c = 0; c < Cb; c += L) {
                const __mmask16 valid = static_cast<__mmask16>(C - c >= L ? 0xffff : C - c > 0 ? (1u << (C - c)) - 1 : 0);
                auto column = [&](int col) {
                    const int sw = sources[col];
                    if (sh < 0 || sw < 0 || !valid) return _mm512_setzero_ps();
                    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid, channel_offsets,
                                                    xn + (static_cast<std::size_t>(c) * H + sh) * W + sw, 4);
                };
                __m512 previous = column(0);
                for (int col = 1; col < columns; ++col) {
                    const __m512 next = column(col);  // pairs (col - 1, col): copy e = (col - 1) % 2, q = (col - 1) / 2
                    bf16_pair* out = (col % 2 ? even : odd) + static_cast<std::size_t>((col - 1) / 2) * Cb + c;
                    Simd::store(reinterpret_cast<float*>(out), pair_up(previous, next));
                    previous = next;
                }
            }
        });
        const int blocks_o = Ob / BO, blocks_c = Cb / BO, items = positions * blocks_o * blocks_c;
        const std::ptrdiff_t a_stride = static_cast<std::ptrdiff_t>(OH) * OWq * 2, b_stride = static_cast<std::ptrdiff_t>(Cb) * 4,
                             g_stride = static_cast<std::ptrdiff_t>(Cb) * 4;
        parallel_threads(2.0 * items * BO * BO * OH * OWq, [&](int t, int threads) {
            const AmxTiles tiles;
            for (int item = t; item < items; item += threads) {
                const int pos = item / (blocks_o * blocks_c), ob = item / blocks_c % blocks_o, cb = item % blocks_c;
                const int ky = pos / kw, kx = pos % kw, dy_ = ky / S, dx = kx / S, e = dx & 1, o0 = ob * BO, c0 = cb * BO;
                const int phase = ky % S * S + kx % S;
                float* g = G + (static_cast<std::size_t>(pos) * Ob + o0) * Cb + c0;
                if (n == 0) {
                    _tile_zero(0);
                    _tile_zero(1);
                    _tile_zero(2);
                    _tile_zero(3);
                } else {
                    _tile_loadd(0, g, g_stride);
                    _tile_loadd(1, g + R, g_stride);
                    _tile_loadd(2, g + R * Cb, g_stride);
                    _tile_loadd(3, g + R * Cb + R, g_stride);
                }
                const bf16_pair* xe = Xq + static_cast<std::size_t>(phase * 2 + e) * Hp * pairs_w * Cb;
                for (int oh = 0; oh < OH; ++oh)
                    for (int w0 = 0; w0 < OWq; w0 += KS) {
                        const std::uint16_t* a = Dq + (static_cast<std::size_t>(o0) * OH + oh) * OWq + w0;
                        const bf16_pair* b = xe + (static_cast<std::size_t>(oh + dy_) * pairs_w + (w0 + dx - e) / 2) * Cb + c0;
                        _tile_loadd(4, a, a_stride);
                        _tile_loadd(5, a + static_cast<std::size_t>(R) * OH * OWq, a_stride);
                        _tile_loadd(6, b, b_stride);
                        _tile_loadd(7, b + R, b_stride);
                        _tile_dpbf16ps(0, 4, 6);
                        _tile_dpbf16ps(1, 4, 7);
                        _tile_dpbf16ps(2, 5, 6);
                        _tile_dpbf16ps(3, 5, 7);
                    }
                _tile_stored(0, g, g_stride);
                _tile_stored(1, g + R, g_stride);
                _tile_stored(2, g + R * Cb, g_stride);
                _tile_stored(3, g + R * Cb + R, g_stride);
            }
        });
    }
    // dw[o][c][pos] += G[pos][o][c]: G's rows read in order, dw's row o (C x positions) in L1 meanwhile.
    parallel_for(O, 1.0 * O * C * positions, [&](int o) {
        float* out = dw + static_cast<std::size_t>(o) * C * positions;
        for (int pos = 0; pos < positions; ++pos) {
            const float* in = G + (static_cast<std::size_t>(pos) * Ob + o) * Cb;
            for (int c = 0; c < C; ++c) out[static_cast<std::size_t>(c) * positions + pos] += in[c];
        }
    });
}
