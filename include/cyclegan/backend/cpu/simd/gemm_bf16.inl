// The bf16 products on AVX512_BF16 (PairedBf16Operands, the avx512_bf16 kernel set): operands are
// converted to bf16 while packed (round_bf16_lanes: to nearest even, as VCVTNEPS2BF16 does), two
// consecutive k of a row of A, or of a column of B, in one 32-bit lane, so that one VDPBF16PS adds
// 16 lanes x 2 exact products into 16 float sums: twice the multiply-adds of an FMA per
// instruction. The same scheme as gemm.inl's float GEMM (packed blocks, an MR x NR tile of C in
// registers) with k taken in pairs. Included in the AVX-512 namespace after kernels.inl, compiled
// with the avx512bf16 target; the dispatchers call it only when cpu_kernels() is avx512_bf16. No
// include guard, no includes of its own.

using bf16_pair = std::uint32_t;  // bf16 of element k in the low half, of k + 1 in the high half

struct PairTile {
    static constexpr int MR = 8;                   // rows of a C tile
    static constexpr int NV = 2, NR = NV * Simd::lanes;  // its columns: two vectors
    static constexpr int KC = 256, MC = 128 / MR * MR, NC = 3072;  // KC counts k, so it is even
};

// bf16 bits of v, in the low 16 bits (the hardware's rounding is round_to_bf16's).
inline std::uint32_t bf16_bits(float v) { return std::bit_cast<std::uint32_t>(round_to_bf16(v)) >> 16; }
inline bf16_pair pair_of(float even, float odd) { return bf16_bits(even) | bf16_bits(odd) << 16; }

// Lane j of the result pairs even[j] and odd[j], each rounded to bf16 (round_bf16_lanes).
template <class Reg>
[[gnu::always_inline]] inline Reg pair_up(Reg even, Reg odd) {
    using U = typename LaneBits<sizeof(Reg)>::type;
    return (Reg)(((U)round_bf16_lanes(even) >> 16) | (U)round_bf16_lanes(odd));
}

// Ap[(panel * kp + p) * MR + i] = (A(i0 + panel * MR + i, k0 + 2p), A(.., k0 + 2p + 1)) for the
// kp = ceil(kc / 2) pairs, zero past the last row and past k0 + kc.
inline void pack_a_pairs(MatrixView<float> A, int i0, int mc, int k0, int kc, bf16_pair* Ap) {
    constexpr int MR = PairTile::MR;
    const int kp = (kc + 1) / 2;
    for (int q = 0; q < mc; q += MR) {
        bf16_pair* dst = Ap + static_cast<std::ptrdiff_t>(q) * kp;
        const int rows = std::min(MR, mc - q);
        if (A.row_step == 1 && rows == MR) {  // columns of A are contiguous: MR values per k
            for (int p = 0; p < kp; ++p) {
                const float* even = &A(i0 + q, k0 + 2 * p);
                const __m256 e = _mm256_loadu_ps(even), o = 2 * p + 1 < kc ? _mm256_loadu_ps(even + A.col_step) : _mm256_setzero_ps();
                _mm256_storeu_ps(reinterpret_cast<float*>(dst + p * MR), pair_up(e, o));
            }
            continue;
        }
        for (int i = 0; i < MR; ++i) {
            if (i >= rows) {
                for (int p = 0; p < kp; ++p) dst[p * MR + i] = 0;
                continue;
            }
            const float* src = &A(i0 + q + i, k0);
            for (int p = 0; p < kp; ++p)
                dst[p * MR + i] = pair_of(src[2 * p * A.col_step], 2 * p + 1 < kc ? src[(2 * p + 1) * A.col_step] : 0.f);
        }
    }
}

// Bp[(panel * kp + p) * NR + j] = (B(k0 + 2p, j0 + panel * NR + j), B(k0 + 2p + 1, ..)), zero past
// the last column and past k0 + kc; kp = ceil(kc / 2), or `padded_kp` pairs (AMX's tiles take
// whole tiles of 16), the last ones zero.
inline void pack_b_pairs(MatrixView<float> B, int k0, int kc, int j0, int nc, bf16_pair* Bp, int padded_kp = 0) {
    constexpr int NR = PairTile::NR, L = Simd::lanes;
    const int kp = std::max((kc + 1) / 2, padded_kp);
    for (int q = 0; q < nc; q += NR) {
        bf16_pair* dst = Bp + static_cast<std::ptrdiff_t>(q) * kp;
        std::fill(dst + static_cast<std::ptrdiff_t>((kc + 1) / 2) * NR, dst + static_cast<std::ptrdiff_t>(kp) * NR, bf16_pair{0});
        const int cols = std::min(NR, nc - q);
        if (B.col_step == 1) {  // rows of B are contiguous: two rows give NR pairs, as vectors
            for (int p = 0; p < (kc + 1) / 2; ++p) {
                const float* even = &B(k0 + 2 * p, j0 + q);
                const bool has_odd = 2 * p + 1 < kc;
                for (int v = 0; v < PairTile::NV; ++v) {
                    const int n = std::clamp(cols - v * L, 0, L);
                    const __m512 e = n == L ? Simd::load(even + v * L) : Simd::load_first(even + v * L, n);
                    const __m512 o = !has_odd ? Simd::zero()
                                     : n == L ? Simd::load(even + B.row_step + v * L)
                                              : Simd::load_first(even + B.row_step + v * L, n);
                    Simd::store_aligned(reinterpret_cast<float*>(dst + p * NR + v * L), pair_up(e, o));
                }
            }
            continue;
        }
        // Rows of B are strided (B = X^T): each column's k are contiguous, so a pair is two neighbours.
        for (int j = 0; j < NR; ++j) {
            if (j >= cols) {
                for (int p = 0; p < (kc + 1) / 2; ++p) dst[p * NR + j] = 0;
                continue;
            }
            const float* src = &B(k0, j0 + q + j);
            for (int p = 0; p < (kc + 1) / 2; ++p)
                dst[p * NR + j] = pair_of(src[2 * p * B.row_step], 2 * p + 1 < kc ? src[(2 * p + 1) * B.row_step] : 0.f);
        }
    }
}

// The MR x NR tile at c (rows ldc apart) = or += Ap panel · Bp panel over kp pairs of k; only
// rows x cols of it exist.
inline void gemm_tile_pairs(int kp, const bf16_pair* a, const bf16_pair* b, float* c, std::ptrdiff_t ldc, bool accumulate,
                            int rows, int cols) {
    constexpr int MR = PairTile::MR, NV = PairTile::NV, NR = PairTile::NR, L = Simd::lanes;
    __m512 acc[MR][NV];
CYCLEGAN_UNROLL(16)
    for (int i = 0; i < MR; ++i)
CYCLEGAN_UNROLL(4)
        for (int v = 0; v < NV; ++v) acc[i][v] = Simd::zero();
CYCLEGAN_UNROLL(2)
    for (int p = 0; p < kp; ++p) {
        __m512bh bv[NV];
CYCLEGAN_UNROLL(4)
        for (int v = 0; v < NV; ++v) bv[v] = reinterpret_cast<__m512bh>(_mm512_load_si512(b + p * NR + L * v));
CYCLEGAN_UNROLL(16)
        for (int i = 0; i < MR; ++i) {
            const __m512bh ai = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(a[p * MR + i])));
CYCLEGAN_UNROLL(4)
            for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], ai, bv[v]);
        }
    }
    if (rows == MR && cols == NR) {
CYCLEGAN_UNROLL(16)
        for (int i = 0; i < MR; ++i)
CYCLEGAN_UNROLL(4)
            for (int v = 0; v < NV; ++v) {
                float* dst = c + i * ldc + L * v;
                Simd::store(dst, accumulate ? Simd::add(Simd::load(dst), acc[i][v]) : acc[i][v]);
            }
        return;
    }
    alignas(64) float tile[MR * NR];
    for (int i = 0; i < MR; ++i)
        for (int v = 0; v < NV; ++v) Simd::store_aligned(tile + i * NR + L * v, acc[i][v]);
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) c[i * ldc + j] = accumulate ? c[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
}

// Runs the tiles of one block: Ak holds the block's rows [i0, i0 + mc) packed, Bp its columns.
inline void gemm_block_pairs(int mc, int nc, int kc, const bf16_pair* Ak, const bf16_pair* Bp, float* C, std::ptrdiff_t ldc,
                             bool accumulate) {
    constexpr int MR = PairTile::MR, NR = PairTile::NR;
    const int kp = (kc + 1) / 2;
    for (int jr = 0; jr < nc; jr += NR)
        for (int ir = 0; ir < mc; ir += MR)
            gemm_tile_pairs(kp, Ak + static_cast<std::ptrdiff_t>(ir) * kp, Bp + static_cast<std::ptrdiff_t>(jr) * kp,
                            C + static_cast<std::ptrdiff_t>(ir) * ldc + jr, ldc, accumulate, std::min(MR, mc - ir), std::min(NR, nc - jr));
}

// One thread's share in bf16 pairs: C (M x N, rows ldc apart) = or += A · B, K > 0.
template <>
inline void gemm_serial<PairedBf16Operands>(int M, int N, int K, MatrixView<float> A, MatrixView<float> B, float* C,
                                            std::ptrdiff_t ldc, bool accumulate) {
    constexpr int KC = PairTile::KC, MC = PairTile::MC, NC = PairTile::NC;
    bf16_pair* Ap = scratch_buffer<bf16_pair, Scratch::gemm_a>(static_cast<std::size_t>(MC) * KC / 2);
    bf16_pair* Bp = scratch_buffer<bf16_pair, Scratch::gemm_b>(static_cast<std::size_t>(KC / 2) * NC);
    for (int j0 = 0; j0 < N; j0 += NC) {
        const int nc = std::min(NC, N - j0);
        for (int k0 = 0; k0 < K; k0 += KC) {
            const int kc = std::min(KC, K - k0);
            pack_b_pairs(B, k0, kc, j0, nc, Bp);
            for (int i0 = 0; i0 < M; i0 += MC) {
                const int mc = std::min(MC, M - i0);
                pack_a_pairs(A, i0, mc, k0, kc, Ap);
                gemm_block_pairs(mc, nc, kc, Ap, Bp, C + static_cast<std::ptrdiff_t>(i0) * ldc + j0, ldc, accumulate || k0 > 0);
            }
        }
    }
}

// A whole M x K matrix packed in pairs for many products (a Winograd convolution's transformed
// weights): K blocks of KC, each with the M rows (rounded up to MR) in panels of MR, k in pairs.
// Counted in bf16 values; element (i, k) at paired_a_index(i, k, M, K).
inline std::size_t paired_a_rows(int M) { return static_cast<std::size_t>((M + PairTile::MR - 1) / PairTile::MR) * PairTile::MR; }
inline std::size_t paired_a_index(int i, int k, int M, int K) {
    constexpr int MR = PairTile::MR, KC = PairTile::KC;
    const int k0 = k / KC * KC, kp = (std::min(KC, K - k0) + 1) / 2;
    const std::size_t pair = static_cast<std::size_t>(k0 / 2) * paired_a_rows(M) + static_cast<std::size_t>(i / MR) * MR * kp +
                             static_cast<std::size_t>((k - k0) / 2) * MR + i % MR;
    return pair * 2 + (k - k0) % 2;
}

// C (M x N, rows ldc apart) = or += A · B on the calling thread, A packed whole in pairs.
inline void gemm_serial_paired_a(int M, int N, int K, const std::uint16_t* Ap, MatrixView<float> B, float* C, std::ptrdiff_t ldc,
                                 bool accumulate) {
    constexpr int KC = PairTile::KC, MC = PairTile::MC, NC = PairTile::NC;
    bf16_pair* Bp = scratch_buffer<bf16_pair, Scratch::gemm_b>(static_cast<std::size_t>(KC / 2) * NC);
    const std::size_t Mp = paired_a_rows(M);
    for (int j0 = 0; j0 < N; j0 += NC) {
        const int nc = std::min(NC, N - j0);
        for (int k0 = 0; k0 < K; k0 += KC) {
            const int kc = std::min(KC, K - k0), kp = (kc + 1) / 2;
            pack_b_pairs(B, k0, kc, j0, nc, Bp);
            const bf16_pair* Ak = reinterpret_cast<const bf16_pair*>(Ap) + static_cast<std::size_t>(k0 / 2) * Mp;
            for (int i0 = 0; i0 < M; i0 += MC)
                gemm_block_pairs(std::min(MC, M - i0), nc, kc, Ak + static_cast<std::ptrdiff_t>(i0) * kp, Bp,
                                 C + static_cast<std::ptrdiff_t>(i0) * ldc + j0, ldc, accumulate || k0 > 0);
        }
    }
}

template <>
struct PackedProducts<PairedBf16Operands> {
    using value = std::uint16_t;
    static constexpr int run_rows = PairTile::MR;
    static std::size_t rows(int M) { return paired_a_rows(M); }
    static std::size_t size(int M, int K) { return paired_a_rows(M) * static_cast<std::size_t>(K + K % 2); }
    static std::size_t index(int i, int k, int M, int K) { return paired_a_index(i, k, M, K); }
    // The lanes u[j * run_rows + r] of columns k0 + j (k0 even, cs <= 2) into their pair run at dst.
    static void store_run(const float* u, int cs, std::uint16_t* dst) {
        constexpr int R = run_rows;
        for (int r = 0; r < R; ++r) {
            dst[2 * r] = static_cast<std::uint16_t>(bf16_bits(u[r]));
            dst[2 * r + 1] = cs > 1 ? static_cast<std::uint16_t>(bf16_bits(u[R + r])) : 0;
        }
    }
    static void product(int M, int N, int K, const std::uint16_t* Ap, MatrixView<float> B, float* C, std::ptrdiff_t ldc,
                        bool accumulate) {
        gemm_serial_paired_a(M, N, K, Ap, B, C, ldc, accumulate);
    }
    static std::uint64_t weights_fingerprint(const float* w, std::size_t n) { return fingerprint(w, n); }
};

inline PairTile gemm_tile_of(Isa, PairedBf16Operands) { return {}; }
