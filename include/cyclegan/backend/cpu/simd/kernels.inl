// Every kernel of a kernel set, written against the vector type `Simd` that the includer defined
// just before (simd/avx512.inl or simd/avx2.inl). Included once per set inside its target region
// (simd_kernels.hpp); no include guard, no includes of library or standard headers.
#include "copy.inl"
#include "fingerprint.inl"
#include "gemm.inl"
#include "conv_thin.inl"
#include "winograd.inl"
#include "loops.inl"
