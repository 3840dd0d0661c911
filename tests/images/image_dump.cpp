// For tests/images/test_images.py: decodes each file given with read_image into C channels and
// writes, per file, a line "W H C" and then W*H*C bytes to standard output; or, for a file it
// cannot read, "error <message>" on one line. Usage: image-dump C FILE...
#include <cyclegan/image/file.hpp>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: image-dump CHANNELS FILE...\n");
        return 2;
    }
    const int channels = std::atoi(argv[1]);
    for (int i = 2; i < argc; ++i) {
        try {
            const cyclegan::Image img = cyclegan::read_image(argv[i], channels);
            std::printf("%d %d %d\n", img.width, img.height, img.channels);
            std::fwrite(img.pixels.data(), 1, img.pixels.size(), stdout);
        } catch (const std::exception& e) {
            std::printf("error %s\n", e.what());
        }
    }
    return 0;
}
