// Direct convolution on AMX (the amx_bf16 kernel set, issue 25): stride-1 undilated convolutions in
// bf16 with no column buffer. The input is padded once into AMX's B layout, pairs of channels in
// one 32-bit lane per pixel, so that the tile of 32 channels x 16 pixels a kernel position reads is
// 16 rows of 64 bytes at a fixed stride: TILELOADD reads it in place, for every (ky, kx), where
// im2col would copy the input kh * kw times. The output tile is 16 channels x 16 pixels of one row,
// stored straight into NCHW. A block of the output is 2 x 2 tiles (32 channels x two runs of 16
// pixels), as gemm_amx.inl's: four accumulators, two weight tiles, two input tiles.
// Operands are rounded as everywhere (round_bf16_lanes), so the results are im2col + GEMM's in bf16
// up to the order of the float sums. Included in the AVX-512 namespace after gemm_amx.inl; called
// only when cpu_kernels() is amx_bf16 (conv_direct.hpp says when).

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
// at kernel position pos = ky * kw + kx, zero past O (Ob rounds it up to a block) and past C. The
// weight (o, c, pos) is w[o * o_stride + c * c_stride + pos], or at positions - 1 - pos if
// `mirrored`: 16 values of c gathered at a time, rounded, halved to 16 bits.
inline void pack_direct_weights(int O, int C, int positions, const float* w, std::ptrdiff_t o_stride, std::ptrdiff_t c_stride,
                                bool mirrored, std::uint16_t* Ap) {
    constexpr int KS = AmxDirect::KStep, L = Simd::lanes;
    const int steps = (C + KS - 1) / KS, Ob = (O + AmxDirect::Block - 1) / AmxDirect::Block * AmxDirect::Block;
    const __m512i lane_offsets = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                                    _mm512_set1_epi32(static_cast<int>(c_stride)));
    parallel_for(Ob, 1.0 * positions * Ob * steps * KS, [&](int o) {
        for (int pos = 0; pos < positions; ++pos) {
            const float* base = w + static_cast<std::ptrdiff_t>(o) * o_stride + (mirrored ? positions - 1 - pos : pos);
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

// Rows [r0, r1) of image x (C x H x W) padded by `top`/`left` in `mode` and laid out in pairs:
// Xp[(cp * rows + r - r0) * Wp + q] = (x[2 cp][sh][sw], x[2 cp + 1][sh][sw]) for the padded pixel
// (r, q), sh = padded_source(r - top, H), sw likewise (zero where -1, and for channels past C, up to
// `pairs`).
inline void pack_direct_input(const float* x, int C, int H, int W, int top, int left, PaddingMode mode, int r0, int r1, int Wp,
                              int pairs, const int* src_w, bf16_pair* Xp) {
    constexpr int L = Simd::lanes;
    const int rows = r1 - r0;
    // The run of padded columns that read the image in order: [q0, q1) reads from sw = q - left.
    const int q0 = std::clamp(left, 0, Wp), q1 = std::clamp(left + W, q0, Wp);
    parallel_for(pairs * rows, 2.0 * pairs * rows * Wp, [&](int i) {
        const int cp = i / rows, r = r0 + i % rows, sh = padded_source(r - top, H, mode);
        bf16_pair* out = Xp + static_cast<std::size_t>(i) * Wp;
        const int c0 = 2 * cp, c1 = 2 * cp + 1;
        if (sh < 0 || c0 >= C) {
            std::fill(out, out + Wp, bf16_pair{0});
            return;
        }
        const float* even = x + (static_cast<std::size_t>(c0) * H + sh) * W;
        const float* odd = c1 < C ? x + (static_cast<std::size_t>(c1) * H + sh) * W : nullptr;
        auto at = [&](const float* p, int q) { return p && src_w[q] >= 0 ? p[src_w[q]] : 0.f; };
        for (int q = 0; q < q0; ++q) out[q] = pair_of(at(even, q), at(odd, q));
        int q = q0;
        for (; q + L <= q1; q += L) {
            const auto e = Simd::load(even + (q - left)), o = odd ? Simd::load(odd + (q - left)) : Simd::zero();
            Simd::store(reinterpret_cast<float*>(out + q), pair_up(e, o));
        }
        for (; q < Wp; ++q) out[q] = pair_of(at(even, q), at(odd, q));
    });
}

// y (O x OH x OW, one image) = the stride-1 undilated convolution of x with kh x kw weights
// packed by pack_direct_weights, x padded by (top, left) in `mode`. OW >= 16: a row's last run
// starts at OW - 16, overlapping the one before it (both store the same sums), so no run has a tail.
inline void conv_direct_amx(const float* x, int C, int H, int W, int top, int left, PaddingMode mode, const std::uint16_t* Ap,
                            int kh, int kw, float* y, int O, int OH, int OW) {
    constexpr int KS = AmxDirect::KStep, R = AmxDirect::Run, BO = AmxDirect::Block;
    const int steps = (C + KS - 1) / KS, pairs = steps * KS / 2, Ob = (O + BO - 1) / BO * BO, Wp = OW + kw - 1;
    const int runs_per_row = (OW + R - 1) / R, blocks_o = Ob / BO;
    std::vector<int> src_w(static_cast<std::size_t>(Wp));
    for (int q = 0; q < Wp; ++q) src_w[q] = padded_source(q - left, W, mode);
    // Output rows in bands whose packed input fits the column budget, whole images where they fit.
    const int band = std::clamp<int>(static_cast<int>(cpu_tuning.conv_column_budget / (static_cast<std::size_t>(pairs) * Wp * 2)) - kh + 1, 1, OH);
    bf16_pair* Xp = scratch_buffer<bf16_pair, Scratch::direct_input>(static_cast<std::size_t>(pairs) * (band + kh - 1) * Wp);
    const std::size_t plane = static_cast<std::size_t>(OH) * OW;
    for (int oh0 = 0; oh0 < OH; oh0 += band) {
        const int oh1 = std::min(OH, oh0 + band), rows = oh1 - oh0 + kh - 1;
        pack_direct_input(x, C, H, W, top, left, mode, oh0, oh0 + rows, Wp, pairs, src_w.data(), Xp);
        const std::ptrdiff_t b_stride = static_cast<std::ptrdiff_t>(rows) * Wp * sizeof(bf16_pair);
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
                    const bf16_pair* xs = Xp + static_cast<std::size_t>(s) * (KS / 2) * rows * Wp;
                    const std::uint16_t* a = Ap + ((static_cast<std::size_t>(pos) * steps + s) * Ob + o0) * KS;
                    _tile_loadd(4, a, KS * 2);
                    _tile_loadd(5, a + R * KS, KS * 2);
                    _tile_loadd(6, xs + static_cast<std::size_t>(h0 + ky) * Wp + w0 + kx, b_stride);
                    _tile_loadd(7, xs + static_cast<std::size_t>(h1 + ky) * Wp + w1 + kx, b_stride);
                    _tile_dpbf16ps(0, 4, 6);
                    _tile_dpbf16ps(1, 4, 7);
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
// dw[o][c][pos] += sum over output pixels of dy[o][oh][ow] x_padded[c][oh + ky][ow + kx]. The
// products run over pixels: a tile of dy is 16 channels x 32 pixels of a row (Dq: rows rounded up
// to 32 with zeros), its partner 32 pixels (16 pairs) x 16 channels of the padded input, laid out
// with the channels of each pair of neighbouring pixels together (Xq: one copy pairing even
// columns, one odd, for the kernel's even and odd offsets). Sums wait in G[pos][o][c] between images.
inline void conv_direct_amx_filter(const float* x, std::ptrdiff_t x_image, int C, int H, int W, int top, int left, PaddingMode mode,
                                   const float* dy, std::ptrdiff_t dy_image, int O, int OH, int OW, int images, int kh, int kw,
                                   float* dw) {
    constexpr int KS = AmxDirect::KStep, R = AmxDirect::Run, BO = AmxDirect::Block, L = Simd::lanes;
    const int positions = kh * kw, Ob = (O + BO - 1) / BO * BO, Cb = (C + BO - 1) / BO * BO;
    const int OWq = (OW + KS - 1) / KS * KS, Hp = OH + kh - 1, Wp = OW + kw - 1, pairs_w = (OWq + kw) / 2 + 1;
    std::uint16_t* Dq = scratch_buffer<std::uint16_t, Scratch::direct_input>(static_cast<std::size_t>(Ob) * OH * OWq);
    bf16_pair* Xq = scratch_buffer<bf16_pair, Scratch::direct_pairs>(2 * static_cast<std::size_t>(Hp) * pairs_w * Cb);
    float* G = scratch_buffer<float, Scratch::direct_sums>(static_cast<std::size_t>(positions) * Ob * Cb);
    std::vector<int> src_w(static_cast<std::size_t>(2 * pairs_w + 2)), src_h(static_cast<std::size_t>(Hp));
    for (int q = 0; q < 2 * pairs_w + 2; ++q) src_w[q] = q < Wp ? padded_source(q - left, W, mode) : -1;
    for (int r = 0; r < Hp; ++r) src_h[r] = padded_source(r - top, H, mode);
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
        // Xq[e][r][q][c] = (x_padded[c][r][2q + e], x_padded[c][r][2q + e + 1]), 16 channels gathered at once.
        parallel_for(2 * Hp, 2.0 * Hp * pairs_w * Cb, [&](int i) {
            const int e = i / Hp, r = i % Hp, sh = src_h[r];
            bf16_pair* out = Xq + (static_cast<std::size_t>(e) * Hp + r) * pairs_w * Cb;
            for (int q = 0; q < pairs_w; ++q)
                for (int c = 0; c < Cb; c += L) {
                    const __mmask16 valid = static_cast<__mmask16>(C - c >= L ? 0xffff : C - c > 0 ? (1u << (C - c)) - 1 : 0);
                    auto column = [&](int col) {
                        const int sw = src_w[col];
                        if (sh < 0 || sw < 0 || !valid) return _mm512_setzero_ps();
                        return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid, channel_offsets,
                                                        xn + (static_cast<std::size_t>(c) * H + sh) * W + sw, 4);
                    };
                    Simd::store(reinterpret_cast<float*>(out + static_cast<std::size_t>(q) * Cb + c),
                                pair_up(column(2 * q + e), column(2 * q + e + 1)));
                }
        });
        const int blocks_o = Ob / BO, blocks_c = Cb / BO, items = positions * blocks_o * blocks_c;
        const std::ptrdiff_t a_stride = static_cast<std::ptrdiff_t>(OH) * OWq * 2, b_stride = static_cast<std::ptrdiff_t>(Cb) * 4,
                             g_stride = static_cast<std::ptrdiff_t>(Cb) * 4;
        parallel_threads(2.0 * items * BO * BO * OH * OWq, [&](int t, int threads) {
            const AmxTiles tiles;
            for (int item = t; item < items; item += threads) {
                const int pos = item / (blocks_o * blocks_c), ob = item / blocks_c % blocks_o, cb = item % blocks_c;
                const int ky = pos / kw, kx = pos % kw, e = kx & 1, o0 = ob * BO, c0 = cb * BO;
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
                const bf16_pair* xe = Xq + static_cast<std::size_t>(e) * Hp * pairs_w * Cb;
                for (int oh = 0; oh < OH; ++oh)
                    for (int w0 = 0; w0 < OWq; w0 += KS) {
                        const std::uint16_t* a = Dq + (static_cast<std::size_t>(o0) * OH + oh) * OWq + w0;
                        const bf16_pair* b = xe + (static_cast<std::size_t>(oh + ky) * pairs_w + (w0 + kx - e) / 2) * Cb + c0;
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
    parallel_for(O, 1.0 * O * C * positions, [&](int o) {
        for (int c = 0; c < C; ++c)
            for (int pos = 0; pos < positions; ++pos)
                dw[(static_cast<std::size_t>(o) * C + c) * positions + pos] += G[(static_cast<std::size_t>(pos) * Ob + o) * Cb + c];
    });
}
