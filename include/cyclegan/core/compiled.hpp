#pragma once
// Header-only, or compiled once: the switch (README, "Use it from another CMake project";
// docs/architecture.md, "Compiled once"). CMake's cyclegan::cyclegan defines CYCLEGAN_COMPILED_KERNELS
// for its users and links cyclegan_kernels (src/cpu_kernels.cpp, which also defines
// CYCLEGAN_BUILDING_KERNELS); a program that only puts include/ on its path defines neither, and
// every header then holds its definitions, as a header-only library's do.

#if defined(CYCLEGAN_COMPILED_KERNELS) && CYCLEGAN_COMPILED_KERNELS
// Templates the library instantiates: declared here (extern template), defined in the library.
#if defined(CYCLEGAN_BUILDING_KERNELS)
#define CYCLEGAN_DETAIL_INSTANCE template
#define CYCLEGAN_DETAIL_DECLARATIONS_ONLY 0
#else
#define CYCLEGAN_DETAIL_INSTANCE extern template
#define CYCLEGAN_DETAIL_DECLARATIONS_ONLY 1  // plain functions the library defines: declarations only
#endif
#define CYCLEGAN_COMPILED_FUNCTION  // one definition, in cyclegan_kernels
#else
#define CYCLEGAN_DETAIL_DECLARATIONS_ONLY 0
#define CYCLEGAN_COMPILED_FUNCTION inline
#endif
