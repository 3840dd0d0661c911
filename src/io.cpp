// cyclegan_kernels, part 2: the Translator<cpu> and the image codecs (decode_image, probe_image,
// write_image, with stb), apart from part 1 so that a program that reads no image links none of
// this (nor libtiff). Built by CMake only (core/compiled.hpp).
#define CYCLEGAN_BUILDING_IO 1
#include <cyclegan/io.hpp>
