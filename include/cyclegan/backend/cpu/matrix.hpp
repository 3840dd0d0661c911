#pragma once
// Matrices as strided views, and Eigen's product on them: the portable GEMM (gemm.hpp picks ours
// where the CPU has AVX2 or AVX-512), and the one for double everywhere.
#include <cstddef>
#include <type_traits>

#include <Eigen/Core>

namespace cyclegan::cpu_detail {

// Element (i, j) at data[i * row_step + j * col_step]; one of the steps is 1.
template <class T>
struct MatrixView {
    const T* data;
    std::ptrdiff_t row_step, col_step;
    MatrixView transposed() const { return {data, col_step, row_step}; }
    const T& operator()(std::ptrdiff_t i, std::ptrdiff_t j) const { return data[i * row_step + j * col_step]; }
};
template <class T>
MatrixView<T> row_major(const T* data, std::ptrdiff_t cols) {
    return {data, cols, 1};
}

// How a float product reads its operands: the device's Precision (core/precision.hpp) as the kernel
// set in use carries it out (operands_for in simd_kernels.hpp). Each is a tag type, so a kernel
// set's products are compiled once per way, and a set only has the ways it can run.
struct F32Operands {};          // as they are
struct RoundedBf16Operands {};  // each rounded to bf16 while packed, then multiplied and summed in
                                // float: bf16's arithmetic on any CPU (products of bf16 values are
                                // exact in float)
struct PairedBf16Operands {};   // converted to bf16 pairs along K while packed, products on
                                // VDPBF16PS (the avx512_bf16 set): the same numbers, in hardware
struct AmxBf16Operands {};      // converted to bf16 while packed in AMX's tiles, products on
                                // TDPBF16PS (the amx_bf16 set): the same numbers again
enum class GemmOperands { f32, rounded_bf16, paired_bf16, amx_bf16 };

template <class Ops>
inline constexpr bool rounds_to_bf16 = !std::is_same_v<Ops, F32Operands>;
template <class Ops>
inline constexpr GemmOperands operands_kind = std::is_same_v<Ops, F32Operands>           ? GemmOperands::f32
                                              : std::is_same_v<Ops, RoundedBf16Operands> ? GemmOperands::rounded_bf16
                                              : std::is_same_v<Ops, PairedBf16Operands>  ? GemmOperands::paired_bf16
                                                                                         : GemmOperands::amx_bf16;

// C (M x N, row-major, rows ldc apart) = A · B, or += with accumulate.
template <class T>
void gemm_eigen(int M, int N, int K, MatrixView<T> A, MatrixView<T> B, T* C, std::ptrdiff_t ldc, bool accumulate) {
    using Row = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using Col = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
    Eigen::Map<Row, 0, Eigen::OuterStride<>> c(C, M, N, Eigen::OuterStride<>(ldc));
    auto with_b = [&](const auto& a) {
        auto run = [&](const auto& b) {
            if (accumulate) c.noalias() += a * b;
            else c.noalias() = a * b;
        };
        if (B.col_step == 1) run(Eigen::Map<const Row, 0, Eigen::OuterStride<>>(B.data, K, N, Eigen::OuterStride<>(B.row_step)));
        else run(Eigen::Map<const Col, 0, Eigen::OuterStride<>>(B.data, K, N, Eigen::OuterStride<>(B.col_step)));
    };
    if (A.col_step == 1) with_b(Eigen::Map<const Row, 0, Eigen::OuterStride<>>(A.data, M, K, Eigen::OuterStride<>(A.row_step)));
    else with_b(Eigen::Map<const Col, 0, Eigen::OuterStride<>>(A.data, M, K, Eigen::OuterStride<>(A.col_step)));
}

}  // namespace cyclegan::cpu_detail
