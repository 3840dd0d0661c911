// Compiled by benchmarks/compile_times.py to time a user's build; not run.
// The README's Translator program: load a model, read an image, translate it, write the result.
#include <cyclegan/io.hpp>
int main(int argc, char** argv) {
    cyclegan::cpu dev;
    auto horse2zebra = cyclegan::Translator<cyclegan::cpu>::load(dev, argv[1], cyclegan::Direction::AtoB);
    cyclegan::write_image(argv[3], horse2zebra(cyclegan::read_image(argv[2], 4)));
}
