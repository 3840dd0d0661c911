#pragma once
// Portability macros shared by every header.

// Functions that run on the host and, when compiled by nvcc, on the device too.
#if defined(__CUDACC__)
#define CYCLEGAN_HD __host__ __device__
#else
#define CYCLEGAN_HD
#endif

// CYCLEGAN_UNROLL(n): unroll the next loop n times (GCC's and Clang's pragmas; nvcc's front end,
// which compiles the host code of .cu files, knows neither and would warn, so there it is nothing).
#define CYCLEGAN_STRINGIFY_PRAGMA(x) _Pragma(#x)
#if defined(__CUDACC__)
#define CYCLEGAN_UNROLL(n)
#elif defined(__clang__)
#define CYCLEGAN_UNROLL(n) CYCLEGAN_STRINGIFY_PRAGMA(unroll n)
#else
#define CYCLEGAN_UNROLL(n) CYCLEGAN_STRINGIFY_PRAGMA(GCC unroll n)
#endif

// `#pragma omp` without -fopenmp trips -Wunknown-pragmas; this expands to nothing there.
// CYCLEGAN_PARALLEL_FOR(work): the next loop runs on every thread when it touches at least
// CYCLEGAN_PARALLEL_MIN_WORK elements in all, else on this one: waking threads costs microseconds,
// more than a small tensor's whole loop.
#ifndef CYCLEGAN_PARALLEL_MIN_WORK
#define CYCLEGAN_PARALLEL_MIN_WORK 32768
#endif
#if defined(_OPENMP)
#define CYCLEGAN_PRAGMA(x) _Pragma(#x)
#define CYCLEGAN_PARALLEL_FOR(work) \
    CYCLEGAN_PRAGMA(omp parallel for schedule(static) if (static_cast<double>(work) >= CYCLEGAN_PARALLEL_MIN_WORK))
#define CYCLEGAN_PARALLEL_SUM(work, var) \
    CYCLEGAN_PRAGMA(omp parallel for schedule(static) reduction(+ : var) if (static_cast<double>(work) >= CYCLEGAN_PARALLEL_MIN_WORK))
#else
#define CYCLEGAN_PARALLEL_FOR(work)
#define CYCLEGAN_PARALLEL_SUM(work, var)
#endif
