#pragma once
// TIFF and BigTIFF by parts (issue 27): a file read one region at a time and written one region at
// a time, so that neither image has to fit in memory. Through libtiff, where the build found it
// (CYCLEGAN_HAVE_TIFF); without it this header declares nothing.
//
// Values cross this interface as the networks see them: planes of floats in [-1, 1], 8-bit samples
// as v / 127.5 - 1 (to_chw's) and 16-bit ones as v / 32767.5 - 1; written back they are rounded
// as from_chw rounds, to 255 or 65535 levels.
#if defined(CYCLEGAN_HAVE_TIFF)
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <tiffio.h>
#include <unistd.h>

#include "../core/atomic_file.hpp"
#include "decode/bytes.hpp"
#include "decode/tiff.hpp"
#include "image.hpp"

namespace cyclegan {

namespace tiff_stream_detail {

// libtiff's latest error for our exception rather than its printing.
struct Messages {
    std::string last;
};
inline int on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
    char text[512];
    std::vsnprintf(text, sizeof text, fmt, ap);
    static_cast<Messages*>(user)->last = std::string(module ? module : "libtiff") + ": " + text;
    return 1;
}
inline int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

inline TIFFOpenOptions* open_options(Messages& m) {
    TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(options, on_error, &m);
    TIFFOpenOptionsSetWarningHandlerExtR(options, on_warning, &m);
    TIFFOpenOptionsSetMaxSingleMemAlloc(options, tmsize_t(1) << 30);  // hostile headers ask for more
    return options;
}

// A sample as the networks see it, and back (from_chw's clamping and rounding).
inline float to_unit(std::uint32_t v, int bits) {
    return bits == 8 ? static_cast<float>(v) / 127.5f - 1.0f : static_cast<float>(v) / 32767.5f - 1.0f;
}
inline std::uint32_t from_unit(float x, int bits) {
    const float top = bits == 8 ? 255.0f : 65535.0f;
    float v = (x + 1.0f) / 2.0f * top;
    v = v >= 0.0f ? std::min(v, top) : 0.0f;  // also catches NaN
    return static_cast<std::uint32_t>(std::lround(v));
}

}  // namespace tiff_stream_detail

// The first page of a TIFF or BigTIFF, read a rectangle at a time. Regions are read from the
// strips or tiles that hold them, and the blocks decoded for one region are kept while the next
// regions need them (regions read row by row, left to right, decode each block about once).
//
// Streams grey or RGB, with or without one alpha sample, 8 or 16 bits unsigned, samples
// interleaved, stored top-left (orientation 1), any compression libtiff decodes; JPEG-compressed
// YCbCr comes out as RGB. Anything else (palette, CMYK, planar, 1-bit, turned orientations):
// streams() is false and why_not() says why; read such a file whole (read_image).
class TiffReader {
public:
    // Throws image_error naming the file when it is missing or libtiff cannot open it as a TIFF.
    explicit TiffReader(const std::filesystem::path& path) : path_(path), tif_(nullptr, TIFFClose) {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) throw image_error("read_image: " + image_detail::quoted(path) + ": no such file");
        if (std::filesystem::is_directory(path, ec))
            throw image_error("read_image: " + image_detail::quoted(path) + ": is a folder, not an image file");
        TIFFOpenOptions* options = tiff_stream_detail::open_options(messages_);
        tif_.reset(TIFFOpenExt(path.c_str(), "rm", options));
        TIFFOpenOptionsFree(options);
        if (!tif_) throw error("not a readable TIFF");
        TIFF* tif = tif_.get();
        std::uint32_t w = 0, h = 0;
        std::uint16_t orientation = ORIENTATION_TOPLEFT, bits = 1, samples = 1, photometric = 0, planar = PLANARCONFIG_CONTIG,
                      format = SAMPLEFORMAT_UINT, compression = COMPRESSION_NONE;
        TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
        TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
        TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &orientation);
        TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
        TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &samples);
        TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
        TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
        TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
        TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
        if (w == 0 || h == 0 || w > (1u << 24) || h > (1u << 24))
            throw error("its header says " + std::to_string(w) + "x" + std::to_string(h) + ", empty or a side over 16777216");
        width_ = int(w), height_ = int(h), samples_ = samples, bits_ = bits;
        std::uint16_t extra_count = 0, *extra = nullptr;
        std::uint16_t alpha_kind = EXTRASAMPLE_UNSPECIFIED;
        if (TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &extra_count, &extra) && extra_count == 1 && extra) alpha_kind = extra[0];
        if (photometric == PHOTOMETRIC_YCBCR && compression == COMPRESSION_JPEG && samples == 3 && bits == 8) {
            if (TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB) == 1)  // libjpeg converts to RGB
                photometric = PHOTOMETRIC_RGB;  // else (libtiff without JPEG): not streamed
        }
        const bool grey = photometric == PHOTOMETRIC_MINISBLACK && (samples == 1 || samples == 2);
        const bool rgb = photometric == PHOTOMETRIC_RGB && (samples == 3 || samples == 4);
        colours_ = grey ? 1 : 3;
        alpha_ = samples % 2 == 0 && alpha_kind == EXTRASAMPLE_UNASSALPHA;
        if (!grey && !rgb) why_not_ = "neither grey nor RGB (palette, CMYK, Lab, YCbCr without JPEG ...)";
        else if (bits != 8 && bits != 16) why_not_ = std::to_string(bits) + " bits per sample (8 or 16 stream)";
        else if (format != SAMPLEFORMAT_UINT) why_not_ = "samples that are not unsigned integers";
        else if (planar != PLANARCONFIG_CONTIG) why_not_ = "samples stored in separate planes";
        else if (orientation != ORIENTATION_TOPLEFT) why_not_ = "an orientation tag that turns it";
        else if (samples % 2 == 0 && alpha_kind == EXTRASAMPLE_ASSOCALPHA) why_not_ = "premultiplied alpha";
        tiled_ = TIFFIsTiled(tif);
        if (tiled_) {
            std::uint32_t tw = 0, th = 0;
            TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
            TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
            block_w_ = int(tw), block_h_ = int(th);
        } else {
            std::uint32_t rows = h;
            TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rows);
            block_w_ = width_, block_h_ = int(std::min(rows, h));
        }
        if (why_not_.empty() && (block_w_ < 1 || block_h_ < 1 || (tiled_ && block_w_ % 16) || block_bytes() > (std::size_t(1) << 28)))
            why_not_ = (tiled_ ? "tiles of " : "strips of ") + std::to_string(block_w_) + "x" + std::to_string(block_h_) +
                       " pixels (at most 256 MiB each stream)";
        if (why_not_.empty() && block_bytes() != std::size_t(tiled_ ? TIFFTileSize(tif) : TIFFStripSize(tif)))
            why_not_ = "a block size libtiff reads otherwise";
    }

    // libtiff keeps a pointer to messages_: the reader stays where it was made.
    TiffReader(const TiffReader&) = delete;
    TiffReader& operator=(const TiffReader&) = delete;

    const std::filesystem::path& path() const { return path_; }
    int width() const { return width_; }
    int height() const { return height_; }
    int colours() const { return colours_; }         // 1 (grey) or 3 (RGB)
    bool alpha() const { return alpha_; }            // an unassociated alpha sample follows the colours
    int bits() const { return bits_; }               // 8 or 16 where it streams
    bool streams() const { return why_not_.empty(); }
    const std::string& why_not() const { return why_not_; }
    bool bigtiff() const { return TIFFIsBigTIFF(tif_.get()); }
    bool is_tiled() const { return tiled_; }
    // The rows of a strip or tile, and the bytes of one row of the image as stored: what the blocks
    // kept for a region cost.
    int block_rows() const { return block_h_; }
    std::size_t row_bytes() const {
        const std::size_t blocks_wide = (std::size_t(width_) + block_w_ - 1) / block_w_;  // tiles pad the right edge
        return blocks_wide * block_w_ * samples_ * (bits_ / 8);
    }

    // Rows [y0, y1) and columns [x0, x1) (inside the image) as planes of floats in [-1, 1]:
    // `channels` of them (1 or 3: grey replicated, colour turned grey by convert_channels' luminance,
    // computed on the stored samples), then the alpha plane when `with_alpha` (opaque where the file
    // has none). `out` holds (channels + with_alpha) x (y1 - y0) x (x1 - x0) floats. Throws
    // image_error naming the file and the block on damaged data; std::logic_error when !streams().
    void read(int y0, int y1, int x0, int x1, int channels, bool with_alpha, float* out) {
        if (!streams()) throw std::logic_error("TiffReader::read: " + image_detail::quoted(path_) + " does not stream: " + why_not_);
        if (channels != 1 && channels != 3)
            throw std::invalid_argument("TiffReader::read: " + std::to_string(channels) + " colour channels (1 or 3; alpha apart)");
        if (y0 < 0 || x0 < 0 || y1 > height_ || x1 > width_ || y0 >= y1 || x0 >= x1)
            throw std::invalid_argument("TiffReader::read: rows " + std::to_string(y0) + ".." + std::to_string(y1) + ", columns " +
                                        std::to_string(x0) + ".." + std::to_string(x1) + " are not inside " +
                                        image_detail::size_text(width_, height_));
        // Blocks above these rows are not read again by regions that go on down the image.
        for (auto it = cache_.begin(); it != cache_.end();)
            it = it->first.row * block_h_ + block_h_ <= y0 || it->first.row * block_h_ >= y1 ? cache_.erase(it) : std::next(it);
        const std::size_t plane = std::size_t(y1 - y0) * (x1 - x0);
        const int stored = samples_;
        for (int br = y0 / block_h_; br * block_h_ < y1; ++br)
            for (int bc = x0 / block_w_; bc * block_w_ < x1; ++bc) {
                const std::vector<std::uint8_t>& block = decoded({br, bc});
                const int by0 = std::max(y0, br * block_h_), by1 = std::min(y1, br * block_h_ + block_h_);
                const int bx0 = std::max(x0, bc * block_w_), bx1 = std::min(x1, bc * block_w_ + block_w_);
                for (int y = by0; y < by1; ++y)
                    for (int x = bx0; x < bx1; ++x) {
                        const std::size_t at = (std::size_t(y - br * block_h_) * block_w_ + (x - bc * block_w_)) * stored;
                        std::uint32_t v[4];
                        for (int c = 0; c < stored; ++c) {
                            if (bits_ == 8) {
                                v[c] = block[at + c];
                            } else {
                                std::uint16_t s;
                                std::memcpy(&s, &block[2 * (at + c)], 2);  // libtiff gives native order
                                v[c] = s;
                            }
                        }
                        const std::size_t i = std::size_t(y - y0) * (x1 - x0) + (x - x0);
                        if (channels == 3) {
                            for (int c = 0; c < 3; ++c) out[c * plane + i] = tiff_stream_detail::to_unit(v[colours_ == 3 ? c : 0], bits_);
                        } else {
                            const std::uint32_t grey = colours_ == 3 ? (v[0] * 77 + v[1] * 150 + v[2] * 29) >> 8 : v[0];
                            out[i] = tiff_stream_detail::to_unit(grey, bits_);
                        }
                        if (with_alpha) out[channels * plane + i] = alpha_ ? tiff_stream_detail::to_unit(v[colours_], bits_) : 1.0f;
                    }
            }
    }

private:
    struct Block {
        int row, column;
        bool operator<(const Block& o) const { return row != o.row ? row < o.row : column < o.column; }
    };

    std::size_t block_bytes() const { return std::size_t(block_w_) * block_h_ * samples_ * (bits_ / 8); }

    const std::vector<std::uint8_t>& decoded(Block b) {
        auto found = cache_.find(b);
        if (found != cache_.end()) return found->second;
        std::vector<std::uint8_t> data(block_bytes());
        TIFF* tif = tif_.get();
        const std::uint32_t index = tiled_ ? TIFFComputeTile(tif, std::uint32_t(b.column * block_w_), std::uint32_t(b.row * block_h_), 0, 0)
                                           : TIFFComputeStrip(tif, std::uint32_t(b.row * block_h_), 0);
        const tmsize_t got = tiled_ ? TIFFReadEncodedTile(tif, index, data.data(), tmsize_t(data.size()))
                                    : TIFFReadEncodedStrip(tif, index, data.data(), tmsize_t(data.size()));
        if (got < 0)
            throw error(std::string("damaged image data in ") + (tiled_ ? "tile " : "strip ") + std::to_string(index) +
                        " (truncated or corrupt file?)");
        return cache_.emplace(b, std::move(data)).first->second;
    }

    image_error error(const std::string& why) const {
        std::error_code ec;
        const auto size = std::filesystem::file_size(path_, ec);
        return image_detail::decode_error(path_, ec ? 0 : std::size_t(size), "a TIFF",
                                          printable(why) + (messages_.last.empty() ? "" : " (" + printable(messages_.last) + ")"));
    }

    std::filesystem::path path_;
    tiff_stream_detail::Messages messages_;
    std::unique_ptr<TIFF, void (*)(TIFF*)> tif_;
    int width_ = 0, height_ = 0, samples_ = 1, bits_ = 8, colours_ = 1, block_w_ = 1, block_h_ = 1;
    bool alpha_ = false, tiled_ = false;
    std::string why_not_;
    std::map<Block, std::vector<std::uint8_t>> cache_;
};

// Whether an image of these sides, channels and bits needs BigTIFF (64-bit offsets): when its
// samples could reach 2 GiB; compression shrinks most, but not all, images.
inline bool needs_bigtiff(int width, int height, int channels, int bits) {
    return double(width) * height * channels * (bits / 8) >= double(std::uint64_t(1) << 31);
}

// A TIFF (or BigTIFF) written a region at a time: tiles of 256x256, deflate-compressed with the
// horizontal predictor, 8 or 16 bits, grey (1), grey + alpha (2), RGB (3) or RGBA (4; unassociated
// alpha). Regions may come in any order and sizes; each row of tiles is encoded and written as soon
// as all its pixels have come, so memory holds only the tile rows begun and not finished. The file
// is written under a temporary name and appears at `path` only on finish() (AtomicFile): an
// exception or a writer destroyed before then leaves no file and any previous one intact. Throws
// image_error naming the file.
class TiffWriter {
public:
    static constexpr int tile_side = 256;

    TiffWriter(const std::filesystem::path& path, int width, int height, int channels, int bits,
               std::optional<bool> bigtiff = std::nullopt)
        : file_(init(path, width, height, channels, bits)), tif_(nullptr, TIFFClose) {
        const bool big = bigtiff.value_or(needs_bigtiff(width, height, channels, bits));
        TIFFOpenOptions* options = tiff_stream_detail::open_options(messages_);
        const int fd = ::dup(file_.fd());  // libtiff closes its own; the AtomicFile flushes and renames
        if (fd < 0) throw error("cannot duplicate the temporary file's descriptor");
        tif_.reset(TIFFFdOpenExt(fd, path.c_str(), big ? "w8" : "w", options));
        TIFFOpenOptionsFree(options);
        if (!tif_) {
            ::close(fd);
            throw error("libtiff cannot start the file");
        }
        TIFF* tif = tif_.get();
        TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, std::uint32_t(width));
        TIFFSetField(tif, TIFFTAG_IMAGELENGTH, std::uint32_t(height));
        TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, std::uint16_t(channels));
        TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, std::uint16_t(bits));
        TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
        TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, channels >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
        TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
        if (channels % 2 == 0) {
            const std::uint16_t extra[] = {EXTRASAMPLE_UNASSALPHA};
            TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, 1, extra);
        }
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
        TIFFSetField(tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
        TIFFSetField(tif, TIFFTAG_TILEWIDTH, std::uint32_t(tile_side));
        TIFFSetField(tif, TIFFTAG_TILELENGTH, std::uint32_t(tile_side));
        TIFFSetField(tif, TIFFTAG_SOFTWARE, "cyclegan");
    }
    TiffWriter(const TiffWriter&) = delete;
    TiffWriter& operator=(const TiffWriter&) = delete;

    int width() const { return width_; }
    int height() const { return height_; }
    int channels() const { return channels_; }
    int bits() const { return bits_; }
    // The bytes of one row of tiles' samples: what each row held until its tiles are written costs.
    std::size_t row_bytes() const { return std::size_t(padded_width_) * channels_ * (bits_ / 8); }

    // Rows [y0, y0 + h), columns [x0, x0 + w) from planes of floats in [-1, 1] (channels() x h x w),
    // rounded to the file's levels as from_chw rounds. A pixel written twice keeps the later value
    // (and must not be: the tile row would be counted complete too early). Throws
    // std::invalid_argument for a region outside the image.
    void write(int y0, int x0, int h, int w, const float* chw) {
        if (y0 < 0 || x0 < 0 || h < 1 || w < 1 || y0 >= height_ || x0 >= width_ || h > height_ - y0 || w > width_ - x0)
            throw std::invalid_argument("TiffWriter::write: a " + image_detail::size_text(w, h) + " region at " + std::to_string(x0) +
                                        "," + std::to_string(y0) + " is not inside " + image_detail::size_text(width_, height_));
        const std::size_t plane = std::size_t(h) * w;
        for (int y = y0; y < y0 + h; ++y) {
            TileRow& row = tile_row(y / tile_side);
            const std::size_t bytes = bits_ / 8;
            for (int x = x0; x < x0 + w; ++x)
                for (int c = 0; c < channels_; ++c) {
                    const std::uint32_t v = tiff_stream_detail::from_unit(chw[c * plane + std::size_t(y - y0) * w + (x - x0)], bits_);
                    std::uint8_t* at = &row.samples[((std::size_t(y % tile_side) * padded_width_ + x) * channels_ + c) * bytes];
                    if (bytes == 1) *at = static_cast<std::uint8_t>(v);
                    else {
                        const auto s = static_cast<std::uint16_t>(v);
                        std::memcpy(at, &s, 2);
                    }
                }
            row.written += std::size_t(w);
        }
        for (auto it = rows_.begin(); it != rows_.end();) {
            const int r = it->first;
            const std::size_t pixels = std::size_t(std::min(tile_side, height_ - r * tile_side)) * width_;
            if (it->second.written == pixels) {
                encode(r, it->second);
                it = rows_.erase(it);
            } else {
                ++it;
            }
        }
    }

    // Writes the file's directory and puts the file at its path. Throws image_error naming the file
    // when pixels are missing or the disk refuses.
    void finish() {
        if (!tif_) throw std::logic_error("TiffWriter::finish: " + image_detail::quoted(path_) + " was finished already");
        if (!rows_.empty() || encoded_rows_ != (height_ + tile_side - 1) / tile_side)
            throw error("not every pixel was written (" + std::to_string(encoded_rows_) + " of " +
                        std::to_string((height_ + tile_side - 1) / tile_side) + " rows of tiles)");
        TIFF* tif = tif_.release();
        const bool flushed = TIFFFlush(tif) == 1;
        TIFFClose(tif);
        if (!flushed) throw error("writing the directory failed (disk full?)");
        try {
            file_.commit();
        } catch (const io_error& e) {
            throw image_error(std::string("write_image: ") + e.what());
        }
    }

private:
    struct TileRow {
        std::vector<std::uint8_t> samples;  // tile_side rows of the padded width, interleaved
        std::size_t written = 0;            // pixels written into it
    };

    // Checks the arguments before anything is created.
    AtomicFile init(const std::filesystem::path& path, int width, int height, int channels, int bits) {
        path_ = path, width_ = width, height_ = height, channels_ = channels, bits_ = bits;
        if (width < 1 || height < 1 || width > (1 << 24) || height > (1 << 24))
            throw error("cannot write an image of " + image_detail::size_text(width, height));
        if (channels < 1 || channels > 4) throw error(std::to_string(channels) + " channels (1 to 4)");
        if (bits != 8 && bits != 16) throw error(std::to_string(bits) + " bits per sample (8 or 16)");
        padded_width_ = (width + tile_side - 1) / tile_side * tile_side;
        try {
            return AtomicFile(path);
        } catch (const io_error& e) {
            throw image_error(std::string("write_image: ") + e.what());
        }
    }

    TileRow& tile_row(int r) {
        auto [it, added] = rows_.try_emplace(r);
        if (added) it->second.samples.assign(std::size_t(tile_side) * padded_width_ * channels_ * (bits_ / 8), 0);
        return it->second;
    }

    void encode(int r, TileRow& row) {
        const std::size_t bytes = bits_ / 8, line = std::size_t(tile_side) * channels_ * bytes;
        std::vector<std::uint8_t> tile(line * tile_side);
        for (int x = 0; x < width_; x += tile_side) {
            for (int y = 0; y < tile_side; ++y)
                std::memcpy(&tile[y * line], &row.samples[(std::size_t(y) * padded_width_ + x) * channels_ * bytes], line);
            const std::uint32_t index = TIFFComputeTile(tif_.get(), std::uint32_t(x), std::uint32_t(r * tile_side), 0, 0);
            if (TIFFWriteEncodedTile(tif_.get(), index, tile.data(), tmsize_t(tile.size())) < 0)
                throw error("writing tile " + std::to_string(index) + " failed (disk full?)");
        }
        ++encoded_rows_;
    }

    image_error error(const std::string& why) const {
        return image_error("write_image: " + image_detail::quoted(path_) + ": " + why +
                           (messages_.last.empty() ? "" : " (" + printable(messages_.last) + ")"));
    }

    std::filesystem::path path_;
    int width_ = 0, height_ = 0, channels_ = 0, bits_ = 8, padded_width_ = 0;
    tiff_stream_detail::Messages messages_;
    AtomicFile file_;
    std::unique_ptr<TIFF, void (*)(TIFF*)> tif_;
    std::map<int, TileRow> rows_;
    int encoded_rows_ = 0;
};

}  // namespace cyclegan
#endif
