// cyclegan_kernels, part 2: the Translator<cpu>, the image codecs (decode_image, probe_image,
// write_image, with stb) and the rest of what reads and writes files (checkpoints, safetensors,
// reports, datasets, preprocessing), apart from part 1 so that a program that uses none of it links
// none of this (nor libtiff). Built by CMake only (core/compiled.hpp).
#define CYCLEGAN_BUILDING_IO 1
#include <cyclegan/io.hpp>
