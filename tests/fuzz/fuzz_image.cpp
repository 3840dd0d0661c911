// libFuzzer harness: decode_image on any bytes, into 1, 3 and 4 channels (scripts/fuzz.sh). A
// refusal is an image_error; anything else (a crash, a sanitizer report, another exception) is a
// finding. Seeds: the corpus tests/images/test_images.py writes.
#include <cstdint>

#include <cyclegan/image/file.hpp>

#include <cstdint>
#include <cstdlib>
#include <vector>

// Images of at most 4 million pixels: larger ones are valid but take longer than a fuzz step
// should under AddressSanitizer.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    cyclegan::set_max_image_pixels(std::uint64_t(1) << 22);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::vector<unsigned char> bytes(data, data + size);
    for (int channels : {1, 3, 4}) {
        try {
            const cyclegan::Image img = cyclegan::decode_image(bytes, channels, "fuzz");
            if (img.pixels.size() != std::size_t(img.width) * img.height * channels || img.width < 1 || img.height < 1)
                std::abort();
        } catch (const cyclegan::image_error&) {
        }
    }
    return 0;
}
