#pragma once
// TIFF through libtiff, where the build found it (CYCLEGAN_HAVE_TIFF, which cyclegan::cyclegan
// defines); without it this header declares nothing.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#if defined(CYCLEGAN_HAVE_TIFF)
#include <cstdarg>
#include <cstdio>
#include <tiffio.h>
#endif

#include "../channels.hpp"
#include "../image.hpp"
#include "bytes.hpp"
#include "orientation.hpp"

namespace cyclegan {
namespace image_detail {

#if defined(CYCLEGAN_HAVE_TIFF)
// libtiff reading from memory, its messages kept for our exception rather than printed.
struct TiffSource {
    const std::vector<unsigned char>* bytes;
    toff_t at = 0;
    std::string message;
};
// libtiff's callbacks (C++ functions in this namespace: no global symbols to clash).
inline tmsize_t tiff_read(thandle_t h, void* buf, tmsize_t n) {
    auto* s = static_cast<TiffSource*>(h);
    if (n < 0 || s->at >= s->bytes->size()) return 0;
    const auto count = static_cast<tmsize_t>(std::min<toff_t>(toff_t(n), s->bytes->size() - s->at));
    std::memcpy(buf, s->bytes->data() + s->at, static_cast<std::size_t>(count));
    s->at += static_cast<toff_t>(count);
    return count;
}
inline tmsize_t tiff_write(thandle_t, void*, tmsize_t) { return -1; }
inline toff_t tiff_seek(thandle_t h, toff_t off, int whence) {
    auto* s = static_cast<TiffSource*>(h);
    const toff_t base = whence == SEEK_CUR ? s->at : whence == SEEK_END ? s->bytes->size() : 0;
    s->at = base + off;
    return s->at;
}
inline int tiff_close(thandle_t) { return 0; }
inline toff_t tiff_size(thandle_t h) { return static_cast<TiffSource*>(h)->bytes->size(); }
inline int tiff_map(thandle_t, void**, toff_t*) { return 0; }
inline void tiff_unmap(thandle_t, void*, toff_t) {}
inline int tiff_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
    char text[512];
    std::vsnprintf(text, sizeof text, fmt, ap);
    static_cast<TiffSource*>(user)->message = std::string(module ? module : "libtiff") + ": " + text;  // the latest
    return 1;  // handled: libtiff prints nothing
}
inline int tiff_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

// The first page of a TIFF, in `channels` channels, as its orientation tag lays it out. Every
// layout libtiff's RGBA interface reads: 1-16 bits, grey, RGB, palette, CMYK, YCbCr, alpha.
// With `header`, only checks that it can be read and fills in its size, decoding nothing.
inline Image read_tiff(const std::vector<unsigned char>& bytes, const std::filesystem::path& path, int channels,
                       ImageInfo* header = nullptr) {
    TiffSource source{&bytes, 0, {}};
    TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(options, tiff_error, &source);
    TIFFOpenOptionsSetWarningHandlerExtR(options, tiff_warning, &source);
    TIFFOpenOptionsSetMaxSingleMemAlloc(options, tmsize_t(1) << 30);  // hostile headers ask for more
    std::unique_ptr<TIFF, void (*)(TIFF*)> handle(
        TIFFClientOpenExt(path.c_str(), "rm", &source, tiff_read, tiff_write, tiff_seek, tiff_close, tiff_size, tiff_map,
                          tiff_unmap, options),
        TIFFClose);
    TIFFOpenOptionsFree(options);
    TIFF* tif = handle.get();
    auto fail = [&](const std::string& why) {
        // libtiff's messages quote the file's name and may quote what the file holds
        return decode_error(path, bytes.size(), "a TIFF",
                            printable(why) + (source.message.empty() ? "" : " (" + printable(source.message) + ")"));
    };
    if (!tif) throw fail("not a readable TIFF");
    std::uint32_t w = 0, h = 0;
    std::uint16_t orientation = ORIENTATION_TOPLEFT;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &orientation);
    check_pixel_count(path, bytes.size(), "a TIFF", w, h);
    char why[1024] = "";
    if (!TIFFRGBAImageOK(tif, why)) throw fail(why);
    if (header) {
        std::uint16_t samples = 1;
        TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &samples);
        *header = orientation >= 5 ? ImageInfo{int(h), int(w), samples} : ImageInfo{int(w), int(h), samples};
        return {};
    }
    // Grey or RGB in 8 or 16 bits, interleaved, in strips or tiles (what cameras, scanners,
    // microscopes, slide scanners and Pillow write): rows as stored, so that values and unassociated alpha stay exact (libtiff's
    // RGBA interface premultiplies such alpha into the colours and rounds 16 bits as v / 257).
    std::uint16_t bits = 1, samples = 1, photometric = 0, planar = PLANARCONFIG_CONTIG, format = SAMPLEFORMAT_UINT;
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &samples);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
    // The extra sample of grey+alpha or RGBA: unassociated alpha as it is, associated
    // (premultiplied) alpha divided out as Pillow does, an unspecified one ignored (opaque).
    std::uint16_t extra_count = 0, *extra = nullptr, alpha_kind = EXTRASAMPLE_UNSPECIFIED;
    if (TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &extra_count, &extra) && extra_count == 1 && extra) alpha_kind = extra[0];
    const bool grey = photometric == PHOTOMETRIC_MINISBLACK && (samples == 1 || samples == 2);
    const bool rgb = photometric == PHOTOMETRIC_RGB && (samples == 3 || samples == 4);
    // Tiled ones too (what TiffWriter writes), their tiles decoded into rows first.
    const std::size_t pixel_bytes = std::size_t(samples) * (bits / 8);
    std::uint32_t tile_w = 0, tile_h = 0;
    if (TIFFIsTiled(tif)) TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tile_w), TIFFGetField(tif, TIFFTAG_TILELENGTH, &tile_h);
    const bool rows_as_stored = !TIFFIsTiled(tif) ? TIFFScanlineSize(tif) == tmsize_t(std::size_t(w) * pixel_bytes)
                                                  : tile_w > 0 && tile_h > 0 && tile_w <= (1u << 14) && tile_h <= (1u << 14) && TIFFTileSize(tif) == tmsize_t(std::size_t(tile_w) * tile_h * pixel_bytes);
    if ((grey || rgb) && (bits == 8 || bits == 16) && planar == PLANARCONFIG_CONTIG && format == SAMPLEFORMAT_UINT && rows_as_stored) {
        Image rgba(int(w), int(h), 4);
        std::vector<std::uint8_t> line(std::size_t(w) * pixel_bytes), tiles;
        if (TIFFIsTiled(tif)) {  // all rows of samples, from the tiles
            tiles.resize(std::size_t(w) * h * pixel_bytes);
            std::vector<std::uint8_t> tile(static_cast<std::size_t>(TIFFTileSize(tif)));
            for (std::uint32_t ty = 0; ty < h; ty += tile_h)
                for (std::uint32_t tx = 0; tx < w; tx += tile_w) {
                    const std::uint32_t index = TIFFComputeTile(tif, tx, ty, 0, 0);
                    if (TIFFReadEncodedTile(tif, index, tile.data(), tmsize_t(tile.size())) < 0)
                        throw fail("damaged image data in tile " + std::to_string(index));
                    for (std::uint32_t y = ty; y < std::min(h, ty + tile_h); ++y)
                        std::memcpy(&tiles[(std::size_t(y) * w + tx) * pixel_bytes], &tile[std::size_t(y - ty) * tile_w * pixel_bytes],
                                    std::min(tile_w, w - tx) * pixel_bytes);
                }
        }
        for (std::uint32_t y = 0; y < h; ++y) {
            if (!tiles.empty()) std::memcpy(line.data(), &tiles[std::size_t(y) * w * pixel_bytes], line.size());
            else if (TIFFReadScanline(tif, line.data(), y, 0) < 0) throw fail("damaged image data in row " + std::to_string(y));
            for (std::uint32_t x = 0; x < w; ++x) {
                std::uint8_t v[4] = {0, 0, 0, 255};
                for (int c = 0; c < samples; ++c) {
                    const std::size_t i = std::size_t(x) * samples + c;
                    std::uint16_t s16 = bits == 8 ? std::uint16_t(line[i] << 8) : 0;
                    if (bits == 16) std::memcpy(&s16, &line[2 * i], 2);  // libtiff gives native order
                    v[c] = static_cast<std::uint8_t>(s16 >> 8);          // the high byte, as for PNG
                }
                if (grey) v[3] = samples == 2 ? v[1] : 255, v[1] = v[2] = v[0];
                if (samples % 2 == 0 && alpha_kind == EXTRASAMPLE_UNSPECIFIED) v[3] = 255;
                if (samples % 2 == 0 && alpha_kind == EXTRASAMPLE_ASSOCALPHA && v[3] != 0)
                    for (int c = 0; c < 3; ++c) v[c] = static_cast<std::uint8_t>(std::min(255, (v[c] * 255 + v[3] / 2) / v[3]));
                std::memcpy(&rgba.pixels[(std::size_t(y) * w + x) * 4], v, 4);
            }
        }
        return apply_orientation(convert_channels(rgba, channels), orientation);
    }
    // Everything else through the RGBA interface, read as stored (top-left) and turned here
    // (libtiff would only flip, never transpose, for orientations 5-8).
    TIFFSetField(tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
    std::vector<std::uint32_t> raster(std::size_t(w) * h);
    if (!TIFFReadRGBAImageOriented(tif, w, h, raster.data(), ORIENTATION_TOPLEFT, 1)) throw fail("damaged image data");
    Image rgba(int(w), int(h), 4);
    for (std::size_t i = 0; i < raster.size(); ++i) {
        const std::uint32_t v = raster[i];
        rgba.pixels[4 * i] = static_cast<std::uint8_t>(TIFFGetR(v));
        rgba.pixels[4 * i + 1] = static_cast<std::uint8_t>(TIFFGetG(v));
        rgba.pixels[4 * i + 2] = static_cast<std::uint8_t>(TIFFGetB(v));
        rgba.pixels[4 * i + 3] = static_cast<std::uint8_t>(TIFFGetA(v));
    }
    return apply_orientation(convert_channels(rgba, channels), orientation);
}
#endif

}  // namespace image_detail
}  // namespace cyclegan
