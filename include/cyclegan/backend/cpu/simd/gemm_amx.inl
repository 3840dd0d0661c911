// The bf16 products on AMX (AmxBf16Operands, the amx_bf16 kernel set: Intel since Sapphire
// Rapids): TDPBF16PS multiplies a 16 x 32 tile of bf16 by a 32 x 16 one (k in pairs, as
// gemm_bf16.inl packs B) into 16 x 16 float sums, 8192 multiply-adds per instruction. A block of C of
// 32 x 32 is four accumulator tiles (0-3), fed by two tiles of A (4, 5) and two of B (6, 7) per 32
// values of k. Operands are rounded to bf16 while packed (round_bf16_lanes), as everywhere.
// Included in the AVX-512 namespace after gemm_bf16.inl, compiled with the amx-tile and amx-bf16
// targets; the dispatchers call it only when cpu_kernels() is amx_bf16 (which asked the operating
// system for the tiles' state: kernel_set.hpp).

struct AmxTile {
    static constexpr int MR = 32, NR = 32;  // a block of C: 2 x 2 tiles of 16 x 16
    static constexpr int KC = 256, MC = 128, NC = 3072;  // KC counts k: 8 steps of 32
    static constexpr int KStep = 32;        // k per tile product (16 pairs)
};

// Palette 1, eight tiles of 16 rows of 64 bytes: what every kernel here uses. Loaded on entry and
// released on exit of each serial product, so a thread keeps no tile state between calls.
struct AmxTiles {
    AmxTiles() {
        alignas(64) struct {
            std::uint8_t palette, start_row, reserved[14];
            std::uint16_t bytes_per_row[16];
            std::uint8_t rows[16];
        } config{};
        config.palette = 1;
        for (int t = 0; t < 8; ++t) config.bytes_per_row[t] = 64, config.rows[t] = 16;
        // GCC 12 does not know that LDTILECFG reads all 64 bytes, and drops the stores of zeros.
        asm volatile("" : : "r"(&config) : "memory");
        _tile_loadconfig(&config);
    }
    ~AmxTiles() { _tile_release(); }
    AmxTiles(const AmxTiles&) = delete;
    AmxTiles& operator=(const AmxTiles&) = delete;
};

// Ap[((panel * chunks + s) * MR + i) * 32 + k] = bf16 of A(i0 + panel * MR + i, k0 + 32 s + k): per
// panel of 32 rows and step of 32 k, the two A tiles' rows (64 bytes each), zero past the last row
// and past k0 + kc.
inline void pack_a_amx(MatrixView<float> A, int i0, int mc, int k0, int kc, std::uint16_t* Ap) {
    constexpr int MR = AmxTile::MR, KS = AmxTile::KStep;
    const int chunks = (kc + KS - 1) / KS;
    for (int q = 0; q < mc; q += MR) {
        std::uint16_t* panel = Ap + static_cast<std::ptrdiff_t>(q) * chunks * KS;
        for (int s = 0; s < chunks; ++s)
            for (int i = 0; i < MR; ++i) {
                std::uint16_t* row = panel + (static_cast<std::ptrdiff_t>(s) * MR + i) * KS;
                const int k_end = std::min(KS, kc - s * KS);
                if (q + i >= mc) {
                    std::fill(row, row + KS, std::uint16_t{0});
                    continue;
                }
                const float* src = &A(i0 + q + i, k0 + s * KS);
                int k = 0;
                for (; k < k_end; ++k) row[k] = static_cast<std::uint16_t>(bf16_bits(src[k * A.col_step]));
                for (; k < KS; ++k) row[k] = 0;
            }
    }
}

// The MR x NR block at c (rows ldc apart) = or += Ap panel · Bp panel over `chunks` steps of 32 k;
// only rows x cols of it exist. Bp is gemm_bf16.inl's panel (pairs, NR wide), its pairs padded to
// whole steps.
inline void gemm_block_amx(int chunks, const std::uint16_t* a, const bf16_pair* b, float* c, std::ptrdiff_t ldc,
                           bool accumulate, int rows, int cols) {
    constexpr int MR = AmxTile::MR, NR = AmxTile::NR, KS = AmxTile::KStep;
    const bool whole = rows == MR && cols == NR;
    alignas(64) float tile[MR * NR];
    float* out = whole ? c : tile;
    const std::ptrdiff_t stride = (whole ? ldc : NR) * static_cast<std::ptrdiff_t>(sizeof(float));
    if (accumulate) {
        if (!whole)
            for (int i = 0; i < MR; ++i)
                for (int j = 0; j < NR; ++j) tile[i * NR + j] = i < rows && j < cols ? c[i * ldc + j] : 0.f;
        _tile_loadd(0, out, stride);
        _tile_loadd(1, out + 16, stride);
        _tile_loadd(2, out + 16 * stride / 4, stride);
        _tile_loadd(3, out + 16 * stride / 4 + 16, stride);
    } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    }
    for (int s = 0; s < chunks; ++s) {
        const std::uint16_t* as = a + static_cast<std::ptrdiff_t>(s) * MR * KS;
        const bf16_pair* bs = b + static_cast<std::ptrdiff_t>(s) * (KS / 2) * NR;
        _tile_loadd(4, as, KS * 2);
        _tile_loadd(5, as + 16 * KS, KS * 2);
        _tile_loadd(6, bs, NR * 4);
        _tile_loadd(7, bs + 16, NR * 4);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, out, stride);
    _tile_stored(1, out + 16, stride);
    _tile_stored(2, out + 16 * stride / 4, stride);
    _tile_stored(3, out + 16 * stride / 4 + 16, stride);
    if (!whole)
        for (int i = 0; i < rows; ++i)
            for (int j = 0; j < cols; ++j) c[i * ldc + j] = tile[i * NR + j];
}

// The blocks of one packed block of A (rows [i0, i0 + mc)) against a packed block of B.
inline void gemm_blocks_amx(int mc, int nc, int kc, const std::uint16_t* Ak, const bf16_pair* Bp, float* C, std::ptrdiff_t ldc,
                            bool accumulate) {
    constexpr int MR = AmxTile::MR, NR = AmxTile::NR, KS = AmxTile::KStep;
    const int chunks = (kc + KS - 1) / KS;
    for (int jr = 0; jr < nc; jr += NR)
        for (int ir = 0; ir < mc; ir += MR)
            gemm_block_amx(chunks, Ak + static_cast<std::ptrdiff_t>(ir) * chunks * KS, Bp + static_cast<std::ptrdiff_t>(jr) * chunks * (KS / 2),
                           C + static_cast<std::ptrdiff_t>(ir) * ldc + jr, ldc, accumulate, std::min(MR, mc - ir), std::min(NR, nc - jr));
}

// One thread's share on AMX: C (M x N, rows ldc apart) = or += A · B, K > 0.
template <>
inline void gemm_serial<AmxBf16Operands>(int M, int N, int K, MatrixView<float> A, MatrixView<float> B, float* C,
                                         std::ptrdiff_t ldc, bool accumulate) {
    constexpr int KC = AmxTile::KC, MC = AmxTile::MC, NC = AmxTile::NC, KS = AmxTile::KStep;
    static_assert(AmxTile::NR == PairTile::NR, "AMX's B tiles read gemm_bf16.inl's panels of pairs");
    const AmxTiles tiles;
    std::uint16_t* Ap = scratch_buffer<std::uint16_t, Scratch::gemm_a>(static_cast<std::size_t>(MC) * KC);
    bf16_pair* Bp = scratch_buffer<bf16_pair, Scratch::gemm_b>(static_cast<std::size_t>(KC / 2) * NC);
    for (int j0 = 0; j0 < N; j0 += NC) {
        const int nc = std::min(NC, N - j0);
        for (int k0 = 0; k0 < K; k0 += KC) {
            const int kc = std::min(KC, K - k0), steps = (kc + KS - 1) / KS;
            pack_b_pairs(B, k0, kc, j0, nc, Bp, steps * KS / 2);
            for (int i0 = 0; i0 < M; i0 += MC) {
                const int mc = std::min(MC, M - i0);
                pack_a_amx(A, i0, mc, k0, kc, Ap);
                gemm_blocks_amx(mc, nc, kc, Ap, Bp, C + static_cast<std::ptrdiff_t>(i0) * ldc + j0, ldc, accumulate || k0 > 0);
            }
        }
    }
}

// A whole M x K matrix in AMX's A layout for many products (a Winograd convolution's transformed
// weights): K blocks of KC, in each the panels of 32 rows (M rounded up), in each the steps of 32 k,
// each row's 32 bf16 together. Element (i, k) at amx_a_index(i, k, M, K), counted in bf16 values.
inline std::size_t amx_a_rows(int M) { return static_cast<std::size_t>((M + AmxTile::MR - 1) / AmxTile::MR) * AmxTile::MR; }
inline std::size_t amx_a_index(int i, int k, int M, int K) {
    constexpr int MR = AmxTile::MR, KC = AmxTile::KC, KS = AmxTile::KStep;
    const int k0 = k / KC * KC, chunks = (std::min(KC, K - k0) + KS - 1) / KS, kk = k - k0;
    return static_cast<std::size_t>(k0) * amx_a_rows(M) + static_cast<std::size_t>(i / MR) * MR * chunks * KS +
           (static_cast<std::size_t>(kk / KS) * MR + i % MR) * KS + kk % KS;
}

// C (M x N, rows ldc apart) = or += A · B on the calling thread, A packed whole (amx_a_index).
inline void gemm_serial_amx_a(int M, int N, int K, const std::uint16_t* Ap, MatrixView<float> B, float* C, std::ptrdiff_t ldc,
                              bool accumulate) {
    constexpr int KC = AmxTile::KC, MC = AmxTile::MC, NC = AmxTile::NC, KS = AmxTile::KStep;
    const AmxTiles tiles;
    bf16_pair* Bp = scratch_buffer<bf16_pair, Scratch::gemm_b>(static_cast<std::size_t>(KC / 2) * NC);
    const std::size_t Mp = amx_a_rows(M);
    for (int j0 = 0; j0 < N; j0 += NC) {
        const int nc = std::min(NC, N - j0);
        for (int k0 = 0; k0 < K; k0 += KC) {
            const int kc = std::min(KC, K - k0), steps = (kc + KS - 1) / KS;
            pack_b_pairs(B, k0, kc, j0, nc, Bp, steps * KS / 2);
            const std::uint16_t* Ak = Ap + static_cast<std::size_t>(k0) * Mp;
            for (int i0 = 0; i0 < M; i0 += MC)
                gemm_blocks_amx(std::min(MC, M - i0), nc, kc, Ak + static_cast<std::ptrdiff_t>(i0) * steps * KS, Bp,
                                C + static_cast<std::ptrdiff_t>(i0) * ldc + j0, ldc, accumulate || k0 > 0);
        }
    }
}

template <>
struct PackedProducts<AmxBf16Operands> {
    using value = std::uint16_t;
    static constexpr int run_rows = 8;  // a transform's 16 lanes: 8 rows x 2 columns
    static std::size_t rows(int M) { return amx_a_rows(M); }
    static std::size_t size(int M, int K) {
        constexpr int KS = AmxTile::KStep;
        return amx_a_rows(M) * static_cast<std::size_t>((K + KS - 1) / KS * KS);
    }
    static std::size_t index(int i, int k, int M, int K) { return amx_a_index(i, k, M, K); }
    // The lanes u[j * run_rows + r] of columns k0 + j (k0 even, cs <= 2): row r's two values sit
    // together, rows 32 values apart.
    static void store_run(const float* u, int cs, std::uint16_t* dst) {
        for (int r = 0; r < run_rows; ++r) {
            dst[r * AmxTile::KStep] = static_cast<std::uint16_t>(bf16_bits(u[r]));
            dst[r * AmxTile::KStep + 1] = cs > 1 ? static_cast<std::uint16_t>(bf16_bits(u[run_rows + r])) : 0;
        }
    }
    static void product(int M, int N, int K, const std::uint16_t* Ap, MatrixView<float> B, float* C, std::ptrdiff_t ldc,
                        bool accumulate) {
        gemm_serial_amx_a(M, N, K, Ap, B, C, ldc, accumulate);
    }
    static std::uint64_t weights_fingerprint(const float* w, std::size_t n) { return fingerprint(w, n); }
};

struct AmxGemmTile {  // the units threads split C into
    static constexpr int MR = AmxTile::MR, NR = AmxTile::NR;
};
inline AmxGemmTile gemm_tile_of(Isa, AmxBf16Operands) { return {}; }
