#pragma once
// A trained generator as a function from images to images, for applications:
//
//   cyclegan::cpu dev;
//   auto horse2zebra = cyclegan::Translator<cyclegan::cpu>::load(dev, "horse2zebra.safetensors",
//                                                                 cyclegan::Direction::AtoB);
//   cyclegan::Image zebra = horse2zebra(cyclegan::read_image("horse.png", 4));  // any size; alpha kept
//
// The architecture comes from the file (what cyclegan-train and tools/convert_reference.py record),
// so any generator the programs train loads: resnet_6blocks / resnet_9blocks / unet_128 / unet_256,
// any ngf, norm, channel count, dropout, upsampling. A generator of your own loads as
// Translator<cpu, MyGenerator>::load(dev, path, options) (docs/custom-networks.md).
#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <span>
#include <string>
#include <vector>

#include "backend/cpu/cpu.hpp"  // Translator<cpu>, compiled once where the build has the library
#include "core/choice.hpp"
#include "core/compiled.hpp"
#include "models/tiled.hpp"
#include "io/checkpoint.hpp"
#include "image/channels.hpp"
#include "image/file.hpp"
#include "image/tiff_stream.hpp"
#include "image/image.hpp"
#include "io/image_tensor.hpp"
#include "models/any_model.hpp"
#include "models/cycle_gan.hpp"

namespace cyclegan {

// Which generator of a CycleGAN: G_A (A to B) or G_B (B to A).
enum class Direction { AtoB, BtoA };
inline constexpr Choice<Direction> direction_choices[] = {{"AtoB", Direction::AtoB}, {"BtoA", Direction::BtoA}};

// "AtoB" or "BtoA"; throws std::invalid_argument naming the valid ones.
inline Direction parse_direction(const std::string& s) { return parse_choice(direction_choices, s, "direction"); }

// One generator of a saved CycleGAN or a saved generator, as a function from images to images.
// Calls may come from several threads: they take turns (one device's caches are not shared
// safely), so results equal serial calls; for throughput on many cores, load one per thread.
// Each call's working memory is released when it returns, so repeated calls do not grow.
//
// Translator<B> reads the architecture from the file (the library's generators). Translator<B, G>
// takes a generator type of your own, G (what CycleGAN<G, D> trained; models/model_network.hpp),
// built from the options you give, and loads its weights into it by name:
//
//   auto t = cyclegan::Translator<cyclegan::cpu, MyGenerator>::load(dev, "model.safetensors", options);
template <class B, class G = AnyGenerator<B>>
class Translator {
    static_assert(check_model_generator<G>());
    static_assert(std::same_as<typename G::backend, B>,
                  "Translator<B, G>: the generator must run on backend B (MyGenerator<cpu> with Translator<cpu, ...>)");
    static constexpr bool from_file = std::same_as<G, AnyGenerator<B>>;

public:
    using Options = typename G::Options;

    // Reads the architecture and only the chosen generator's tensors from `path`:
    // - a training checkpoint (cyclegan-train) or a converted reference model
    //   (tools/convert_reference.py): the generator `direction` names, G_A for AtoB, G_B for BtoA;
    // - a single generator's file (save_network, or a reference state_dict saved as safetensors
    //   with its own names, "model.1.weight"): that generator, whatever `direction` says.
    // The architecture is the file's record (`info.*`); a file without one is recognised by its
    // tensors' names and dims (AnyGenerator::infer_options). Throws std::runtime_error,
    // std::invalid_argument, safetensors::format_error or checkpoint_error naming the file (its name
    // and what it holds shown as printable() shows them): missing or truncated, no generator for
    // that direction, another model kind than a CycleGAN, an architecture the library does not
    // know (the message names the route for a network of your own), tensors of another shape
    // (naming the recorded options that differ from the tensors', where the tensors are a
    // generator's it knows).
    static Translator load(B& dev, const std::filesystem::path& path, Direction direction = Direction::AtoB);

    // Your own generator type G (CycleGAN<G, D>'s), built from `options`: those the model was
    // trained with, G_A's (A to B). In a CycleGAN's file `direction` picks G_A, or G_B built with
    // input_nc and output_nc swapped (as CycleGAN builds it); a single generator's file
    // (save_network(path, net, "") or with the network's own names) is built from `options` as
    // they are. The weights are loaded by name, checked as load_network checks them: a file written
    // for another architecture throws checkpoint_error listing the differences.
    static Translator load(B& dev, const std::filesystem::path& path, const Options& options,
                           Direction direction = Direction::AtoB)
        requires(!from_file)
    {
        auto file = safetensors::LazyFile::open(path);
        const Source source = locate(file, path, direction);
        Options built = options;
        if (source.cyclegan_file && direction == Direction::BtoA) std::swap(built.input_nc, built.output_nc);
        return Translator(dev, file, built, source.prefix);
    }

    // Layers of one backend on a device of another: a sentence, not "no matching function".
    template <class Device, class... Rest>
        requires(!std::derived_from<Device, B>)
    static Translator load(Device& dev, const std::filesystem::path& path, const Rest&... rest) {
        return load(device_of_backend<B>(dev), path, rest...);
    }

    // The image translated, at its own size (any size of at least 1x1), with the generator's
    // output channels. Its channels (1 to 4) are first converted to the generator's input channels
    // (convert_channels); an image with transparency keeps its alpha channel on an output of 1 or
    // 3 channels (so the output has 2 or 4). Throws std::invalid_argument for an image that is not
    // one (check_image).
    Image operator()(const Image& img) { return std::move((*this)(std::span<const Image>(&img, 1)).front()); }

    // The same for pixels the caller holds, interleaved 8-bit (image_from_pixels): a buffer whose
    // length is not width x height x channels throws std::invalid_argument.
    Image operator()(std::span<const std::uint8_t> pixels, int width, int height, int channels) {
        return (*this)(image_from_pixels(pixels, width, height, channels));
    }

    // Images of one size (and channel count) translated as one batch: the same results as one call
    // each, up to the last bit of rounding, in fewer passes. Throws std::invalid_argument when the
    // sizes differ or there are no images.
    std::vector<Image> operator()(std::span<const Image> images);

    // A batch [N, input channels, H, W] in [-1, 1] with sides the generator takes (size_rule()),
    // to its output [N, output channels, H, W]; throws shape_error naming the shape otherwise.
    Tensor<B> operator()(const Tensor<B>& x) {
        const Shape s = x.shape();
        if (s.c != input_channels() || !sizes_.takes(s.h, s.w) || s.n < 1)
            throw shape_error("Translator: expected [N, " + std::to_string(input_channels()) + ", H, W] with " +
                              sizes_.describe() + ", got " + to_string(s));
        std::lock_guard<std::mutex> turn(*mutex_);
        return net_(x);
    }

    // The image file `in` translated into the file `out`, its format chosen by the extension (.png,
    // .jpg, .jpeg, .tif, .tiff), with this translator's tiling, memory budget and progress. A TIFF or
    // BigTIFF that streams (TiffReader::streams: grey or RGB, 8 or 16 bits ...) translated into a
    // TIFF goes by parts: the input read by regions as the tiles ask for them, the output written a
    // row of 256-pixel tiles at a time, so that neither image is held whole (a budget then counts
    // only the rows of them in flight); its alpha, if it has one, goes to the output as it is.
    // Every other pair reads the image whole and writes the result whole (read_image,
    // write_image). `bits`: the output TIFF's bits per sample, 8 or 16; 0 is the input's (16 for a
    // 16-bit TIFF streamed into a TIFF, else 8). The output appears only when complete: an error or
    // translation_interrupted leaves no file and any earlier one at `out` intact. Throws image_error
    // naming the file that failed (a TIFF output in a build without libtiff: before translating),
    // std::invalid_argument for bits other than 0, 8 or 16, or 16 bits into a PNG or JPEG or from
    // an input that does not stream, and what operator() throws.
    struct FileOptions {
        int bits = 0;
    };
    void translate_file(const std::filesystem::path& in, const std::filesystem::path& out, const FileOptions& options = {});

    // Tiled translation from now on (models/tiled.hpp): each image in tiles of `o.tile` pixels, its
    // norms normalised by the whole image's statistics (exact) or by sampled windows' (sampled),
    // so that memory follows the tile, not the image. A halo below 0 means the generator's receptive
    // radius rounded up to its size rule's multiple; an explicit one is rounded up the same way.
    // std::nullopt: whole images again (the default). Throws std::invalid_argument for a generator
    // without a receptive radius (a U-Net's is the whole image: its tiles could not join without
    // seams) or options that do not fit (TiledOptions::check).
    void set_tiling(std::optional<TiledOptions> o) {
        if (o) {
            const int m = sizes_.multiple;
            if (o->halo < 0) {
                const std::optional<int> radius = receptive_radius();
                if (!radius)
                    throw std::invalid_argument("tiled translation: this generator's receptive field is the whole image (a "
                                                "U-Net's), so its tiles could not join without seams; translate whole images");
                o->halo = *radius;
            }
            o->halo = (o->halo + m - 1) / m * m;
            o->tile = std::max(m, (o->tile + m - 1) / m * m);
            o->check(m);
        }
        tiling_ = o;
    }
    const std::optional<TiledOptions>& tiling() const { return tiling_; }

    // Called after each tile of a tiled translation (models/tiled.hpp: TileProgress); returning
    // false stops it, and the call translating throws translation_interrupted. Whole images run in
    // one piece and report nothing. An empty function: no reports (the default).
    void set_progress(TileProgressCallback progress) { progress_ = std::move(progress); }

    // Translations from now on keep their tensors, the weights included, within `bytes` where they
    // can: an image whose whole translation needs more goes in tiles (with `statistics`: exact, or
    // sampled, whose windows run at once and are made as wide as fits; models/tiled.hpp) of the
    // largest side that fits, beside its input and output held whole (or, by translate_file's route
    // by parts, rows of them). The kernels' scratch and the transformed weights (about 300 MB for
    // resnet_9blocks, docs/performance.md) count in the budget as they were when it was set. What a
    // translation needs is measured, not assumed: setting a budget runs the generator on two small
    // images and reads the device's peak (memory_need). std::nullopt: no budget. A tiling set with
    // set_tiling goes first. Throws std::invalid_argument on a backend that does not count its
    // tensors; a translation throws std::invalid_argument naming what it needs for an image no tile
    // fits, or a U-Net image too large to go whole.
    void set_memory_budget(std::optional<std::size_t> bytes, TileStatistics statistics = TileStatistics::exact) {
        budget_statistics_ = statistics;
        if (bytes && !need_) {
            if constexpr (requires(B& d) { d.peak_tensor_bytes(); }) {
                std::lock_guard<std::mutex> turn(*mutex_);
                need_ = measure_need();
            } else {
                throw std::invalid_argument("a memory budget needs a backend that counts its tensors (the CPU's)");
            }
        }
        budget_ = bytes;
    }

    // The tensors' bytes for one image of `pixels` pixels (padded to the size rule): `fixed` (the
    // weights and what does not grow with the image) plus `per_pixel` per pixel; both measured on
    // this device when a budget was first set.
    struct MemoryNeed {
        double fixed = 0, per_pixel = 0;
        double bytes(double pixels) const { return fixed + per_pixel * pixels; }
    };
    const std::optional<MemoryNeed>& memory_need() const { return need_; }

    // Input pixels on each side of an output pixel that it depends on; none for a U-Net.
    std::optional<int> receptive_radius() const {
        auto of = []<class T>(std::type_identity<T>) -> std::optional<int> {
            if constexpr (requires { T::receptive_radius; }) return T::receptive_radius;
            else return std::nullopt;
        };
        if constexpr (from_file) return with_generator_type<B>(options_.netG, of);
        else return of(std::type_identity<G>{});
    }

    int input_channels() const { return options_.input_nc; }
    int output_channels() const { return options_.output_nc; }
    SizeRule size_rule() const { return sizes_; }
    // The generator's architecture: recorded in the file or recognised from its tensors
    // (Translator<B>), or the options given, swapped for BtoA in a CycleGAN's file.
    const Options& options() const { return options_; }

private:
    static constexpr const char* own_network_route =
        " (for a generator of your own, load it with Translator<B, YourGenerator>::load(dev, path, options), which "
        "builds it from your options and loads its weights by name: docs/custom-networks.md)";

    // Where in the file the chosen generator is: its tensors' prefix ("G_A." in a CycleGAN's file,
    // "" in a single generator's) and their names (without it) and dims.
    struct Source {
        bool cyclegan_file = false;
        std::string prefix;
        std::map<std::string, std::vector<std::int64_t>> dims;
    };
    static Source locate(const safetensors::LazyFile& file, const std::filesystem::path& path, Direction direction) {
        const std::string where = printable(path.string());
        // A CycleGAN's file names each network's tensors by its name in the model (G_A., D_B.,
        // optimizer. ...; CycleGANNames).
        std::vector<std::string> roles{checkpoint_detail::optimizer_prefix, checkpoint_detail::pool_prefix};
        for (const char* network : CycleGANNames::networks) roles.push_back(std::string(network) + ".");
        Source source;
        for (const auto& [name, info] : file.tensors())
            for (const std::string& role : roles)
                if (name.starts_with(role)) source.cyclegan_file = true;
        const std::string generator = CycleGANNames::networks[direction == Direction::AtoB ? 0 : 1];
        source.prefix = source.cyclegan_file ? generator + "." : "";
        source.dims = network_tensors(file, source.prefix);
        if (source.dims.empty() && source.cyclegan_file)
            throw std::runtime_error(where + ": holds no " + generator + " generator for direction " +
                                     choice_name(direction_choices, direction) + " (its tensors' names begin with " +
                                     checkpoint_detail::name_prefixes(file.tensors()) + ")");
        if (source.dims.empty()) throw std::runtime_error(where + ": holds no tensors");
        return source;
    }

    // The sides the generator is given: a file's generator keeps the rule it was always translated
    // with (its name's, the reference's options), so outputs do not change; your own, its layers'.
    static SizeRule sizes_of(const G& g) {
        if constexpr (from_file) return AnyGenerator<B>::size_rule_of(g.name());
        else return derive_size_rule(g, Output::same_size);
    }

    Translator(B& dev, safetensors::LazyFile& file, const Options& options, const std::string& prefix);

    static Network<G> make_network(B& dev, const Options& options) {
        G g(options);
        const std::string name = network_prefix(g);
        return Network<G>(dev, std::move(g), name);
    }

    B* dev_;
    Options options_;
    Network<G> net_;
    SizeRule sizes_;
    std::optional<TiledOptions> tiling_;
    TileProgressCallback progress_;
    std::optional<std::size_t> budget_;
    TileStatistics budget_statistics_ = TileStatistics::exact;
    std::optional<MemoryNeed> need_;

    // Two inferences of blank images at two sides: the peak of tensors grows by per_pixel per pixel.
    MemoryNeed measure_need() {
        auto peak_at = [&](int side) {
            const Shape s{1, options_.input_nc, side, side};
            dev_->reset_peak_memory();
            const std::size_t before = dev_->tensor_bytes();
            {
                const Tensor<B> x = Tensor<B>::zeros(*dev_, s);
                (void)net_(x);
            }
            return double(dev_->peak_tensor_bytes() - before);
        };
        // Sides at which the kernels' scratch has reached its full size (at 128 it is a quarter of it).
        const int small = sizes_.padded(256), large = sizes_.padded(2 * small);
        const double at_small = peak_at(small), at_large = peak_at(large);
        MemoryNeed need;
        need.per_pixel = (at_large - at_small) / (double(large) * large - double(small) * small);
        need.fixed = at_small - need.per_pixel * small * small + double(net_.parameters().numel() + net_.buffers().numel()) *
                                                                     sizeof(typename B::scalar);
        // What the kernels keep beside the tensors: the weights transformed for them, and their
        // scratch (process-wide, as large as the largest layer so far needed).
        if constexpr (requires(B& d) {
                          d.weight_cache_bytes();
                          B::scratch_bytes();
                      })
            need.fixed += double(dev_->weight_cache_bytes() + B::scratch_bytes());
        return need;
    }

    // The need is measured on square images: oblong ones and tiles clipped by the image's edges
    // allocate a little otherwise (0.6% more was seen), so 5% of the budget is kept in reserve.
    double usable_budget() const { return 0.95 * double(*budget_); }

    // The tiling that keeps one image of height x width (padded) within the budget; none when it
    // fits whole. `streamed`: the input and output are files read and written by parts, of which
    // rows are held (TiffReader's blocks, TiffWriter's tile rows), not the images.
    struct RowsHeld {
        double input_row_bytes = 0, output_row_bytes = 0;
        int input_block_rows = 0;
        double tile_pixel_bytes = 0;  // host buffers per pixel of a tile's input (translate_streamed's)
    };
    std::optional<TiledOptions> tiling_within_budget(int height, int width, const RowsHeld* streamed = nullptr) const {
        const double pixels = double(height) * width;
        if (need_->bytes(pixels) <= usable_budget()) return std::nullopt;
        const std::string size = std::to_string(width) + "x" + std::to_string(height);
        const std::optional<int> radius = receptive_radius();
        if (!radius)
            throw std::invalid_argument("a " + size + " image needs " + bytes_text(need_->bytes(pixels)) +
                                        " to translate whole, over the memory budget of " + bytes_text(double(*budget_)) +
                                        ", and this generator (a U-Net) cannot go in tiles: raise the budget");
        const int m = sizes_.multiple, halo = (*radius + m - 1) / m * m;
        const double whole_images = pixels * (options_.input_nc + options_.output_nc) * sizeof(typename B::scalar);
        // The largest tile whose input (with its halo, clipped to the image) fits beside them.
        // By parts: the blocks of input that meet a tile's rows with its halos (a block more on
        // either side), and the output's rows of 256-pixel tiles begun and not finished (the
        // tile's rows and one row of tiles more on either side).
#if defined(CYCLEGAN_HAVE_TIFF)
        constexpr int output_tile_rows = TiffWriter::tile_side;
#else
        constexpr int output_tile_rows = 0;  // nothing goes by parts without libtiff
#endif
        auto held = [&](int tile) {
            if (!streamed) return whole_images;
            const double side = std::min(tile + 2 * halo, std::max(height, width));
            return double(std::min(tile + 2 * halo + 2 * streamed->input_block_rows, height)) * streamed->input_row_bytes +
                   double(std::min(tile + 2 * output_tile_rows, height)) * streamed->output_row_bytes +
                   side * side * streamed->tile_pixel_bytes;
        };
        auto need_with = [&](int tile) {
            return need_->bytes(double(std::min(tile + 2 * halo, height)) * std::min(tile + 2 * halo, width)) + held(tile);
        };
        int tile = (std::max(height, width) + m - 1) / m * m;
        while (tile > m && need_with(tile) > usable_budget()) tile -= m;
        if (need_with(tile) > usable_budget())
            throw std::invalid_argument("a " + size + " image needs at least " + bytes_text(need_with(m)) +
                                        " to translate in tiles (" +
                                        (streamed ? "rows of its input and output" : "its input and output held whole") +
                                        ", the smallest tile with its "
                                        "halo of " + std::to_string(halo) + "), over the memory budget of " +
                                        bytes_text(double(*budget_)) + ": raise the budget");
        TiledOptions tiles{.tile = tile, .halo = halo, .statistics = budget_statistics_};
        if (budget_statistics_ == TileStatistics::sampled) {
            // The windows run as one batch: as wide as lets all of them fit at once.
            auto windows_need = [&](int side) {
                return need_->bytes(double(tiles.sample_windows) * std::min(side, height) * std::min(side, width)) + held(tile);
            };
            int side = tile + 2 * halo;
            while (side > 2 * halo + m && windows_need(side) > usable_budget()) side -= m;
            if (windows_need(side) > usable_budget())
                throw std::invalid_argument("a " + size + " image needs at least " + bytes_text(windows_need(2 * halo + m)) +
                                            " for its sampled statistics (" + std::to_string(tiles.sample_windows) +
                                            " windows at once, each wider than two halos of " + std::to_string(halo) +
                                            "), over the memory budget of " + bytes_text(double(*budget_)) +
                                            ": raise the budget, or use exact statistics");
            tiles.window = side;
        }
        return tiles;
    }
#if defined(CYCLEGAN_HAVE_TIFF)
    // translate_file's route by parts: `reader` (which streams) into a TIFF of `bits` at `out`.
    void translate_streamed(TiffReader& reader, const std::filesystem::path& out, int bits);
#endif
    std::unique_ptr<std::mutex> mutex_;  // a Translator can be moved
};

// Out of the class, so not inline: with the compiled kernels the library holds Translator<cpu>'s
// (below; backend/cpu/compiled.hpp says why).
template <class B, class G>
Translator<B, G> Translator<B, G>::load(B& dev, const std::filesystem::path& path, Direction direction) {
    static_assert(from_file, "Translator<B, G>::load(dev, path, direction): only Translator<B> reads the "
                             "architecture from the file; give your generator's options: "
                             "Translator<B, G>::load(dev, path, options, direction)");
    auto file = safetensors::LazyFile::open(path);
    const std::string where = printable(path.string());
    const auto [cyclegan_file, prefix, dims] = locate(file, path, direction);

    const std::map<std::string, std::string> record = checkpoint_detail::info_entries(file.metadata());
    if (const auto model = record.find("model"); model != record.end() && model->second != "cycle_gan")
        throw std::runtime_error(where + ": holds a " + printable(model->second) + " model; Translator runs a CycleGAN's generators");
    AnyGeneratorOptions options;
    try {
        if (!record.count(record_keys::netG))
            return Translator(dev, file, AnyGenerator<B>::infer_options(dims, path.string()), prefix);
        options = generator_options_from_record(record, path.string());
    } catch (const std::invalid_argument& e) {
        const auto& known = generator_names();
        const auto recorded = record.find(record_keys::netG);
        if (recorded != record.end() && std::find(known.begin(), known.end(), recorded->second) != known.end()) throw;
        throw std::invalid_argument(std::string(e.what()) + own_network_route);  // an architecture it does not know
    }
    // A CycleGAN's record is of the A to B direction; the other generator maps B to A.
    const bool reversed = cyclegan_file && direction == Direction::BtoA;
    if (reversed) std::swap(options.input_nc, options.output_nc);
    try {
        return Translator(dev, file, options, prefix);
    } catch (const checkpoint_error&) {
        // The record and the tensors disagree (a file converted with other options than its
        // model's): name the options, when the tensors tell which generator they are.
        const std::exception_ptr tensors_differ = std::current_exception();
        AnyGeneratorOptions found;
        try {
            found = AnyGenerator<B>::infer_options(dims, path.string());
        } catch (const std::invalid_argument&) {
            std::rethrow_exception(tensors_differ);  // not a generator this library knows: the tensor list says more
        }
        if (reversed) std::swap(found.input_nc, found.output_nc);  // in the record's direction
        std::string lines;
        for (const auto& d : record_differences(record, generator_record(found))) {
            if (d.key == record_keys::padding && d.in_file != "zero" && d.asked != "zero") continue;  // tensors cannot tell
            if (d.key == record_keys::dropout && !found.netG.starts_with("resnet")) continue;
            lines += "\n  " + d.key + ": the file records " + printable(d.in_file) + ", its tensors are of " + d.asked;
        }
        if (lines.empty()) throw;
        throw checkpoint_error(where + ": records another generator than its tensors hold:" + lines +
                               "\n(written with wrong options? convert or save it again with the tensors' ones)");
    }
}

template <class B, class G>
std::vector<Image> Translator<B, G>::operator()(std::span<const Image> images) {
    image_tensor_detail::check_batch(images, "Translator");
    std::vector<Image> inputs;
    for (const Image& img : images) inputs.push_back(convert_channels(img, options_.input_nc));
    std::vector<Image> out;
    {
        std::lock_guard<std::mutex> turn(*mutex_);
        const int height = sizes_.padded(inputs.front().height), width = sizes_.padded(inputs.front().width);
        std::optional<TiledOptions> tiles = tiling_;
        bool one_by_one = false;  // a batch holds every image's tensors: over the budget, one at a time
        if (!tiles && budget_ && need_->bytes(double(height) * width * double(inputs.size())) > usable_budget()) {
            tiles = tiling_within_budget(height, width);  // none when one image fits whole
            one_by_one = true;
        }
        if (!tiles && !one_by_one) {
            out = translate_images(net_, *dev_, std::span<const Image>(inputs), sizes_);
        } else if (!tiles) {
            for (const Image& img : inputs) out.push_back(translate_images(net_, *dev_, std::span<const Image>(&img, 1), sizes_).front());
        } else {  // one image at a time, padded to the size rule as translate_images pads
            for (const Image& img : inputs) {
                const Image padded = pad_reflect(img, height, width);
                const Tensor<B> y = translate_tiled(net_, images_to_tensor(*dev_, std::span<const Image>(&padded, 1)), *tiles,
                                                    sizes_.multiple, progress_);
                out.push_back(crop(tensor_to_images(*dev_, y).front(), 0, 0, img.width, img.height));
            }
        }
    }
    for (std::size_t i = 0; i < out.size(); ++i)
        if (out[i].channels % 2 == 1 && has_transparency(images[i])) out[i] = with_alpha(out[i], images[i]);
    return out;
}

template <class B, class G>
void Translator<B, G>::translate_file(const std::filesystem::path& in, const std::filesystem::path& out, const FileOptions& options) {
    if (options.bits != 0 && options.bits != 8 && options.bits != 16)
        throw std::invalid_argument("translate_file: bits " + std::to_string(options.bits) + " (8, 16, or 0 for the input's)");
    const std::string ext = image_detail::lower_extension(out);
    const bool tiff_out = ext == ".tif" || ext == ".tiff";
    if (options.bits == 16 && !tiff_out)
        throw std::invalid_argument("translate_file: " + image_detail::quoted(out) + ": 16 bits need a TIFF output (.tif)");
#if !defined(CYCLEGAN_HAVE_TIFF)
    if (tiff_out)  // before the translation, which may take hours, not after it
        throw image_error("write_image: " + image_detail::quoted(out) +
                          ": this build has no TIFF support (build with libtiff: apt install libtiff-dev); use .png");
#else
    if (tiff_out && image_detail::is_tiff(image_detail::read_bytes(in, "read_image", 4))) {
        TiffReader reader(in);
        if (reader.streams()) {
            translate_streamed(reader, out, options.bits ? options.bits : reader.bits());
            return;
        }
    }
#endif
    if (options.bits == 16)
        throw std::invalid_argument("translate_file: " + image_detail::quoted(in) + ": 16 bits out need a TIFF in that streams");
    write_image(out, (*this)(read_image(in, 4)));
}

#if defined(CYCLEGAN_HAVE_TIFF)
template <class B, class G>
void Translator<B, G>::translate_streamed(TiffReader& reader, const std::filesystem::path& out, int bits) {
    using Scalar = typename Tensor<B>::scalar;
    const int height = reader.height(), width = reader.width();
    // The model's input planes from the file's colours (a model of 2 or 4 channels takes the alpha
    // too), and the file's alpha kept beside an output of 1 or 3 channels.
    if (options_.input_nc < 1 || options_.input_nc > 4)
        throw std::invalid_argument("translate_file: a generator of " + std::to_string(options_.input_nc) +
                                    " input channels (images have 1 to 4)");
    const int colours = options_.input_nc >= 3 ? 3 : 1;
    const bool alpha_in = options_.input_nc % 2 == 0, alpha_out = reader.alpha() && options_.output_nc % 2 == 1;
    const int planes_read = colours + (alpha_in || alpha_out);
    TiffWriter writer(out, width, height, options_.output_nc + alpha_out, bits);
    std::lock_guard<std::mutex> turn(*mutex_);
    const int padded_h = sizes_.padded(height), padded_w = sizes_.padded(width);
    const std::vector<int> rows = reflect_sources(padded_h, height), cols = reflect_sources(padded_w, width);
    std::vector<float> region, box_alpha;
    PixelBox alpha_box{};  // the box of box_alpha: the last one read, which holds the core written next
    // [input channels, h, w] of a box of the padded image: the file's pixels it reflects.
    auto read = [&](const PixelBox& box, Scalar* values) {
        const auto [y_lo, y_hi] = std::minmax_element(rows.begin() + box.y0, rows.begin() + box.y1);
        const auto [x_lo, x_hi] = std::minmax_element(cols.begin() + box.x0, cols.begin() + box.x1);
        const int y0 = *y_lo, x0 = *x_lo, h = *y_hi + 1 - y0, w = *x_hi + 1 - x0;
        region.resize(std::size_t(planes_read) * h * w);
        reader.read(y0, y0 + h, x0, x0 + w, colours, alpha_in || alpha_out, region.data());
        auto at = [&](int c, int y, int x) { return region[(std::size_t(c) * h + (rows[y] - y0)) * w + (cols[x] - x0)]; };
        for (int c = 0; c < options_.input_nc; ++c)
            for (int y = box.y0; y < box.y1; ++y)
                for (int x = box.x0; x < box.x1; ++x) *values++ = static_cast<Scalar>(at(c, y, x));
        if (alpha_out) {
            alpha_box = box;
            box_alpha.clear();
            for (int y = box.y0; y < box.y1; ++y)
                for (int x = box.x0; x < box.x1; ++x) box_alpha.push_back(at(colours, y, x));
        }
    };
    std::vector<float> planes;
    // The output's planes of a core, cropped to the image, with the input's alpha added.
    auto write = [&](const PixelBox& core, const std::vector<Scalar>& values) {
        const int h = std::min(core.y1, height) - core.y0, w = std::min(core.x1, width) - core.x0;
        if (h <= 0 || w <= 0) return;  // all padding
        planes.clear();
        for (int c = 0; c < options_.output_nc; ++c)
            for (int y = 0; y < h; ++y) {
                const Scalar* row = values.data() + (std::size_t(c) * core.height() + y) * core.width();
                planes.insert(planes.end(), row, row + w);
            }
        if (alpha_out) {
            if (core.y0 < alpha_box.y0 || core.y0 + h > alpha_box.y1 || core.x0 < alpha_box.x0 || core.x0 + w > alpha_box.x1)
                throw std::logic_error("translate_file: a core outside the box read last");
            for (int y = core.y0; y < core.y0 + h; ++y) {
                const auto row = box_alpha.begin() + std::ptrdiff_t(y - alpha_box.y0) * alpha_box.width() + (core.x0 - alpha_box.x0);
                planes.insert(planes.end(), row, row + w);
            }
        }
        writer.write(core.y0, core.x0, h, w, planes.data());
    };
    std::optional<TiledOptions> tiles = tiling_;
    const RowsHeld held{.input_row_bytes = double(reader.row_bytes()),
                        .output_row_bytes = double(writer.row_bytes()),
                        .input_block_rows = reader.block_rows(),
                        // region, box_alpha, the core's values and planes: floats per pixel
                        .tile_pixel_bytes = double(sizeof(float)) * (planes_read + alpha_out + 2 * writer.channels())};
    if (!tiles && budget_) tiles = tiling_within_budget(padded_h, padded_w, &held);
    if (tiles) {
        translate_tiled_parts(net_, options_.input_nc, padded_h, padded_w, read, write, *tiles, sizes_.multiple, progress_);
    } else {  // whole: as translate_images runs it
        const PixelBox all{0, padded_h, 0, padded_w};
        std::vector<Scalar> x(std::size_t(options_.input_nc) * padded_h * padded_w);
        read(all, x.data());
        const Tensor<B> y = net_(Tensor<B>::from_host(*dev_, {1, options_.input_nc, padded_h, padded_w}, x));
        if (y.shape().c != options_.output_nc || y.shape().h != padded_h || y.shape().w != padded_w)
            throw shape_error("Translator: the generator turned " + to_string(Shape{1, options_.input_nc, padded_h, padded_w}) +
                              " into " + to_string(y.shape()));
        write(all, y.to_host(*dev_));
    }
    writer.finish();
}
#endif

template <class B, class G>
Translator<B, G>::Translator(B& dev, safetensors::LazyFile& file, const Options& options, const std::string& prefix)
    : dev_(&dev), options_(options), net_(make_network(dev, options)), sizes_(sizes_of(net_.net())),
      mutex_(std::make_unique<std::mutex>()) {
    load_network(file, net_, prefix);
    net_.eval();
}

#if defined(CYCLEGAN_COMPILED_KERNELS) && CYCLEGAN_COMPILED_KERNELS
CYCLEGAN_DETAIL_IO_INSTANCE Translator<cpu> Translator<cpu>::load(cpu&, const std::filesystem::path&, Direction);
CYCLEGAN_DETAIL_IO_INSTANCE std::vector<Image> Translator<cpu>::operator()(std::span<const Image>);
CYCLEGAN_DETAIL_IO_INSTANCE Translator<cpu>::Translator(cpu&, safetensors::LazyFile&, const AnyGeneratorOptions&, const std::string&);
CYCLEGAN_DETAIL_IO_INSTANCE void Translator<cpu>::translate_file(const std::filesystem::path&, const std::filesystem::path&, const FileOptions&);
#endif

}  // namespace cyclegan
