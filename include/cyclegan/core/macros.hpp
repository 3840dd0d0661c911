#pragma once
// Portability macros shared by every header.

// Functions that run on the host and, when compiled by nvcc, on the device too.
#if defined(__CUDACC__)
#define CYCLEGAN_HD __host__ __device__
#else
#define CYCLEGAN_HD
#endif

// `#pragma omp` without -fopenmp trips -Wunknown-pragmas; this expands to nothing there.
#if defined(_OPENMP)
#define CYCLEGAN_PRAGMA(x) _Pragma(#x)
#define CYCLEGAN_PARALLEL_FOR CYCLEGAN_PRAGMA(omp parallel for schedule(static))
#define CYCLEGAN_PARALLEL_FOR_COLLAPSE2 CYCLEGAN_PRAGMA(omp parallel for collapse(2) schedule(static))
#else
#define CYCLEGAN_PARALLEL_FOR
#define CYCLEGAN_PARALLEL_FOR_COLLAPSE2
#endif
