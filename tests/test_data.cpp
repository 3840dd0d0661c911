// Image files, preprocessing, dataset folders and the background loader: against files written
// here, by hand-computed sizes and pixels, and against an uninterrupted run for resumption.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "support/raw_text.hpp"
#include "support/temp_dir.hpp"
#include <doctest/doctest.h>

#include <cyclegan/backend/cpu/cpu.hpp>
#include <cyclegan/data/folder_dataset.hpp>
#include <cyclegan/data/loader.hpp>
#include <cyclegan/data/preprocess.hpp>
#include <cyclegan/image/channels.hpp>
#include <cyclegan/image/chw.hpp>
#include <cyclegan/image/file.hpp>
#include <cyclegan/image/geometry.hpp>
#include <cyclegan/image/image.hpp>
#include <cyclegan/image/tiff_stream.hpp>
#include <cyclegan/report/html_report.hpp>

// stb's encoders for test files in formats the library reads but does not write (BMP, TGA): the
// test's own, since a build with the compiled kernels leaves stb out of the library's headers.
#if !defined(INCLUDE_STB_IMAGE_WRITE_H)
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#if __has_include(<stb_image_write.h>)
#include <stb_image_write.h>
#else
#include <stb/stb_image_write.h>
#endif
#endif

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

using namespace cyclegan;
namespace fs = std::filesystem;

namespace {

// Test folders carry this file's tag.
struct TempDir : test::TempDir {
    TempDir() : test::TempDir("cyclegan_test_data") {}
};

// Every pixel distinct enough to tell crops and flips apart.
Image pattern(int w, int h, int c, int salt = 0) {
    Image img(w, h, c);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < c; ++k) img.at(y, x, k) = static_cast<std::uint8_t>((x * 7 + y * 13 + k * 50 + salt * 31) % 256);
    return img;
}

// Smooth, so that JPEG keeps it close.
Image gradient(int w, int h, int c) {
    Image img(w, h, c);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < c; ++k) img.at(y, x, k) = static_cast<std::uint8_t>((x * 255 / std::max(w - 1, 1) + y * 64 / h + k * 30) % 256);
    return img;
}

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << bytes;
}

template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no exception)";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

double mean_abs_diff(const Image& a, const Image& b) {
    REQUIRE(a.pixels.size() == b.pixels.size());
    double s = 0;
    for (std::size_t i = 0; i < a.pixels.size(); ++i) s += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
    return s / a.pixels.size();
}

// A checkerboard of 0 and 255 with squares of one pixel.
Image checkerboard(int w, int h) {
    Image img(w, h, 1);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) img.at(y, x, 0) = (x + y) % 2 ? 255 : 0;
    return img;
}

}  // namespace

// ---- image files ----------------------------------------------------------------------------

TEST_CASE("PNG round trip is exact, JPEG close, for 1, 3 and 4 channels") {
    TempDir dir;
    for (int c : {1, 3, 4}) {
        CAPTURE(c);
        const Image img = pattern(37, 23, c);
        write_image(dir / "a.png", img);
        CHECK(read_image(dir / "a.png", c) == img);
        const ImageInfo info = probe_image(dir / "a.png");
        CHECK(info.width == 37);
        CHECK(info.height == 23);
        CHECK(info.channels == c);

        const Image smooth = gradient(64, 48, c);
        write_image(dir / "a.JPG", smooth);  // the extension in any case
        const Image back = read_image(dir / "a.JPG", c);
        CHECK(back.width == 64);
        CHECK(back.height == 48);
        Image expected = smooth;
        if (c == 4)  // JPEG has no alpha: written without it, read back opaque
            for (std::size_t i = 3; i < expected.pixels.size(); i += 4) expected.pixels[i] = 255;
        CHECK(mean_abs_diff(back, expected) < 2.0);
        CHECK(back != expected);  // it is lossy: proves this really went through JPEG
    }
    // Overwriting replaces the old file and leaves no temporary file behind.
    write_image(dir / "a.png", pattern(5, 4, 3, 1));
    CHECK(read_image(dir / "a.png", 3) == pattern(5, 4, 3, 1));
    int files = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) files += e.is_regular_file();
    CHECK(files == 2);
}

TEST_CASE("channel conversions: grey to RGB replicates, RGB to grey is luminance, alpha dropped or opaque") {
    TempDir dir;
    const Image grey = pattern(9, 7, 1);
    write_image(dir / "grey.png", grey);
    const Image rgb = read_image(dir / "grey.png", 3);
    for (int y = 0; y < 7; ++y)
        for (int x = 0; x < 9; ++x)
            for (int c = 0; c < 3; ++c) CHECK(rgb.at(y, x, c) == grey.at(y, x, 0));

    Image colours(3, 1, 3);
    const int values[3][3] = {{255, 0, 0}, {0, 255, 0}, {10, 200, 90}};
    for (int x = 0; x < 3; ++x)
        for (int c = 0; c < 3; ++c) colours.at(0, x, c) = static_cast<std::uint8_t>(values[x][c]);
    write_image(dir / "rgb.png", colours);
    const Image y = read_image(dir / "rgb.png", 1);
    REQUIRE(y.channels == 1);
    for (int x = 0; x < 3; ++x) {
        const double luma = 0.299 * values[x][0] + 0.587 * values[x][1] + 0.114 * values[x][2];
        CHECK(std::abs(y.at(0, x, 0) - luma) <= 1.5);
    }
    const Image rgba_from_rgb = read_image(dir / "rgb.png", 4);
    for (int x = 0; x < 3; ++x) {
        CHECK(rgba_from_rgb.at(0, x, 3) == 255);
        CHECK(rgba_from_rgb.at(0, x, 0) == values[x][0]);
    }

    Image rgba = pattern(6, 5, 4);
    write_image(dir / "rgba.png", rgba);
    const Image no_alpha = read_image(dir / "rgba.png", 3);
    for (int yy = 0; yy < 5; ++yy)
        for (int x = 0; x < 6; ++x)
            for (int c = 0; c < 3; ++c) CHECK(no_alpha.at(yy, x, c) == rgba.at(yy, x, c));

    CHECK_THROWS_AS(read_image(dir / "rgba.png", 2), std::invalid_argument);
}

TEST_CASE("BMP and TGA files are read") {
    TempDir dir;
    const Image img = pattern(11, 6, 3);
    REQUIRE(stbi_write_bmp((dir / "a.bmp").c_str(), img.width, img.height, 3, img.pixels.data()));
    REQUIRE(stbi_write_tga((dir / "a.tga").c_str(), img.width, img.height, 3, img.pixels.data()));
    CHECK(read_image(dir / "a.bmp", 3) == img);
    CHECK(read_image(dir / "a.tga", 3) == img);
    CHECK(probe_image(dir / "a.bmp").width == 11);
}

TEST_CASE("missing, truncated and corrupt files throw image_error naming the file") {
    TempDir dir;
    SUBCASE("missing file, and a folder") {
        const auto what = error_of([&] { read_image(dir / "nope.png", 3); });
        CHECK(contains(what, (dir / "nope.png").string()));
        CHECK(contains(what, "no such file"));
        CHECK_THROWS_AS(read_image(dir.path, 3), image_error);
        CHECK_THROWS_AS(probe_image(dir / "nope.png"), image_error);
    }
    SUBCASE("truncated PNG") {
        write_image(dir / "cut.png", pattern(120, 90, 3));
        const std::string bytes = read_all(dir / "cut.png");
        write_all(dir / "cut.png", bytes.substr(0, bytes.size() / 2));
        CHECK_THROWS_AS(read_image(dir / "cut.png", 3), image_error);
        const auto what = error_of([&] { read_image(dir / "cut.png", 3); });
        CHECK(contains(what, (dir / "cut.png").string()));
        CHECK(contains(what, "PNG"));
        // The header is intact: probe_image accepts it; only decoding finds the damage.
        CHECK(probe_image(dir / "cut.png").width == 120);
    }
    SUBCASE("corrupt JPEG: bytes overwritten in the middle") {
        write_image(dir / "bad.jpg", gradient(96, 64, 3));
        std::string bytes = read_all(dir / "bad.jpg");
        for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bytes[i] = '\xFF';
        write_all(dir / "bad.jpg", bytes);
        const auto what = error_of([&] { read_image(dir / "bad.jpg", 3); });
        CHECK_THROWS_AS(read_image(dir / "bad.jpg", 3), image_error);
        CHECK(contains(what, (dir / "bad.jpg").string()));
        CHECK(contains(what, "JPEG"));
    }
    SUBCASE("JPEG whose scan uses a Huffman table the file does not define") {
        // stb_image 2.27 would decode with the uninitialised table: a crash, or pixels that vary.
        write_image(dir / "tables.jpg", gradient(32, 24, 3));
        std::string bytes = read_all(dir / "tables.jpg");
        const std::size_t sos = bytes.find("\xFF\xDA");
        REQUIRE(sos != std::string::npos);
        CHECK(read_image(dir / "tables.jpg", 3).width == 32);  // as written: every table defined
        bytes[sos + 8] = '\x23';  // the second component: DC table 2, AC table 3, never defined
        write_all(dir / "tables.jpg", bytes);
        const auto what = error_of([&] { read_image(dir / "tables.jpg", 3); });
        CHECK(contains(what, (dir / "tables.jpg").string()));
        CHECK(contains(what, "a scan uses a Huffman table the file does not define"));
    }
    SUBCASE("JPEG whose components use a quantisation table the file does not define, or are in no scan") {
        // stb_image 2.27 would multiply by the uninitialised table, or return a buffer it never wrote.
        write_image(dir / "q.jpg", gradient(32, 24, 3));  // DQT 0 and 1; one scan of all three components
        const std::string good = read_all(dir / "q.jpg");
        const std::size_t sof = good.find("\xFF\xC0"), sos = good.find("\xFF\xDA");
        REQUIRE(sof != std::string::npos);
        REQUIRE(sos != std::string::npos);
        REQUIRE(good[sof + 9] == 3);
        CHECK(read_image(dir / "q.jpg", 3).width == 32);
        std::string bytes = good;
        bytes[sof + 12 + 3 * 2] = '\x03';  // the third component's Tq: table 3, never defined
        write_all(dir / "q.jpg", bytes);
        auto what = error_of([&] { read_image(dir / "q.jpg", 3); });
        CHECK(contains(what, (dir / "q.jpg").string()));
        CHECK(contains(what, "a scan uses a quantisation table the file does not define"));
        bytes = good;
        bytes[sos + 5 + 2 * 2] = bytes[sos + 5 + 2 * 1];  // the scan names the second component twice, the third never
        write_all(dir / "q.jpg", bytes);
        what = error_of([&] { read_image(dir / "q.jpg", 3); });
        CHECK(contains(what, "a colour component is in no scan"));
    }
    SUBCASE("progressive JPEG whose component's quantisation table is never defined") {
        // tests/fuzz/regressions/image/jpeg_progressive_quantisation_table_undefined.jpg: Pillow's
        // progressive JPEG with the third component's Tq patched to 2. stb dequantises at the end.
        const fs::path file = fs::path(CYCLEGAN_SOURCE_DIR) / "tests/fuzz/regressions/image/jpeg_progressive_quantisation_table_undefined.jpg";
        std::string bytes = read_all(file);
        const std::size_t sof = bytes.find("\xFF\xC2");
        REQUIRE(sof != std::string::npos);
        const auto what = error_of([&] { read_image(file, 3); });
        CHECK(contains(what, "a component uses a quantisation table the file does not define"));
        bytes[sof + 12 + 3 * 2] = '\x01';  // as Pillow wrote it: table 1, defined
        write_all(dir / "p.jpg", bytes);
        CHECK(read_image(dir / "p.jpg", 3).width == 40);
    }
    SUBCASE("palette BMP whose pixels use colours past its palette") {
        // stb_image 2.27 would look the index up in its palette table past the colours it read.
        auto bmp = [](int colours, int bits, std::uint8_t index) {  // 5x2, BITMAPINFOHEADER, every pixel `index`
            const int width = 5, row = (width * bits + 31) / 32 * 4, offset = 14 + 40 + 4 * colours;
            std::string b(static_cast<std::size_t>(offset + 2 * row), '\0');
            auto put = [&](std::size_t at, std::uint32_t v, int n) {
                for (int i = 0; i < n; ++i) b[at + i] = static_cast<char>(v >> (8 * i));
            };
            b[0] = 'B', b[1] = 'M';
            put(2, static_cast<std::uint32_t>(b.size()), 4), put(10, offset, 4), put(14, 40, 4);
            put(18, width, 4), put(22, 2, 4), put(26, 1, 2), put(28, bits, 2), put(46, colours, 4);
            for (int c = 0; c < colours; ++c) put(54 + 4 * c, 0x010203u * c, 4);
            for (int y = 0; y < 2; ++y)
                for (int x = 0; x < width; ++x) {
                    const std::size_t at = offset + y * row + x * bits / 8;
                    const int shift = bits == 8 ? 0 : bits == 4 ? (x % 2 ? 0 : 4) : 7 - x % 8;
                    b[at] = static_cast<char>(b[at] | (index << shift));
                }
            return b;
        };
        struct Case {
            int colours, bits, index;
            bool fits;
        };
        for (const Case& k : {Case{16, 8, 15, true}, Case{16, 8, 16, false}, Case{16, 8, 200, false}, Case{3, 4, 2, true},
                              Case{3, 4, 3, false}, Case{1, 1, 0, true}, Case{1, 1, 1, false}, Case{2, 1, 1, true}}) {
            const int colours = k.colours, bits = k.bits, index = k.index;
            const bool fits = k.fits;
            CAPTURE(colours);
            CAPTURE(bits);
            CAPTURE(index);
            write_all(dir / "p.bmp", bmp(colours, bits, static_cast<std::uint8_t>(index)));
            if (fits) {
                const Image img = read_image(dir / "p.bmp", 3);
                CHECK(img.width == 5);
                CHECK(img.at(1, 4, 0) == index);  // colour k is (R, G, B) = (k, 2k, 3k)
                CHECK(img.at(1, 4, 2) == 3 * index);
            } else {
                const auto what = error_of([&] { read_image(dir / "p.bmp", 3); });
                CHECK(contains(what, (dir / "p.bmp").string()));
                CHECK(contains(what, "a pixel uses colour " + std::to_string(index) + " of a palette of " + std::to_string(colours)));
            }
        }
    }
    SUBCASE("text with a .jpg name") {
        write_all(dir / "notes.jpg", "this is not an image at all");
        const auto what = error_of([&] { read_image(dir / "notes.jpg", 3); });
        CHECK(contains(what, (dir / "notes.jpg").string()));
        CHECK(contains(what, "not a known image format"));
        CHECK_THROWS_AS(probe_image(dir / "notes.jpg"), image_error);
        write_all(dir / "empty.png", "");
        CHECK(contains(error_of([&] { read_image(dir / "empty.png", 3); }), "empty file"));
    }
}

TEST_CASE("the most pixels an image may claim is a run-time setting: larger headers are refused in every format") {
    TempDir dir;
    CHECK(max_image_pixels() == std::uint64_t(1) << 28);
    struct Restore {  // the setting is the process's: the other tests see the default again
        ~Restore() { set_max_image_pixels(std::uint64_t(1) << 28); }
    } restore;
    const Image img = pattern(120, 90, 3);
    write_image(dir / "a.png", img);
    REQUIRE(stbi_write_bmp((dir / "a.bmp").c_str(), img.width, img.height, 3, img.pixels.data()));
    write_all(dir / "a.ppm", "P6\n120 90\n255\n" + std::string(img.pixels.begin(), img.pixels.end()));
    const char* files[] = {"a.png", "a.bmp", "a.ppm"};

    set_max_image_pixels(120 * 90);  // exactly the image: read
    CHECK(max_image_pixels() == 120 * 90);
    for (const char* f : files) CHECK(read_image(dir / f, 3) == img);
    set_max_image_pixels(120 * 90 - 1);  // one pixel less: refused by name, before decoding
    for (const char* f : files) {
        CAPTURE(f);
        const auto what = error_of([&] { read_image(dir / f, 3); });
        CHECK(contains(what, (dir / f).string()));
        CHECK(contains(what, "its header says 120x90, empty or over 10799 pixels"));
    }
    // A setting that cannot work is refused and leaves the setting as it was.
    for (const std::uint64_t nonsense : {std::uint64_t(0), (std::uint64_t(1) << 48) + 1}) {
        CAPTURE(nonsense);
        CHECK_THROWS_AS(set_max_image_pixels(nonsense), std::invalid_argument);
        CHECK(max_image_pixels() == 120 * 90 - 1);
    }
    CHECK(contains(error_of([&] { set_max_image_pixels(0); }), "set_max_image_pixels: the limit must be between 1 and 2^48"));
    set_max_image_pixels(std::uint64_t(1) << 48);
    CHECK(read_image(dir / "a.png", 3) == img);
}

TEST_CASE("write_image: an unwritable target throws image_error naming it and leaves nothing behind") {
    TempDir dir;
    const Image img = pattern(4, 4, 3);
    SUBCASE("missing folder") {
        const auto target = dir / "no_such_folder" / "out.png";
        const auto what = error_of([&] { write_image(target, img); });
        CHECK(contains(what, target.string()));
        CHECK_THROWS_AS(write_image(target, img), image_error);
    }
    SUBCASE("the folder is a file") {
        write_all(dir / "file", "x");
        const auto target = dir / "file" / "out.png";
        CHECK(contains(error_of([&] { write_image(target, img); }), target.string()));
    }
    SUBCASE("a read-only folder") {
        fs::create_directory(dir / "ro");
        fs::permissions(dir / "ro", fs::perms::owner_read | fs::perms::owner_exec);
        if (::geteuid() == 0)  // root writes anywhere
            CHECK_NOTHROW(write_image(dir / "ro" / "out.png", img));
        else
            CHECK(contains(error_of([&] { write_image(dir / "ro" / "out.png", img); }), (dir / "ro" / "out.png").string()));
        fs::permissions(dir / "ro", fs::perms::owner_all);
    }
    SUBCASE("the target is a folder: it stays, and no temporary file is left") {
        fs::create_directory(dir / "x.png");
        CHECK_THROWS_AS(write_image(dir / "x.png", img), image_error);
        CHECK(fs::is_directory(dir / "x.png"));
        int entries = 0;
        for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++entries;
        CHECK(entries == 1);
    }
    SUBCASE("unknown extension, invalid image") {
        CHECK(contains(error_of([&] { write_image(dir / "a.gif", img); }), "unsupported extension"));
        Image broken = img;
        broken.pixels.pop_back();
        CHECK_THROWS_AS(write_image(dir / "a.png", broken), image_error);
        CHECK_FALSE(fs::exists(dir / "a.png"));
    }
}

#if defined(CYCLEGAN_HAVE_TIFF)
namespace {
// Planes of `channels` x h x w floats on the levels of `bits`, distinct per pixel and channel.
std::vector<float> levels(int channels, int h, int w, int bits, int salt) {
    const std::size_t top = bits == 8 ? 255 : 65535;
    const float half = bits == 8 ? 127.5f : 32767.5f;  // to_chw's v / 127.5 - 1 and its 16-bit twin
    std::vector<float> v(std::size_t(channels) * h * w);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 7919 + salt * 104729) % (top + 1)) / half - 1.0f;
    return v;
}
// [c, y0:y0+h, x0:x0+w] of planes of `height` x `width`.
std::vector<float> region_of(const std::vector<float>& planes, int channels, int height, int width, int y0, int x0, int h, int w) {
    std::vector<float> out;
    for (int c = 0; c < channels; ++c)
        for (int y = y0; y < y0 + h; ++y) {
            const auto row = planes.begin() + (std::ptrdiff_t(c) * height + y) * width;
            out.insert(out.end(), row + x0, row + x0 + w);
        }
    return out;
}
}  // namespace

TEST_CASE("TIFF by parts: regions written in any order read back exactly, 8 and 16 bits, 1 to 4 channels, TIFF and BigTIFF") {
    TempDir dir;
    const int width = 300, height = 520;  // more than one 256-pixel tile each way, neither a multiple
    for (const int bits : {8, 16})
        for (const int channels : {1, 2, 3, 4})
            for (const bool big : {false, true}) {
                CAPTURE(bits);
                CAPTURE(channels);
                CAPTURE(big);
                const auto planes = levels(channels, height, width, bits, channels);
                std::string name = "t";  // appended piecewise: GCC 12 warns (wrongly) on a chain of operator+
                name += std::to_string(bits * 10 + channels);
                name += big ? "big.tif" : ".tif";
                const fs::path path = dir / name;
                {
                    TiffWriter w(path, width, height, channels, bits, big);
                    // Bands of 97 rows, each band's columns right to left in pieces of 61.
                    for (int y = 0; y < height; y += 97)
                        for (int x = width; x > 0; x -= 61) {
                            const int h = std::min(97, height - y), x0 = std::max(0, x - 61);
                            w.write(y, x0, h, x - x0, region_of(planes, channels, height, width, y, x0, h, x - x0).data());
                        }
                    CHECK_FALSE(fs::exists(path));  // not before finish()
                    w.finish();
                }
                TiffReader r(path);
                REQUIRE(r.streams());
                CHECK(r.bigtiff() == big);
                CHECK(r.is_tiled());
                CHECK(r.width() == width);
                CHECK(r.height() == height);
                CHECK(r.bits() == bits);
                CHECK(r.colours() == (channels >= 3 ? 3 : 1));
                CHECK(r.alpha() == (channels % 2 == 0));
                const int colours = channels >= 3 ? 3 : 1;
                for (const auto& [y0, y1, x0, x1] : {std::array{0, height, 0, width}, std::array{250, 263, 17, 299}, std::array{519, 520, 0, 1}}) {
                    std::vector<float> got(std::size_t(colours + 1) * (y1 - y0) * (x1 - x0));
                    r.read(y0, y1, x0, x1, colours, true, got.data());
                    auto want = region_of(planes, channels, height, width, y0, x0, y1 - y0, x1 - x0);
                    if (channels % 2 == 1) want.resize(got.size(), 1.0f);  // no alpha: opaque
                    CHECK(got == want);
                }
            }
    // Grey from colour is convert_channels' luminance of the stored levels.
    Image rgb = pattern(40, 30, 3);
    write_image(dir / "rgb.tif", rgb);
    CHECK(read_image(dir / "rgb.tif", 3) == rgb);
    TiffReader r(dir / "rgb.tif");
    std::vector<float> grey(40 * 30);
    r.read(0, 30, 0, 40, 1, false, grey.data());
    CHECK(grey == to_chw(convert_channels(rgb, 1)));
}

TEST_CASE("TIFF by parts: nothing at the path until finish(); missing pixels, bad sizes and damaged files throw naming the file") {
    TempDir dir;
    const fs::path path = dir / "out.tif";
    write_all(path, "earlier");
    const auto planes = levels(3, 300, 300, 8, 1);
    {
        TiffWriter w(path, 300, 300, 3, 8);
        w.write(0, 0, 300, 300, planes.data());
    }  // destroyed before finish(): as if an exception or Ctrl-C came
    CHECK(read_all(path) == "earlier");
    {
        TiffWriter w(path, 300, 300, 3, 8);
        w.write(0, 0, 200, 300, planes.data());
        const auto what = error_of([&] { w.finish(); });
        CHECK(contains(what, path.string()));
        CHECK(contains(what, "not every pixel"));
        CHECK_THROWS_AS(w.write(250, 0, 60, 300, planes.data()), std::invalid_argument);  // past the bottom
    }
    CHECK(read_all(path) == "earlier");
    {
        TiffWriter w(dir / "twice.tif", 10, 10, 1, 8);
        const auto small = levels(1, 10, 10, 8, 2);
        w.write(0, 0, 10, 10, small.data());
        w.finish();
        CHECK_THROWS_AS(w.finish(), std::logic_error);
        TiffReader r(dir / "twice.tif");
        std::vector<float> v(2 * 100);
        CHECK_THROWS_AS(r.read(0, 10, 0, 10, 2, false, v.data()), std::invalid_argument);  // colours are 1 or 3
        CHECK_THROWS_AS(r.read(0, 11, 0, 10, 1, false, v.data()), std::invalid_argument);  // past the bottom
        fs::remove(dir / "twice.tif");
    }
    int entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++entries;
    CHECK(entries == 1);  // no temporary file left
    CHECK_THROWS_AS(TiffWriter(dir / "x.tif", 10, 10, 5, 8), image_error);
    CHECK_THROWS_AS(TiffWriter(dir / "x.tif", 10, 10, 3, 12), image_error);
    CHECK(contains(error_of([&] { TiffWriter(dir / "no_folder" / "x.tif", 10, 10, 3, 8); }), "no_folder"));

    // A file cut short: its header opens, a region past the cut throws naming it.
    {
        TiffWriter w(dir / "whole.tif", 300, 300, 3, 8);
        w.write(0, 0, 300, 300, planes.data());
        w.finish();
    }
    const std::string bytes = read_all(dir / "whole.tif");
    // libtiff writes the tiles first and the directory last: keep the directory, drop tiles' bytes.
    std::string cut = bytes;
    std::fill(cut.begin() + 16, cut.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2), '\xff');
    write_all(dir / "cut.tif", cut);
    TiffReader r(dir / "cut.tif");
    REQUIRE(r.streams());
    std::vector<float> all(3 * 300 * 300);
    const auto what = error_of([&] { r.read(0, 300, 0, 300, 3, false, all.data()); });
    CHECK(contains(what, (dir / "cut.tif").string()));
    CHECK(contains(what, "damaged"));
    CHECK(contains(error_of([&] { TiffReader(dir / "missing.tif"); }), "no such file"));
    write_all(dir / "text.tif", "not a tiff at all");
    CHECK(contains(error_of([&] { TiffReader(dir / "text.tif"); }), "text.tif"));
}
#endif

TEST_CASE("to_chw maps to [-1, 1] in planes; from_chw rounds back, clamps, and round-trips every level") {
    Image img(2, 1, 3);
    img.pixels = {0, 255, 51, 10, 20, 30};  // pixel 0 = (0, 255, 51), pixel 1 = (10, 20, 30)
    const auto chw = to_chw(img);
    REQUIRE(chw.size() == 6);
    CHECK(chw[0] == -1.0f);                                // R of pixel 0
    CHECK(chw[1] == doctest::Approx(10 / 127.5 - 1));      // R of pixel 1
    CHECK(chw[2] == 1.0f);                                 // G of pixel 0
    CHECK(chw[4] == doctest::Approx(51 / 127.5 - 1));      // B of pixel 0
    CHECK(from_chw(chw, 3, 1, 2) == img);
    CHECK_THROWS_AS(from_chw(chw, 3, 2, 2), std::invalid_argument);  // 6 values are not 3 x 2 x 2
    CHECK_THROWS_AS(from_chw(chw, 1, 1, 2), std::invalid_argument);

    Image levels(256, 1, 1);
    for (int i = 0; i < 256; ++i) levels.pixels[i] = static_cast<std::uint8_t>(i);
    const auto values = to_chw(levels);
    CHECK(from_chw(values, 1, 1, 256) == levels);  // truncation would lose some levels

    // Rounded, not truncated as the reference's tensor2im: 10.6 -> 11. Clamped; NaN -> 0.
    const float x[5] = {10.6f / 127.5f - 1.0f, 10.4f / 127.5f - 1.0f, 1.5f, -3.0f, std::nanf("")};
    const Image out = from_chw(x, 1, 1, 5);
    CHECK(out.pixels == std::vector<std::uint8_t>{11, 10, 255, 0, 0});
    CHECK_THROWS_AS(from_chw(x, 0, 1, 5), std::invalid_argument);
}

TEST_CASE("convert_channels maps every channel count to every other; with_alpha and image_from_pixels check sizes") {
    // One pixel of each layout: grey 100; grey 100 with alpha 7; RGB (10, 200, 30); RGBA with alpha 7.
    const Image grey = image_from_pixels(std::vector<std::uint8_t>{100}, 1, 1, 1);
    const Image grey_alpha = image_from_pixels(std::vector<std::uint8_t>{100, 7}, 1, 1, 2);
    const Image rgb = image_from_pixels(std::vector<std::uint8_t>{10, 200, 30}, 1, 1, 3);
    const Image rgba = image_from_pixels(std::vector<std::uint8_t>{10, 200, 30, 7}, 1, 1, 4);
    const std::uint8_t lum = (10 * 77 + 200 * 150 + 30 * 29) >> 8;  // read_image's luminance
    using V = std::vector<std::uint8_t>;
    CHECK(convert_channels(grey, 2).pixels == V{100, 255});
    CHECK(convert_channels(grey, 3).pixels == V{100, 100, 100});
    CHECK(convert_channels(grey, 4).pixels == V{100, 100, 100, 255});
    CHECK(convert_channels(grey_alpha, 1).pixels == V{100});
    CHECK(convert_channels(grey_alpha, 3).pixels == V{100, 100, 100});
    CHECK(convert_channels(grey_alpha, 4).pixels == V{100, 100, 100, 7});
    CHECK(convert_channels(rgb, 1).pixels == V{lum});
    CHECK(convert_channels(rgb, 2).pixels == V{lum, 255});
    CHECK(convert_channels(rgb, 4).pixels == V{10, 200, 30, 255});
    CHECK(convert_channels(rgba, 1).pixels == V{lum});
    CHECK(convert_channels(rgba, 2).pixels == V{lum, 7});
    CHECK(convert_channels(rgba, 3).pixels == V{10, 200, 30});
    CHECK(convert_channels(rgba, 4) == rgba);
    CHECK_THROWS_AS(convert_channels(rgb, 5), std::invalid_argument);
    CHECK_THROWS_AS(convert_channels(Image(2, 2, 5), 3), std::invalid_argument);

    CHECK(has_transparency(rgba));
    CHECK(has_transparency(grey_alpha));
    CHECK_FALSE(has_transparency(rgb));
    CHECK_FALSE(has_transparency(convert_channels(rgb, 4)));
    CHECK(with_alpha(rgb, grey_alpha).pixels == V{10, 200, 30, 7});
    CHECK(with_alpha(grey, rgba).pixels == V{100, 7});
    CHECK_THROWS_AS(with_alpha(rgba, rgba), std::invalid_argument);      // already has alpha
    CHECK_THROWS_AS(with_alpha(rgb, rgb), std::invalid_argument);        // no alpha to take
    CHECK_THROWS_AS(with_alpha(Image(2, 1, 3), rgba), std::invalid_argument);  // sizes differ

    // A buffer of another length than width x height x channels is refused, not read past.
    const V six(6, 1);
    CHECK(image_from_pixels(six, 2, 1, 3).pixels == six);
    CHECK_THROWS_AS(image_from_pixels(six, 2, 2, 3), std::invalid_argument);
    CHECK_THROWS_AS(image_from_pixels(six, 3, 1, 3), std::invalid_argument);
    CHECK_THROWS_AS(image_from_pixels(six, 6, 1, 0), std::invalid_argument);
}

// ---- preprocessing --------------------------------------------------------------------------

TEST_CASE("every preprocess mode's output size") {
    struct Case {
        std::string mode;
        int w, h, out_w, out_h;
    };
    const Case cases[] = {
        {"resize_and_crop", 300, 200, 256, 256},
        {"resize_and_crop", 1000, 50, 256, 256},
        {"crop", 300, 260, 256, 256},
        {"crop", 256, 256, 256, 256},
        // scale_width alone then rounds both sides to the networks' rule (by default multiples of
        // 4, as mode none), where the reference leaves sides no generator takes (286 = 4 * 71.5).
        {"scale_width", 300, 200, 288, 256},   // height max(286 * 200 / 300, 256); 286 -> 288
        {"scale_width", 600, 900, 288, 428},   // int(286 * 900 / 600) = 429 -> 428
        {"scale_width", 286, 300, 288, 300},
        {"scale_width", 100, 100, 288, 288},
        {"scale_width_and_crop", 300, 200, 256, 256},
        {"scale_width_and_crop", 600, 900, 256, 256},
        // The reference rounds with Python's round(): halves to even. 257/4 = 64.25 -> 64;
        // 130/4 = 32.5 -> 32 (not 33); 258/4 = 64.5 -> 64; 134/4 = 33.5 -> 34.
        {"none", 257, 130, 256, 128},
        {"none", 258, 134, 256, 136},
        {"none", 256, 256, 256, 256},
        {"none", 1, 1, 4, 4},  // never below 4
    };
    for (const auto& c : cases) {
        CAPTURE(c.mode);
        CAPTURE(c.w);
        CAPTURE(c.h);
        const PreprocessOptions o{.mode = c.mode};
        const Image out = preprocess(gradient(c.w, c.h, 3), o, 7, "in.png");
        CHECK(out.width == c.out_w);
        CHECK(out.height == c.out_h);
        CHECK(out.channels == 3);
        CHECK(output_size(c.w, c.h, o, "in.png") == std::pair{c.out_w, c.out_h});
    }
}

TEST_CASE("preprocess errors: an image smaller than the crop, an unknown mode") {
    const PreprocessOptions crop{.mode = "crop"};
    const auto what = error_of([&] { preprocess(gradient(300, 200, 3), crop, 1, "photos/small.png"); });
    CHECK(contains(what, "photos/small.png"));
    CHECK(contains(what, "300x200"));
    CHECK(contains(what, "256x256"));
    CHECK_THROWS_AS(preprocess(gradient(300, 200, 3), crop, 1, "x"), image_error);

    const PreprocessOptions bad{.mode = "resize"};
    const auto what2 = error_of([&] { preprocess(gradient(30, 20, 3), bad, 1, "x"); });
    CHECK(contains(what2, "'resize'"));
    for (const char* m : {"resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"}) CHECK(contains(what2, m));
    CHECK_THROWS_AS(check_options(PreprocessOptions{.load_size = 0}), std::invalid_argument);
}

TEST_CASE("check_sizes refuses crops the networks cannot take, naming the option and what to use") {
    const SizeRule resnet_basic{4, 24};
    auto refusal = [&](PreprocessOptions o) {
        o.sizes = resnet_basic;
        const auto what = error_of([&] { check_sizes(o, "--netG resnet_9blocks with --netD basic"); });
        return what == "(no exception)" ? std::string() : what;
    };
    const auto small = refusal({.mode = "crop", .crop_size = 16});
    CHECK(contains(small, "--crop-size 16"));
    CHECK(contains(small, "multiples of 4 and at least 24"));
    CHECK(contains(small, "use 24 (the smallest crop that works)"));
    CHECK(contains(small, "resnet_9blocks"));
    CHECK(contains(refusal({.mode = "resize_and_crop", .load_size = 300, .crop_size = 250}), "use 248 or 252"));
    CHECK(contains(refusal({.mode = "resize_and_crop", .load_size = 16, .crop_size = 32}), "--load-size 16"));
    CHECK(contains(refusal({.mode = "scale_width_and_crop", .load_size = 16, .crop_size = 32}), "--load-size 16"));
    for (const char* mode : {"scale_width", "none"}) CHECK(refusal({.mode = mode, .load_size = 5, .crop_size = 3}).empty());
    CHECK(refusal({.mode = "crop", .crop_size = 24}).empty());
    CHECK_THROWS_AS(check_sizes({.mode = "crop", .crop_size = 10, .sizes = resnet_basic}, "x"), std::invalid_argument);
}

// Every mode, random image sizes and options check_sizes accepts, each generator's rule combined
// with a discriminator's: what preprocess() gives is a size the networks take (test_models shows
// that each rule is what its networks take).
TEST_CASE("property: every preprocess mode gives sizes the networks take, for any image size") {
    const SizeRule generators[] = {{4, 8}, {128, 128}, {256, 256}}, discriminators[] = {{1, 24}, {1, 6}, {1, 96}, {1, 2}};
    std::uint64_t key = 1;
    int checked = 0;
    for (const auto& mode : preprocess_modes())
        for (const SizeRule g : generators)
            for (const SizeRule d : discriminators)
                for (int trial = 0; trial < 12; ++trial) {
                    auto draw = [&](int lo, int hi) { return lo + int(random_below(random_key(++key, {}), std::uint64_t(hi - lo + 1))); };
                    PreprocessOptions o{.mode = mode, .load_size = draw(1, 300), .crop_size = draw(1, 300), .sizes = g & d};
                    if (error_of([&] { check_sizes(o, "networks"); }) != "(no exception)") {
                        o.crop_size = o.sizes.padded(o.crop_size);  // what the refusal says to use
                        o.load_size = std::max(o.load_size, o.crop_size);
                    }
                    REQUIRE(error_of([&] { check_sizes(o, "networks"); }) == "(no exception)");
                    const int w = draw(1, 320), h = draw(1, 320);
                    CAPTURE(mode);
                    CAPTURE(o.load_size);
                    CAPTURE(o.crop_size);
                    CAPTURE(w);
                    CAPTURE(h);
                    std::pair<int, int> out;
                    try {
                        out = output_size(w, h, o, "in.png");
                    } catch (const image_error&) {  // an image smaller than the crop: refused by name, at the start
                        CHECK((mode == "crop" || mode == "scale_width_and_crop"));
                        continue;
                    }
                    CHECK(o.sizes.takes(out.second, out.first));
                    if (w * h <= 64 * 64) {  // the pixels too, where that is quick
                        const Image img = preprocess(gradient(w, h, 3), o, key, "in.png");
                        CHECK(std::pair{img.width, img.height} == out);
                    }
                    ++checked;
                }
    CHECK(checked > 500);
}

TEST_CASE("a 1x1 image goes through resize_and_crop") {
    Image one(1, 1, 3);
    one.pixels = {10, 100, 200};
    const Image out = preprocess(one, {}, 3, "dot.png");
    REQUIRE(out.width == 256);
    REQUIRE(out.height == 256);
    for (int c = 0; c < 3; ++c) {
        CHECK(out.at(0, 0, c) == one.pixels[c]);
        CHECK(out.at(255, 255, c) == one.pixels[c]);
        CHECK(out.at(100, 17, c) == one.pixels[c]);
    }
}

TEST_CASE("flip mirrors on about half the seeds; flip = false never does") {
    const Image img = pattern(20, 12, 3);
    const Image mirrored = flip_horizontal(img);
    REQUIRE(mirrored != img);
    CHECK(mirrored.at(3, 0, 1) == img.at(3, 19, 1));
    CHECK(flip_horizontal(mirrored) == img);
    PreprocessOptions o{.mode = "none"};  // 20x12 needs no rounding: only the flip acts
    int flips = 0;
    for (std::uint64_t seed = 0; seed < 200; ++seed) {
        const Image out = preprocess(img, o, seed, "x");
        CHECK((out == img || out == mirrored));
        flips += out == mirrored;
    }
    CHECK(flips > 70);
    CHECK(flips < 130);
    o.flip = false;
    for (std::uint64_t seed = 0; seed < 200; ++seed) CHECK(preprocess(img, o, seed, "x") == img);
}

TEST_CASE("the same seed gives the same crop; other seeds vary, over the whole range") {
    const Image img = pattern(40, 30, 1);
    const PreprocessOptions o{.mode = "crop", .crop_size = 16, .flip = false};
    std::set<std::pair<int, int>> offsets;
    for (std::uint64_t seed = 0; seed < 400; ++seed) {
        const Image a = preprocess(img, o, seed, "x");
        CHECK(a == preprocess(img, o, seed, "x"));
        // Find the offset: pattern pixels are 7x + 13y (mod 256), unique over this range.
        bool found = false;
        for (int y = 0; y <= 14 && !found; ++y)
            for (int x = 0; x <= 24 && !found; ++x)
                if (crop(img, x, y, 16, 16) == a) {
                    offsets.insert({x, y});
                    found = true;
                }
        CHECK(found);
    }
    std::set<int> xs, ys;
    for (auto [x, y] : offsets) {
        xs.insert(x);
        ys.insert(y);
    }
    CHECK(offsets.size() > 100);
    CHECK(xs.size() == 25);  // every x in [0, 40 - 16]
    CHECK(ys.size() == 15);  // every y in [0, 30 - 16]
}

TEST_CASE("bicubic resize: constants stay constant; shrinking averages") {
    for (auto [w, h] : {std::pair{7, 5}, {300, 200}, {64, 64}}) {
        const Image flat(w, h, 3, 77);
        for (auto [tw, th] : {std::pair{1, 1}, {3, 9}, {286, 286}, {w / 2 + 1, h * 3}}) {
            const Image r = resize_bicubic(flat, tw, th);
            CHECK(r.width == tw);
            CHECK(r.height == th);
            CHECK(r == Image(tw, th, 3, 77));
        }
    }
    // A one-pixel checkerboard shrunk by 3 is mid grey everywhere. A kernel that is not widened
    // samples single pixels (0 or 255) at this scale.
    const Image board = checkerboard(300, 300);
    const Image small = resize_bicubic(board, 100, 100);
    int lo = 255, hi = 0;
    for (int y = 2; y < 98; ++y)
        for (int x = 2; x < 98; ++x) {
            lo = std::min<int>(lo, small.at(y, x, 0));
            hi = std::max<int>(hi, small.at(y, x, 0));
        }
    CAPTURE(lo);
    CAPTURE(hi);
    CHECK(lo >= 120);
    CHECK(hi <= 135);
    // Shrinking by 2: exactly half way between 0 and 255.
    const Image half = resize_bicubic(board, 150, 150);
    for (int y = 2; y < 148; y += 7)
        for (int x = 2; x < 148; x += 5) CHECK(std::abs(half.at(y, x, 0) - 127.5) <= 0.5);
    // Enlarging keeps the samples' order: a ramp stays non-decreasing.
    Image ramp(8, 1, 1);
    for (int x = 0; x < 8; ++x) ramp.pixels[x] = static_cast<std::uint8_t>(x * 30);
    const Image wide = resize_bicubic(ramp, 64, 1);
    CHECK(wide.pixels.front() <= 10);
    CHECK(wide.pixels.back() >= 200);
}

// ---- folders and datasets -------------------------------------------------------------------

TEST_CASE("list_images: sorted, any-case extensions, subfolders; hidden and non-image files skipped, in one line") {
    TempDir dir;
    const Image img = pattern(4, 4, 3);
    for (const char* name : {"c.png", "a.JPG", "b.jpeg", "e.Png"}) write_image(dir / name, img);
    REQUIRE(stbi_write_bmp((dir / "d.bmp").c_str(), img.width, img.height, 3, img.pixels.data()));
    fs::create_directory(dir / "sub");
    write_image(dir / "sub" / "f.png", img);
    write_all(dir / "notes.txt", "hello");
    write_all(dir / "sub" / "x.psd", "8BPS");
    // What macOS, Windows and Jupyter leave in folders people copy around.
    write_all(dir / ".DS_Store", "\0\0\0\1Bud1");
    write_all(dir / "._c.png", "\0\5\x16\7 AppleDouble");
    write_all(dir / "Thumbs.db", "\xd0\xcf\x11\xe0");
    fs::create_directory(dir / ".ipynb_checkpoints");
    write_image(dir / ".ipynb_checkpoints" / "c-checkpoint.png", img);
    std::vector<std::string> warnings;
    const auto files = list_images(dir.path, &warnings);
    std::vector<fs::path> expected;
    for (const char* name : {"a.JPG", "b.jpeg", "c.png", "d.bmp", "e.Png", "sub/f.png"}) expected.push_back(dir.path / name);
    CHECK(files == expected);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0] == "in '" + dir.path.string() + "': skipped 3 hidden (.DS_Store, ._c.png, .ipynb_checkpoints/), "
                         "3 not images by name (Thumbs.db, notes.txt, sub/x.psd)");
    CHECK(list_images(dir.path, nullptr, 2) == std::vector<fs::path>{expected[0], expected[1]});
    CHECK(list_images(dir.path, nullptr, 100).size() == 6);
    CHECK_THROWS_AS(list_images(dir.path, nullptr, 0), std::invalid_argument);
    // A hidden folder given by name is listed: only what is inside a folder is filtered.
    CHECK(list_images(dir / ".ipynb_checkpoints").size() == 1);
}

TEST_CASE("list_images: a missing folder, a file, an empty folder, only non-images: dataset_error naming it") {
    TempDir dir;
    auto message = [](const fs::path& p) {
        try {
            list_images(p);
        } catch (const dataset_error& e) {
            return std::string(e.what());
        }
        return std::string("(no dataset_error)");
    };
    const auto missing = message(dir / "trainA");
    CHECK(contains(missing, (dir / "trainA").string()));
    CHECK(contains(missing, "does not exist"));

    write_all(dir / "file.png", "x");
    CHECK(contains(message(dir / "file.png"), "is not a folder"));

    fs::create_directory(dir / "empty");
    const auto empty = message(dir / "empty");
    CHECK(contains(empty, (dir / "empty").string()));
    CHECK(contains(empty, "empty"));

    fs::create_directory(dir / "others");
    write_all(dir / "others" / "a.txt", "x");
    write_all(dir / "others" / "b.csv", "x");
    const auto others = message(dir / "others");
    CHECK(contains(others, (dir / "others").string()));
    CHECK(contains(others, "skipped 2 not images by name (a.txt, b.csv)"));
    write_all(dir / "others" / ".hidden.png", "x");
    CHECK(contains(message(dir / "others"), "skipped 1 hidden (.hidden.png), 2 not images by name"));
}

TEST_CASE("validate_images names every bad file, and images too small for the crop") {
    TempDir dir;
    write_image(dir / "a.png", pattern(30, 20, 3));
    write_all(dir / "b.png", "garbage");
    write_all(dir / "c.png", "garbage too");
    CHECK_NOTHROW(validate_images({dir / "a.png"}));
    const auto what = error_of([&] { validate_images({dir / "a.png", dir / "b.png", dir / "c.png"}); });
    CHECK(contains(what, "2 of 3 images cannot be used"));
    CHECK(contains(what, (dir / "b.png").string()));
    CHECK(contains(what, (dir / "c.png").string()));  // every bad file, not only the first
    CHECK_FALSE(contains(what, (dir / "a.png").string()));
    CHECK(contains(error_of([&] { validate_images({dir / "a.png", dir / "c.png"}); }), (dir / "c.png").string()));
    const PreprocessOptions crop{.mode = "crop", .crop_size = 25};
    const auto small = error_of([&] { validate_images({dir / "a.png"}, &crop); });
    CHECK(contains(small, "a.png"));
    CHECK(contains(small, "30x20"));
    const PreprocessOptions crop_fits{.mode = "crop", .crop_size = 20};
    CHECK_NOTHROW(validate_images({dir / "a.png"}, &crop_fits));
}

TEST_CASE("file names reach no message raw: images, dataset folders, preprocessing") {
    TempDir dir;
    const std::string evil(test::evil);
    auto check = [](const std::string& what, const std::string& expected) {
        INFO(printable(what, 4000));
        CHECK_FALSE(test::has_raw_control(what));
        CHECK(contains(what, expected));
    };
    const fs::path missing = dir / ("photo_" + evil + ".png");
    const std::string shown = printable(missing.string());
    check(error_of([&] { read_image(missing, 3); }), shown + "': no such file");
    check(error_of([&] { probe_image(missing); }), shown + "': no such file");
    write_all(missing, "\x89PNG\r\n\x1a\n but no more");
    check(error_of([&] { read_image(missing, 3); }), "cannot decode '" + shown + "'");
    check(error_of([&] { write_image(dir / ("out." + evil), pattern(2, 2, 3)); }),
          "unsupported extension '" + printable("." + evil) + "'");
    check(error_of([&] { write_image(dir / ("no_folder_" + evil) / "x.png", pattern(2, 2, 3)); }),
          printable((dir / ("no_folder_" + evil) / "x.png").string()));
    check(error_of([&] { validate_images({missing}); }), shown);
    const PreprocessOptions crop{.mode = "crop", .crop_size = 8};
    check(error_of([&] { preprocess(pattern(4, 4, 3), crop, 1, missing.string()); }), "'" + shown + "' is 4x4");

    // Folders: missing, empty but for files that are not images, and a dataroot.
    const fs::path folder = dir / ("data_" + evil);
    check(error_of([&] { list_images(folder); }), "'" + printable(folder.string()) + "' does not exist");
    check(error_of([&] { UnalignedDataset{folder}; }), "'" + printable(folder.string()) + "' does not exist");
    fs::create_directories(folder);
    write_all(folder / ("notes_" + evil + ".txt"), "x");
    write_all(folder / ("." + evil), "x");
    check(error_of([&] { list_images(folder); }), "skipped 1 hidden (" + printable("." + evil) + "), 1 not images by name (" +
                                                      printable("notes_" + evil + ".txt") + ")");
    write_image(folder / "a.png", pattern(4, 4, 3));
    std::vector<std::string> warnings;
    CHECK(list_images(folder, &warnings).size() == 1);
    REQUIRE(warnings.size() == 1);
    check(warnings[0], "in '" + printable(folder.string()) + "': skipped 1 hidden");
}

namespace {

// A relative URL path decoded as a browser does for a file: %XX to the byte, everything else as is.
std::string percent_decoded(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string without_newlines(std::string s) {
    s.erase(std::remove(s.begin(), s.end(), '\n'), s.end());
    return s;
}

// Every src="..." of an XHTML page, with the XML entities undone.
std::vector<std::string> image_sources(const std::string& page) {
    std::vector<std::string> out;
    for (std::size_t at = page.find("src=\""); at != std::string::npos; at = page.find("src=\"", at + 1)) {
        const std::size_t begin = at + 5, end = page.find('"', begin);
        std::string v = page.substr(begin, end - begin);
        for (const auto& [entity, c] : {std::pair<std::string, std::string>{"&quot;", "\""}, {"&apos;", "'"}, {"&lt;", "<"},
                                        {"&gt;", ">"}, {"&amp;", "&"}})
            for (std::size_t k = v.find(entity); k != std::string::npos; k = v.find(entity, k + 1)) v.replace(k, entity.size(), c);
        out.push_back(v);
    }
    return out;
}

}  // namespace

TEST_CASE("the pages: image paths percent-encoded and XML-escaped, text printable") {
    CHECK(report::url_path("images/x#1 ?%&\"'<>\xc3\xa9:\xff.png") ==
          "images/x%231%20%3F%25%26%22%27%3C%3E%C3%A9%3A%FF.png");
    CHECK(report::url_path("images/a-b_c.d~e/f.png") == "images/a-b_c.d~e/f.png");  // unreserved and '/' stay
    TempDir dir;
    fs::create_directories(dir / "images");
    std::vector<report::TranslationPair> pairs;
    const std::vector<std::string> names = {"x#1", "q?a", "p%41", "a&b", "say \"hi\"", "it's", "<img onerror=alert(1)>",
                                            "two  spaces", "z\xc3\xa9" "bra \xe6\x9d\xb1\xe4\xba\xac", "esc" + std::string(test::evil)};
    for (const auto& n : names) {
        write_image(dir / "images" / (n + "_real.png"), pattern(2, 2, 3));
        write_image(dir / "images" / (n + "_fake.png"), pattern(2, 2, 3));
        pairs.push_back({"images/" + n + "_real.png", "images/" + n + "_fake.png", n + ".png"});
    }
    const std::string title = "CycleGAN AtoB: /checkpoints/" + std::string(400, 'd') + std::string(test::evil) + "/latest.safetensors";
    report::write_translation_report(dir / "index.html", title, pairs);
    const std::string page = read_all(dir / "index.html");
    CHECK_FALSE(test::has_raw_control(without_newlines(page)));  // the page's own line breaks aside, nothing raw
    CHECK_FALSE(contains(page, "<img onerror"));
    CHECK(contains(page, "&lt;img onerror=alert(1)&gt;.png"));
    CHECK(contains(page, report::xml_escape(printable("esc" + std::string(test::evil) + ".png"))));
    CHECK(contains(page, "overflow-wrap:anywhere"));  // a long title wraps
    const auto sources = image_sources(page);
    REQUIRE(sources.size() == 2 * names.size());
    for (const auto& src : sources) {
        CAPTURE(src);
        CHECK(src.find_first_of("#? \"'<>&") == std::string::npos);  // URL syntax and markup all encoded
        CHECK(fs::exists(dir / percent_decoded(src)));
    }

    // The training report: its grids' paths the same way, and the options' values printable.
    report::write_training_report(dir.path, "run " + std::string(test::evil), {}, {{1, "images/x#1_real.png"}},
                                  {{"netG", "resnet_" + std::string(test::evil)}});
    const std::string training = read_all(dir / "index.html");
    CHECK_FALSE(test::has_raw_control(without_newlines(training)));
    CHECK(contains(training, "netG=resnet_" + report::xml_escape(std::string(test::evil_shown))));
    const auto grids = image_sources(training);
    REQUIRE(grids.size() == 1);
    CHECK(grids[0] == "images/x%231_real.png");
    CHECK(fs::exists(dir / percent_decoded(grids[0])));
}

// The y coordinates of a polyline's points ("x,y x,y ...").
static std::vector<double> polyline_ys(const std::string& points) {
    std::vector<double> ys;
    std::istringstream in(points);
    for (std::string pair; in >> pair;) ys.push_back(std::stod(pair.substr(pair.find(',') + 1)));
    return ys;
}

TEST_CASE("the training report: a long loss log drawn faint under its moving average, small grids enlarged by a whole number") {
    // The moving average: centred, fewer points at the ends, non-finite values left out.
    const auto average = report::detail::moving_average({0, 2, 0, 2, 0, NAN, 2}, 3);
    const std::vector<double> expected = {1, 2.0 / 3, 4.0 / 3, 2.0 / 3, 1, 1, 2};
    REQUIRE(average.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) CHECK(average[i] == doctest::Approx(expected[i]));
    CHECK(std::isnan(report::detail::moving_average({NAN, NAN}, 3)[0]));
    CHECK(report::smoothing_window(59) == 0);
    CHECK(report::smoothing_window(60) == 3);
    CHECK(report::smoothing_window(1500) == 51);

    // 300 iterations whose losses jump between 0.5 and 1.5: each curve faint as logged, and solid
    // as its mean of 11, which hardly moves.
    std::vector<report::LossRecord> log(300);
    for (std::size_t i = 0; i < log.size(); ++i) {
        log[i].iteration = static_cast<long>(i + 1);
        log[i].losses.fill(i % 2 ? 1.5 : 0.5);
    }
    TempDir dir;
    report::write_training_report(dir.path, "noise", log, {{1, "images/small.png", 140}, {2, "images/large.png", 1000}, {3, "images/unknown.png"}}, {});
    const std::string page = read_all(dir / "index.html");
    CHECK(contains(page, "the mean of 11 around it"));
    std::vector<std::string> faint, solid;
    for (std::size_t at = page.find("<polyline"); at != std::string::npos; at = page.find("<polyline", at + 1)) {
        const std::size_t begin = page.find("points=\"", at) + 8, end = page.find('"', begin);
        const std::string element = page.substr(at, page.find("/>", at) - at);
        (contains(element, "stroke-opacity") ? faint : solid).push_back(page.substr(begin, end - begin));
    }
    REQUIRE(faint.size() == 8);
    REQUIRE(solid.size() == 8);
    auto spread = [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end()); };
    const auto raw_y = polyline_ys(faint[0]), smooth_y = polyline_ys(solid[0]);
    REQUIRE(raw_y.size() == 300);
    REQUIRE(smooth_y.size() == 300);
    // Away from the ends (5 points each side average fewer values) the mean of 11 moves by 1/11 of the jump.
    const std::vector<double> inner(smooth_y.begin() + 5, smooth_y.end() - 5);
    CHECK(spread(inner) < spread(raw_y) / 8);
    CHECK(spread(inner) > 0);

    // A 140-pixel grid shows 5 times as wide (within 768), a 1000-pixel one as it is, one of unknown
    // width without a size.
    CHECK(contains(page, "src=\"images/small.png\" width=\"700\""));
    CHECK(contains(page, "src=\"images/large.png\" width=\"1000\""));
    CHECK(contains(page, "src=\"images/unknown.png\" alt="));
    // Short logs are drawn as they are.
    report::write_training_report(dir.path, "short", std::vector<report::LossRecord>(log.begin(), log.begin() + 20), {}, {});
    const std::string short_page = read_all(dir / "index.html");
    CHECK_FALSE(contains(short_page, "stroke-opacity"));
    CHECK_FALSE(contains(short_page, "the mean of"));
}

TEST_CASE("shuffled_index is a permutation of [0, n), and the key changes it") {
    for (std::uint64_t n : {1, 2, 3, 5, 16, 17, 100, 1000}) {
        CAPTURE(n);
        std::set<std::uint64_t> seen;
        for (std::uint64_t i = 0; i < n; ++i) seen.insert(shuffled_index(i, n, 42));
        CHECK(seen.size() == n);
        CHECK(*seen.rbegin() == n - 1);
    }
    int same = 0;
    for (std::uint64_t i = 0; i < 100; ++i) same += shuffled_index(i, 100, 1) == shuffled_index(i, 100, 2);
    CHECK(same < 10);
}

TEST_CASE("UnalignedDataset: size, serial pairing, and a shuffled epoch with random B") {
    std::vector<fs::path> A{"a0", "a1", "a2", "a3", "a4"}, B{"b0", "b1", "b2"};
    const UnalignedDataset serial(A, B, true);
    CHECK(serial.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(serial.item(3, i).A == A[i]);
        CHECK(serial.item(3, i).B == B[i % 3]);
    }
    CHECK(UnalignedDataset(B, A, true).size() == 5);
    CHECK(UnalignedDataset(B, A, true).item(1, 4).A == "b1");  // A wraps: 4 % 3
    CHECK_THROWS_AS(serial.item(1, 5), std::out_of_range);

    const UnalignedDataset random(A, B);
    std::vector<std::vector<std::string>> orders;
    std::set<std::string> bs;
    for (int epoch = 1; epoch <= 4; ++epoch) {
        std::vector<std::string> order;
        for (std::size_t i = 0; i < 5; ++i) {
            const auto item = random.item(epoch, i, 9);
            CHECK(item.A == random.item(epoch, i, 9).A);  // a pure function
            CHECK(item.B == random.item(epoch, i, 9).B);
            order.push_back(item.A.string());
            bs.insert(item.B.string());
        }
        std::vector<std::string> sorted = order;
        std::sort(sorted.begin(), sorted.end());
        CHECK(sorted == std::vector<std::string>{"a0", "a1", "a2", "a3", "a4"});  // each A once per epoch
        orders.push_back(order);
    }
    CHECK(std::set(orders.begin(), orders.end()).size() > 1);  // the order changes between epochs
    CHECK(bs.size() == 3);                                     // every B gets drawn
    CHECK_THROWS_AS(UnalignedDataset({}, B), dataset_error);
}

TEST_CASE("UnalignedDataset and SingleDataset from folders, by phase") {
    TempDir dir;
    fs::create_directories(dir / "trainA");
    fs::create_directories(dir / "trainB");
    fs::create_directories(dir / "testA");
    for (int i = 0; i < 3; ++i) write_image(dir / ("trainA/" + std::to_string(i) + ".png"), pattern(8, 8, 3, i));
    write_image(dir / "trainB/x.jpg", gradient(8, 8, 3));
    write_image(dir / "testA/t.png", pattern(8, 8, 3));
    const UnalignedDataset train(dir.path);
    CHECK(train.A.size() == 3);
    CHECK(train.B.size() == 1);
    CHECK(train.size() == 3);
    CHECK_NOTHROW(train.validate());
    CHECK(UnalignedDataset(dir.path, {.max_dataset_size = 2}).A.size() == 2);
    const auto what = error_of([&] { UnalignedDataset(dir.path, {.phase = "test"}); });
    CHECK(contains(what, (dir / "testB").string()));  // testB is missing
    const SingleDataset single(dir / "testA");
    CHECK(single.size() == 1);
    CHECK(single.item(0) == dir / "testA" / "t.png");
}

// ---- the loader ------------------------------------------------------------------------------

namespace {

// trainA: n_A images, trainB: n_B images, all w x h, RGB.
void make_dataset(const TempDir& dir, int n_A, int n_B, int w = 24, int h = 20) {
    fs::create_directories(dir / "trainA");
    fs::create_directories(dir / "trainB");
    for (int i = 0; i < n_A; ++i) write_image(dir / ("trainA/" + std::to_string(100 + i) + ".png"), pattern(w, h, 3, i));
    for (int i = 0; i < n_B; ++i) write_image(dir / ("trainB/" + std::to_string(100 + i) + ".png"), pattern(w, h, 3, 50 + i));
}

struct Seen {
    std::vector<float> A, B;
    std::vector<fs::path> paths_A, paths_B;
    int epoch;
    long index;
    friend bool operator==(const Seen&, const Seen&) = default;
};

Seen seen(cpu& dev, const Loader<cpu>::Batch& b) {
    return {b.A.to_host(dev), b.B.to_host(dev), b.paths_A, b.paths_B, b.epoch, b.index};
}

}  // namespace

TEST_CASE("Loader: an epoch's items in order, batches of batch_size, then nullopt, then the next epoch") {
    TempDir dir;
    make_dataset(dir, 7, 4);
    cpu dev(1);
    const PreprocessOptions o{.mode = "crop", .crop_size = 16};
    Loader<cpu> loader(dev, UnalignedDataset(dir.path), o, 3, 1, 3, 5);
    CHECK(loader.size() == 7);
    CHECK(loader.batches_per_epoch() == 3);
    for (int epoch = 1; epoch <= 2; ++epoch) {
        long expected_index = 0;
        std::set<fs::path> as;
        while (auto b = loader.next()) {
            CHECK(b->epoch == epoch);
            CHECK(b->index == expected_index);
            const int n = expected_index == 6 ? 1 : 3;  // 7 = 3 + 3 + 1
            CHECK(b->A.shape() == Shape{n, 3, 16, 16});
            CHECK(b->B.shape() == Shape{n, 1, 16, 16});
            CHECK(b->paths_A.size() == static_cast<std::size_t>(n));
            as.insert(b->paths_A.begin(), b->paths_A.end());
            const auto values = b->A.to_host(dev);
            CHECK(*std::min_element(values.begin(), values.end()) >= -1.0f);
            CHECK(*std::max_element(values.begin(), values.end()) <= 1.0f);
            expected_index += n;
        }
        CHECK(expected_index == 7);
        CHECK(as.size() == 7);  // every A image once per epoch
    }
}

TEST_CASE("Loader: resuming at (epoch, index) gives the batches of the uninterrupted run") {
    TempDir dir;
    make_dataset(dir, 5, 3, 30, 26);
    cpu dev(1);
    const PreprocessOptions o{.mode = "resize_and_crop", .load_size = 24, .crop_size = 16};
    std::vector<Seen> full;
    {
        Loader<cpu> loader(dev, UnalignedDataset(dir.path), o, 3, 3, 2, 77);
        for (int epoch = 0; epoch < 3; ++epoch)
            while (auto b = loader.next()) full.push_back(seen(dev, *b));
    }
    REQUIRE(full.size() == 9);  // 3 epochs x (2 + 2 + 1)
    CHECK(full[0].A != full[3].A);  // epochs differ: other order, crops, flips
    // Resume in the middle of epoch 2 (its second batch starts at item 2).
    Loader<cpu> resumed(dev, UnalignedDataset(dir.path), o, 3, 3, 2, 77, 2, 2);
    std::vector<Seen> tail;
    for (int k = 0; k < 2; ++k)
        while (auto b = resumed.next()) tail.push_back(seen(dev, *b));
    REQUIRE(tail.size() == 5);
    for (std::size_t k = 0; k < tail.size(); ++k) {
        CAPTURE(k);
        CHECK(tail[k] == full[4 + k]);
    }
    // Another seed gives other batches.
    Loader<cpu> other(dev, UnalignedDataset(dir.path), o, 3, 3, 2, 78);
    CHECK(seen(dev, *other.next()) != full[0]);
}

TEST_CASE("Loader: the ranks of a distributed run see every item once per epoch, as one process's batches split") {
    TempDir dir;
    make_dataset(dir, 7, 4);
    cpu dev(1);
    const PreprocessOptions o{.mode = "crop", .crop_size = 16};
    for (const int ranks : {1, 2, 3})
        for (const int batch : {1, 2}) {
            CAPTURE(ranks);
            CAPTURE(batch);
            // One process with batch ranks x batch: its batches' items, in order.
            std::vector<std::vector<fs::path>> whole;
            {
                Loader<cpu> one(dev, UnalignedDataset(dir.path), o, 3, 3, ranks * batch, 9);
                while (auto b = one.next()) whole.push_back(b->paths_A);
            }
            std::vector<std::vector<Loader<cpu>::Batch>> per_rank(ranks);
            for (int r = 0; r < ranks; ++r) {
                Loader<cpu> loader(dev, UnalignedDataset(dir.path), o, 3, 3, batch, 9, 1, 0, 3, Shard{r, ranks});
                CHECK(loader.batches_per_epoch() == whole.size());
                while (auto b = loader.next()) per_rank[r].push_back(std::move(*b));
            }
            std::multiset<fs::path> seen_A;
            for (std::size_t step = 0; step < whole.size(); ++step) {
                CAPTURE(step);
                std::vector<fs::path> joined;
                double weights = 0;
                for (int r = 0; r < ranks; ++r) {
                    REQUIRE(per_rank[r].size() == whole.size());  // every rank takes every step
                    const auto& b = per_rank[r][step];
                    CHECK(b.count_all == static_cast<long>(whole[step].size()));
                    CHECK(b.A.empty() == (b.count() == 0));
                    joined.insert(joined.end(), b.paths_A.begin(), b.paths_A.end());
                    weights += b.weight();
                }
                CHECK(joined == whole[step]);  // the ranks' parts, in rank order, are the one batch
                CHECK(weights == doctest::Approx(1.0));
                seen_A.insert(joined.begin(), joined.end());
            }
            CHECK(seen_A.size() == 7);
            CHECK(std::set<fs::path>(seen_A.begin(), seen_A.end()).size() == 7);  // each A image exactly once
        }
    cpu dev2(1);
    CHECK_THROWS_AS(Loader<cpu>(dev2, UnalignedDataset(dir.path), o, 3, 3, 1, 1, 1, 0, 3, Shard{2, 2}), std::invalid_argument);
}

TEST_CASE("Loader: a corrupt file surfaces from next() with its name, on every later call too") {
    TempDir dir;
    make_dataset(dir, 4, 2);
    const std::string bytes = read_all(dir / "trainA/102.png");
    write_all(dir / "trainA/102.png", bytes.substr(0, bytes.size() / 2));
    cpu dev(1);
    Loader<cpu> loader(dev, UnalignedDataset(dir.path, {.serial_batches = true}), {.mode = "none"}, 3, 3, 1, 1);
    CHECK(loader.next().has_value());
    CHECK(loader.next().has_value());
    const auto what = error_of([&] { loader.next(); });
    CHECK(contains(what, "102.png"));
    CHECK_THROWS_AS(loader.next(), image_error);
}

TEST_CASE("Loader: images of different sizes in one batch throw unless batch_size is 1") {
    TempDir dir;
    fs::create_directories(dir / "trainA");
    fs::create_directories(dir / "trainB");
    write_image(dir / "trainA/a.png", pattern(16, 12, 3));
    write_image(dir / "trainA/b.png", pattern(20, 12, 3));
    write_image(dir / "trainB/c.png", pattern(16, 12, 3));
    cpu dev(1);
    const PreprocessOptions none{.mode = "none"};
    {
        Loader<cpu> loader(dev, UnalignedDataset(dir.path, {.serial_batches = true}), none, 3, 3, 2, 1);
        const auto what = error_of([&] { loader.next(); });
        CHECK(contains(what, "a.png"));
        CHECK(contains(what, "b.png"));
        CHECK(contains(what, "batch_size 1"));
    }
    Loader<cpu> loader(dev, UnalignedDataset(dir.path, {.serial_batches = true}), none, 3, 3, 1, 1);
    CHECK(loader.next()->A.shape() == Shape{1, 3, 12, 16});
    CHECK(loader.next()->A.shape() == Shape{1, 3, 12, 20});
    CHECK_FALSE(loader.next().has_value());
}

TEST_CASE("Loader: grey and RGB files mixed come out with the requested channels") {
    TempDir dir;
    fs::create_directories(dir / "trainA");
    fs::create_directories(dir / "trainB");
    write_image(dir / "trainA/grey.png", pattern(16, 16, 1));
    write_image(dir / "trainA/rgb.png", pattern(16, 16, 3));
    write_image(dir / "trainA/rgba.png", pattern(16, 16, 4));
    write_image(dir / "trainB/grey.jpg", gradient(16, 16, 1));
    write_image(dir / "trainB/rgb.jpg", gradient(16, 16, 3));
    cpu dev(1);
    const PreprocessOptions o{.mode = "none"};
    for (int channels : {1, 3, 4}) {
        Loader<cpu> loader(dev, UnalignedDataset(dir.path), o, channels, channels, 3, 2);
        const auto b = loader.next();
        REQUIRE(b.has_value());
        CHECK(b->A.shape() == Shape{3, channels, 16, 16});
        CHECK(b->B.shape() == Shape{3, channels, 16, 16});
    }
    CHECK_THROWS_AS(Loader<cpu>(dev, UnalignedDataset(dir.path), o, 2, 3, 1, 1), std::invalid_argument);
    CHECK_THROWS_AS(Loader<cpu>(dev, UnalignedDataset(dir.path), o, 3, 3, 0, 1), std::invalid_argument);
    CHECK_THROWS_AS(Loader<cpu>(dev, UnalignedDataset(dir.path), {.mode = "zoom"}, 3, 3, 1, 1), std::invalid_argument);
}

TEST_CASE("Loader: double-precision backends get the same values") {
    TempDir dir;
    make_dataset(dir, 2, 2);
    cpu dev(1);
    cpu64 dev64(1);
    const PreprocessOptions o{.mode = "crop", .crop_size = 8};
    Loader<cpu> l32(dev, UnalignedDataset(dir.path), o, 3, 3, 2, 3);
    Loader<cpu64> l64(dev64, UnalignedDataset(dir.path), o, 3, 3, 2, 3);
    const auto a = l32.next()->A.to_host(dev);
    const auto b = l64.next()->A.to_host(dev64);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(b[i] == static_cast<double>(a[i]));
}

TEST_CASE("Loader: the destructor returns promptly mid-epoch") {
    TempDir dir;
    make_dataset(dir, 60, 60, 200, 200);
    cpu dev(1);
    const PreprocessOptions o{.mode = "resize_and_crop"};  // a 286x286 bicubic resize per image
    using clock = std::chrono::steady_clock;
    auto seconds_since = [](clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); };
    auto start = clock::now();
    {
        Loader<cpu> loader(dev, UnalignedDataset(dir.path), o, 3, 3, 4, 1);
        while (loader.next()) {
        }
    }
    const double epoch = seconds_since(start);  // 120 decodes and resizes
    for (int take : {0, 1}) {
        CAPTURE(take);
        CAPTURE(epoch);
        start = clock::now();
        {
            Loader<cpu> loader(dev, UnalignedDataset(dir.path), o, 3, 3, 4, 1);
            if (take) CHECK(loader.next().has_value());
            start = clock::now();
        }
        CHECK(seconds_since(start) < epoch / 4);  // at most one image's work after the request to stop
    }
}
