// cyclegan_kernels, part 1: the CPU kernels for float and double and the networks built by name
// (include/cyclegan/backend/cpu/compiled.hpp has the list and why). Built by CMake only; a program
// that uses the headers alone never compiles this file.
#define CYCLEGAN_BUILDING_KERNELS 1
#include <cyclegan/cyclegan.hpp>
