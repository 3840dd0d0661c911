// The CPU kernels, the networks chosen by name and the Translator, compiled once for the CPU into
// the static library cyclegan_kernels (include/cyclegan/backend/cpu/compiled.hpp has the list and
// why). Built by CMake only; a program that uses the headers alone never compiles this file.
#define CYCLEGAN_BUILDING_KERNELS 1
#include <cyclegan/cyclegan.hpp>
#include <cyclegan/translator.hpp>
