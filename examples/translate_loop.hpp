#pragma once
// cyclegan-translate's work for any backend: translate.cpp runs it on the CPU, translate_cuda.cu
// (compiled by nvcc) on the GPU.
#include <cyclegan/data/folder_dataset.hpp>
#include <cyclegan/io/checkpoint.hpp>
#include <cyclegan/image/channels.hpp>
#include <cyclegan/image/file.hpp>
#include <cyclegan/io/image_tensor.hpp>
#include <cyclegan/translator.hpp>
#include <cyclegan/report/html_report.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "program_options.hpp"

namespace translate_program {

namespace fs = std::filesystem;
using namespace cyclegan;

struct TranslateOptions {
    std::string checkpoint, checkpoints_dir = "./checkpoints", name, epoch = "latest", direction = "AtoB",
        output = "./results";
    std::vector<std::string> inputs;
    // Architecture options given on the command line (record keys: netG, ngf, ...), as the
    // reference's test.py needs them: checked against the checkpoint's, never used to build.
    std::map<std::string, std::string> architecture;
    int threads = 0;
    std::string cpu_kernels = "auto", device = "cpu";
    std::string precision = "f32";  // f32, bf16 or auto (program_options.hpp)
    // Tiled translation (Translator::set_tiling): tile 0 translates whole images; halo -1 is the
    // generator's receptive radius.
    int tile = 0, halo = -1;
    std::string max_memory;  // a size (parse_bytes); empty: no budget
    std::string tile_statistics = "exact";
    // png: <stem>_real.png and <stem>_fake.png with a report; tif: only <stem>_fake.tif, a TIFF
    // input streamed (Translator::translate_file), of `bits` per sample (0: the input's).
    std::string format = "png";
    int bits = 0;
};

template <class B>
int translate(B& dev, const TranslateOptions& o) {
    if (o.checkpoint.empty() && o.name.empty()) throw std::runtime_error("give --checkpoint FILE or --name NAME");
    const fs::path ckpt = !o.checkpoint.empty() ? fs::path(o.checkpoint) : fs::path(o.checkpoints_dir) / o.name / (o.epoch + ".safetensors");

    // The architecture from the checkpoint's own record; only the needed generator's tensors.
    Translator<B> translator = Translator<B>::load(dev, ckpt, parse_direction(o.direction));
    const int output_nc = translator.output_channels();
    if (!o.architecture.empty()) {
        auto record = checkpoint_detail::info_entries(safetensors::LazyFile::open(ckpt).metadata());
        if (!record.count(record_keys::netG)) record = generator_record(translator.options());  // recognised by its tensors
        if (const auto differences = record_differences(record, o.architecture); !differences.empty())
            throw std::runtime_error(printable(ckpt.string()) + ": the checkpoint's generator is not the one this command line "
                                     "describes:" + describe_differences(differences) +
                                     "\nleave these options out: the checkpoint records its architecture");
    }

    if (o.tile > 0) {
        translator.set_tiling(TiledOptions{.tile = o.tile, .halo = o.halo,
                                           .statistics = o.tile_statistics == "sampled" ? TileStatistics::sampled : TileStatistics::exact});
        std::printf("tiled: tiles of %d pixels with a halo of %d, the norms on the whole image's %s statistics\n",
                    translator.tiling()->tile, translator.tiling()->halo, o.tile_statistics.c_str());
    }

    // Progress of a tiled image on one line of stderr, with the time its pass has left; Ctrl-C stops
    // after the tile running (translation_interrupted below), writing nothing of that image.
    auto seconds_since = [](std::chrono::steady_clock::time_point t) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    };
    std::chrono::steady_clock::time_point pass_started;
    translator.set_progress([&](const TileProgress& p) {
        if (p.tile == 1) pass_started = std::chrono::steady_clock::now();
        const double spent = seconds_since(pass_started), left = p.tile > 1 ? spent / (p.tile - 1) * (p.tiles - p.tile) : 0;
        std::fprintf(stderr, "\r  %s %d: tile %d of %d%s", p.last ? "output pass" : "statistics pass", p.pass + 1, p.tile, p.tiles,
                     p.tile > 1 && p.tile < p.tiles ? (", about " + std::to_string(static_cast<int>(std::ceil(left))) + " s left in this pass").c_str() : "");
        if (p.tile == p.tiles) std::fprintf(stderr, "\n");
        return !interrupted.load();
    });
    for (const int sig : {SIGINT, SIGTERM}) std::signal(sig, on_interrupt);

    if (!o.max_memory.empty()) {
        if (o.tile > 0) throw std::runtime_error("give --tile or --max-memory, not both: --max-memory picks the tile");
        const std::uint64_t bytes = *parse_bytes(o.max_memory);
        translator.set_memory_budget(bytes, o.tile_statistics == "sampled" ? TileStatistics::sampled : TileStatistics::exact);
        const auto need = *translator.memory_need();
        std::printf("memory budget %s: %.0f bytes per pixel and %s fixed (weights, kernels' copies and scratch) measured, "
                    "images that need more go in tiles\n",
                    bytes_text(double(bytes)).c_str(), need.per_pixel, bytes_text(need.fixed).c_str());
    }

    // The inputs: files as given, folders expanded (non-image files skipped with a warning). A
    // folder's walk leaves out this command's own output folder, which it may contain (--output
    // DIR DIR): run again, it would translate its earlier results.
    const fs::path own_output = fs::weakly_canonical(fs::path(o.output) / "images");
    auto is_own_output = [&](const fs::path& p) {
        const fs::path c = fs::weakly_canonical(p);
        return std::mismatch(own_output.begin(), own_output.end(), c.begin(), c.end()).first == own_output.end();
    };
    std::vector<fs::path> files;
    for (const auto& in : o.inputs) {
        if (fs::is_directory(in)) {
            std::vector<std::string> warnings;
            std::size_t own = 0, kept = 0;
            for (auto& p : list_images(in, &warnings)) {
                if (is_own_output(p))
                    ++own;
                else
                    files.push_back(p), ++kept;
            }
            for (auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
            if (own && !kept)
                throw std::runtime_error("'" + printable(in) + "': its images are all in " + printable(own_output.string()) +
                                         ", this command's output folder; give another --output, or the images to translate");
            if (own)
                std::fprintf(stderr, "warning: in '%s': skipped %zu images in %s, this command's output folder\n",
                             printable(in).c_str(), own, printable(own_output.string()).c_str());
        } else if (fs::exists(in)) {
            files.push_back(in);
        } else {
            throw std::runtime_error(printable(in) + ": no such file or folder");
        }
    }
    const fs::path out_dir(o.output);
    fs::create_directories(out_dir / "images");
    for (const auto& folder : {out_dir, out_dir / "images"}) remove_stale_temporary_files(folder);
    std::vector<report::TranslationPair> pairs;
    std::vector<std::string> failures;  // one bad file does not stop the others
    std::set<std::string> used;  // a.png and a.jpg, or two folders' a.png, must not overwrite each other
    bool stopped = false;
    const auto loop_started = std::chrono::steady_clock::now();
    std::vector<fs::path> tiffs;  // --format tif: what was written
    if (o.bits != 0 && o.format != "tif") throw std::runtime_error("--bits " + std::to_string(o.bits) + " needs --format tif");
    for (const auto& path : files) {
        if (interrupted) {
            stopped = true;
            break;
        }
        auto unique_stem = [&] {
            std::string stem = path.stem().string();
            for (int k = 2; used.count(stem); ++k) stem = path.stem().string() + "_" + std::to_string(k);
            return stem;
        };
        if (o.format == "tif") {  // by parts where the input streams: no image held whole, no copy of the input
            try {
                if (files.size() > 1) std::fprintf(stderr, "image %zu of %zu: %s\n", tiffs.size() + failures.size() + 1, files.size(),
                                                   printable(path.string()).c_str());
                const std::string stem = unique_stem();
                const fs::path fake = out_dir / "images" / (stem + "_fake.tif");
                translator.translate_file(path, fake, {.bits = o.bits});
                used.insert(stem);
                tiffs.push_back(fake);
            } catch (const translation_interrupted&) {
                std::fprintf(stderr, "\n");
                stopped = true;
                break;
            } catch (const std::exception& e) {
                std::string what = printable_error(e);
                if (const std::string shown = printable(path.string()); what.find(shown) == std::string::npos) what = shown + ": " + what;
                failures.push_back(what);
            }
            continue;
        }
        std::string size;  // "16000x16000: 2.9 GiB as the generator's input, ...", once decoded
        try {
            // Decoded once, with alpha: the network sees the model's channels, and a file's own
            // transparency stays on the output (and on the input shown beside it).
            const Image rgba = read_image(path, 4);
            const double pixels = double(rgba.width) * rgba.height, floats = sizeof(typename B::scalar);
            if (files.size() > 1) {  // the time left, from the images so far (the others' sizes are not read yet)
                const std::size_t i = pairs.size() + failures.size();
                std::fprintf(stderr, "image %zu of %zu: %s (%dx%d)", i + 1, files.size(), printable(path.string()).c_str(), rgba.width,
                             rgba.height);
                if (i > 0) std::fprintf(stderr, ", about %.0f s left", seconds_since(loop_started) / double(i) * double(files.size() - i));
                std::fprintf(stderr, "\n");
            }
            size = std::to_string(rgba.width) + "x" + std::to_string(rgba.height) + ": " +
                   bytes_text(pixels * translator.input_channels() * floats) + " as the generator's input, " +
                   bytes_text(pixels * translator.options().ngf * floats) + " for each of its first layers' outputs";
            const Image fake = translator(rgba);  // any size: padded to what the generator takes, cropped back
            Image real = convert_channels(rgba, translator.input_channels());
            if (fake.channels != output_nc && real.channels % 2 == 1) real = with_alpha(real, rgba);
            const std::string stem = unique_stem();
            write_image(out_dir / "images" / (stem + "_real.png"), real);
            write_image(out_dir / "images" / (stem + "_fake.png"), fake);
            used.insert(stem);
            pairs.push_back({"images/" + stem + "_real.png", "images/" + stem + "_fake.png", path.filename().string()});
        } catch (const translation_interrupted&) {  // Ctrl-C within a tiled image: nothing of it written
            std::fprintf(stderr, "\n");
            stopped = true;
            break;
        } catch (const std::bad_alloc& e) {  // the generator's activations grow with the image's pixels
            const std::string detail = out_of_memory::detail(e);
            failures.push_back(printable(path.string()) + (size.empty() ? "" : " (" + size + ")") + ": out of memory " +
                               (size.empty() ? "decoding it" : "translating it") + (detail.empty() ? "" : ": " + detail) +
                               (o.tile > 0 ? "; translate it in smaller tiles (--tile)" : "; translate it in tiles (--tile 512)"));
        } catch (const std::exception& e) {
            std::string what = printable_error(e);
            if (const std::string shown = printable(path.string()); what.find(shown) == std::string::npos)
                what = shown + ": " + what;
            failures.push_back(what);
        }
    }
    if (!pairs.empty())
        report::write_translation_report(out_dir / "index.html", "CycleGAN " + o.direction + ": " + ckpt.string(), pairs);
    // Names from the command line, a folder or a file are printed as printable() shows them.
    const std::size_t done = pairs.size() + tiffs.size();
    std::printf("translated %zu of %zu images %s with %s", done, files.size(), o.direction.c_str(), printable(ckpt.string()).c_str());
    if (!pairs.empty()) std::printf("; results in %s", printable((out_dir / "index.html").string()).c_str());
    if (!tiffs.empty()) std::printf("; TIFFs in %s", printable((out_dir / "images").string()).c_str());
    std::printf("\n");
    if (stopped) {
        std::fflush(stdout);
        std::fprintf(stderr, "interrupted: %zu of %zu images translated and written%s; run again for the rest\n", done, files.size(),
                     pairs.empty() ? "" : " (the report lists them)");
        return 130;
    }
    if (failures.empty()) return 0;
    std::fflush(stdout);
    std::fprintf(stderr, "error: %zu of %zu images could not be translated:\n", failures.size(), files.size());
    for (const auto& f : failures) std::fprintf(stderr, "  %s\n", f.c_str());
    return 1;
}

// Defined in translate_cuda.cu, which nvcc compiles, in builds with the GPU backend.
int translate_on_cuda(const TranslateOptions& o);

}  // namespace translate_program
