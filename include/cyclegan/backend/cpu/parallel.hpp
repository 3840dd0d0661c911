#pragma once
// Loops over threads for the kernels compiled per instruction set (simd_kernels.hpp). Their body
// is a function of the caller's: Clang does not give the functions it outlines for an OpenMP
// region the caller's target attributes, so vector code written inline in such a region would
// be compiled for the baseline (or refused); called from there, it keeps its own.
#include "../../core/macros.hpp"
#include "tuning.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

// `#pragma omp` without -fopenmp trips -Wunknown-pragmas; this expands to nothing there.
// CYCLEGAN_PARALLEL_FOR(work): the next loop runs on every thread when it touches at least
// CpuTuning::parallel_min_work elements in all, else on this one.
#if defined(_OPENMP)
#define CYCLEGAN_PRAGMA(x) _Pragma(#x)
#define CYCLEGAN_PARALLEL_FOR(work)                                   \
    CYCLEGAN_PRAGMA(omp parallel for schedule(static) if (static_cast<double>(work) >= \
                    static_cast<double>(::cyclegan::cpu_detail::cpu_tuning.parallel_min_work)))
#define CYCLEGAN_PARALLEL_SUM(work, var)                                                \
    CYCLEGAN_PRAGMA(omp parallel for schedule(static) reduction(+ : var) if (static_cast<double>(work) >= \
                    static_cast<double>(::cyclegan::cpu_detail::cpu_tuning.parallel_min_work)))
#else
#define CYCLEGAN_PARALLEL_FOR(work)
#define CYCLEGAN_PARALLEL_SUM(work, var)
#endif

namespace cyclegan::cpu_detail {

// body(i) for i in [0, n), on every thread when the loop does at least CpuTuning::parallel_min_work.
template <class F>
void parallel_for(int n, double work, F&& body) {
    CYCLEGAN_PARALLEL_FOR(work)
    for (int i = 0; i < n; ++i) body(i);
}

// body(thread, threads) once per thread of a parallel region (or once, as thread 0 of 1, below
// the work threshold or without OpenMP).
template <class F>
void parallel_threads(double work, F&& body) {
#if defined(_OPENMP)
    if (work >= static_cast<double>(cpu_tuning.parallel_min_work) && omp_get_max_threads() > 1 && !omp_in_parallel()) {
#pragma omp parallel
        body(omp_get_thread_num(), omp_get_num_threads());
        return;
    }
#endif
    (void)work;
    body(0, 1);
}

}  // namespace cyclegan::cpu_detail
