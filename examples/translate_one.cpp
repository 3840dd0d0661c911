// The three lines of docs/converting.md: run a generator trained here (or converted from the
// reference implementation) on one image, from your own program.
//
//   cyclegan-translate-one horse2zebra.safetensors horse.jpg zebra.png
#include <cyclegan/io.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s MODEL.safetensors INPUT_IMAGE OUTPUT.png\n", argv[0]);
        return 2;
    }
    try {
        using namespace cyclegan;
        cpu dev;
        auto G = Translator<cpu>::load(dev, argv[1], Direction::AtoB);  // the architecture is in the file
        write_image(argv[3], G(read_image(argv[2], 4)));                // any size and channels; alpha kept
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", cyclegan::printable_error(e).c_str());  // paths as printable() shows them
        return 1;
    }
    return 0;
}
