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

