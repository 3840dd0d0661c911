// For tests/images/test_images.py: decodes each file given with read_image into C channels and
// writes, per file, a line "W H C" and then W*H*C bytes to standard output; or, for a file it
// cannot read, "error <message>" on one line. Usage: image-dump C FILE...
//
// image-dump --regions C FILE... reads TIFFs by parts instead (TiffReader, regions of 7x5 pixels)
// and writes them as 8-bit images the same way (16-bit samples: the high byte, as read_image
// keeps); "nostream <why>" for a TIFF that does not stream. C is 3 (colour) or 4 (and alpha).
//
// image-dump --copy C IN OUT reads IN in C channels and writes it to OUT (write_image).
#include <cyclegan/image/file.hpp>
#include <cyclegan/image/tiff_stream.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
    if (argc == 5 && std::strcmp(argv[1], "--copy") == 0) {
        try {
            cyclegan::write_image(argv[4], cyclegan::read_image(argv[3], std::atoi(argv[2])));
            return 0;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "error %s\n", e.what());
            return 1;
        }
    }
    const bool regions = argc > 1 && std::strcmp(argv[1], "--regions") == 0;
    if (argc < 3 + regions) {
        std::fprintf(stderr, "usage: image-dump [--regions] CHANNELS FILE...\n");
        return 2;
    }
    const int channels = std::atoi(argv[1 + regions]);
    for (int i = 2 + regions; i < argc; ++i) {
        try {
            cyclegan::Image img;
            if (!regions) {
                img = cyclegan::read_image(argv[i], channels);
            } else {
#if defined(CYCLEGAN_HAVE_TIFF)
                cyclegan::TiffReader r(argv[i]);
                if (!r.streams()) {
                    std::printf("nostream %s\n", r.why_not().c_str());
                    continue;
                }
                img = cyclegan::Image(r.width(), r.height(), channels);
                const int colours = channels >= 3 ? 3 : 1;
                const bool alpha = channels % 2 == 0;
                for (int y0 = 0; y0 < r.height(); y0 += 5)
                    for (int x0 = 0; x0 < r.width(); x0 += 7) {
                        const int y1 = std::min(y0 + 5, r.height()), x1 = std::min(x0 + 7, r.width());
                        const std::size_t plane = std::size_t(y1 - y0) * (x1 - x0);
                        std::vector<float> v(plane * channels);
                        r.read(y0, y1, x0, x1, colours, alpha, v.data());
                        for (int c = 0; c < channels; ++c)
                            for (std::size_t p = 0; p < plane; ++p) {
                                const double level = (double(v[c * plane + p]) + 1) * (r.bits() == 8 ? 127.5 : 32767.5);
                                const long q = std::lround(level);
                                img.at(y0 + int(p) / (x1 - x0), x0 + int(p) % (x1 - x0), c) =
                                    static_cast<std::uint8_t>(r.bits() == 8 ? q : q >> 8);
                            }
                    }
#else
                std::printf("nostream this build has no TIFF support\n");
                continue;
#endif
            }
            std::printf("%d %d %d\n", img.width, img.height, img.channels);
            std::fwrite(img.pixels.data(), 1, img.pixels.size(), stdout);
        } catch (const std::exception& e) {
            std::printf("error %s\n", e.what());
        }
    }
    return 0;
}
