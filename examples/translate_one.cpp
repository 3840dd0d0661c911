// The ten lines of docs/converting.md: run a generator converted from the reference
// implementation (or trained here) on one image, from your own program.
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
        Network<ResnetGenerator9<cpu>> G(dev, ResnetGenerator9<cpu>(), "model");  // the reference's resnet_9blocks
        load_network(argv[1], G, "G_A.");                                         // G_A: A -> B
        G.eval();
        const Image in = read_image(argv[2], 3);                                  // any size, as RGB
        write_image(argv[3], translate_image(G, dev, in, ResnetGenerator9<cpu>::size_rule));  // padded and cropped back
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
