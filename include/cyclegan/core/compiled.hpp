#pragma once
// Header-only, or compiled once: the switch (README, "Use it from another CMake project";
// docs/architecture.md, "Kernels compiled once"). CMake's cyclegan::cyclegan defines
// CYCLEGAN_COMPILED_KERNELS for its users and links cyclegan_kernels, built from src/cpu_kernels.cpp
// (which defines CYCLEGAN_BUILDING_KERNELS: the kernels, the networks built by name and the models
// the programs train) and src/io.cpp (CYCLEGAN_BUILDING_IO: the Translator, the image codecs and the
// rest of the file, dataset and report code), two objects, so that a program that uses none of the
// second links none of it (nor stb or libtiff). A program that only puts include/ on its path defines none of
// these, and every header then holds its definitions, as a header-only library's do.

#if defined(CYCLEGAN_COMPILED_KERNELS) && CYCLEGAN_COMPILED_KERNELS
// Templates the library instantiates: declared (extern template), or defined in the file that builds them.
#if defined(CYCLEGAN_BUILDING_KERNELS)
#define CYCLEGAN_DETAIL_INSTANCE template
#else
#define CYCLEGAN_DETAIL_INSTANCE extern template
#endif
#if defined(CYCLEGAN_BUILDING_IO)
#define CYCLEGAN_DETAIL_IO_INSTANCE template
#define CYCLEGAN_DETAIL_DECLARATIONS_ONLY 0
#else
#define CYCLEGAN_DETAIL_IO_INSTANCE extern template
#define CYCLEGAN_DETAIL_DECLARATIONS_ONLY 1  // plain functions the library defines: declarations only
#endif
#define CYCLEGAN_COMPILED_FUNCTION  // one definition, in cyclegan_kernels
// The CPU kernels' code (backend/cpu/simd_kernels.hpp, the kernel sets) is then not even read: the
// entry-point headers declare them only. A file that calls the kernels' internals itself (the
// kernel tests) defines CYCLEGAN_KERNEL_DEFINITIONS before any include.
#if !defined(CYCLEGAN_BUILDING_KERNELS) && !defined(CYCLEGAN_KERNEL_DEFINITIONS)
#define CYCLEGAN_DETAIL_KERNELS_DECLARED 1
#endif
#else
#define CYCLEGAN_DETAIL_DECLARATIONS_ONLY 0
#define CYCLEGAN_COMPILED_FUNCTION inline
#endif
#ifndef CYCLEGAN_DETAIL_KERNELS_DECLARED
#define CYCLEGAN_DETAIL_KERNELS_DECLARED 0
#endif
