#pragma once
// Matrices as strided views, and Eigen's product on them: the portable GEMM (gemm.hpp picks ours
// where the CPU has AVX2 or AVX-512), and the one for double everywhere.
#include <cstddef>

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
