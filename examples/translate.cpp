// cyclegan-translate: runs one generator of a trained CycleGAN on images, a folder, or both, and
// writes the results with a page of input/output pairs. The checkpoint records the architecture,
// so no model options are repeated here; only the needed generator is read from disk. Images of
// any size come out at their own size.
//
//   cyclegan-translate --checkpoint checkpoints/shapes/latest.safetensors --direction AtoB
//                      --output results/shapes datasets/shapes/testA
#include <CLI/CLI.hpp>

#include <cyclegan/cyclegan.hpp>

#include "translate_loop.hpp"

using namespace translate_program;

int main(int argc, char** argv) {
    TranslateOptions o;
    CLI::App app{"Translate images with a generator trained by cyclegan-train."};
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a later --x overrides an earlier one
    app.add_option("inputs", o.inputs, "image files and/or folders of images")->required()->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("--checkpoint", o.checkpoint, "checkpoint file (or give --name)");
    app.add_option("--checkpoints-dir", o.checkpoints_dir, "where experiments are saved")->capture_default_str();
    app.add_option("--name", o.name, "experiment name: uses <checkpoints-dir>/<name>/<epoch>.safetensors");
    app.add_option("--epoch", o.epoch, "latest or an epoch number")->capture_default_str();
    app.add_option("--direction", o.direction, "AtoB runs G_A, BtoA runs G_B")->check(CLI::IsMember(cyclegan::choice_names(cyclegan::direction_choices)))->capture_default_str();
    app.add_option("--output", o.output, "folder for the results and index.html")->capture_default_str();
    add_cpu_options(app, o.threads, o.cpu_kernels, o.precision);
    app.add_option("--tile", o.tile,
                   "translate in tiles of this many pixels (0: whole images), every norm on the whole image's "
                   "statistics, so that memory follows the tile and the tiles join without seams")
        ->check(in_range({.min = 0, .max = cyclegan::TiledOptions::tile_range.max, .integer = true}))->capture_default_str();
    app.add_option("--halo", o.halo, "pixels of context around each tile (-1: the generator's receptive radius)")
        ->check(in_range({.min = -1, .max = cyclegan::TiledOptions::halo_range.max, .integer = true}))->capture_default_str();
    app.add_option("--tile-statistics", o.tile_statistics,
                   "exact: each norm's statistics from all tiles (one pass over the tiles per norm, about 11x the work of "
                   "whole-image translation for resnet_9blocks); sampled: from a few windows, then one pass")
        ->check(CLI::IsMember({"exact", "sampled"}))->capture_default_str();
    app.add_option("--max-memory", o.max_memory,
                   "keep each translation's tensors within this size (2G, 1500M; CPU): an image that needs more "
                   "goes in tiles (--tile-statistics), the largest that fit; the kernels' scratch and transformed "
                   "weights (about 300 MB for resnet_9blocks) count in it")
        ->check(byte_size());
    app.add_option("--format", o.format,
                   "png: <name>_real.png and <name>_fake.png with a page of pairs (index.html); tif: <name>_fake.tif "
                   "only (deflate-compressed tiles, BigTIFF when large), a TIFF input read and the output written by "
                   "parts, so that with --tile or --max-memory neither image is held whole")
        ->check(CLI::IsMember({"png", "tif"}))->capture_default_str();
    app.add_option("--bits", o.bits, "bits per sample of --format tif outputs: 8, 16, or 0 for the input's (a 16-bit TIFF that streams gives 16)")
        ->check(CLI::IsMember({0, 8, 16}))->capture_default_str();
    app.add_option("--device", o.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
    // The generator's options as cyclegan-train takes them (and the reference's test.py needs):
    // the checkpoint records the architecture, so these only check that it is the one meant.
    ModelChoice asked;
    auto* architecture = app.add_option_group("architecture", "optional: checked against the checkpoint's record");
    architecture->add_option("--netG", asked.netG, "generator")->check(CLI::IsMember(cyclegan::generator_names()));
    architecture->add_option("--ngf", asked.ngf, "generator filters in the first layer")
        ->check(in_range(cyclegan::GeneratorOptions::filters_range));
    architecture->add_option("--input-nc", asked.input_nc, "channels of domain A")->check(CLI::IsMember({1, 3, 4}));
    architecture->add_option("--output-nc", asked.output_nc, "channels of domain B")->check(CLI::IsMember({1, 3, 4}));
    architecture->add_option("--norm", asked.norm, "normalisation")->check(CLI::IsMember(cyclegan::choice_names(cyclegan::norm_choices)));
    architecture->add_option("--padding-type", asked.padding, "padding in the residual blocks")
        ->check(CLI::IsMember(cyclegan::choice_names(cyclegan::padding_choices)));
    architecture->add_option("--upsample", asked.upsample, "generator upsampling")
        ->check(CLI::IsMember(cyclegan::choice_names(cyclegan::upsample_choices)));
    architecture->add_flag("--no-dropout,!--dropout", asked.no_dropout, "no dropout in the generator");
    CLI11_PARSE(app, argc, argv);
    const auto described = asked.describe();
    for (const char* key : {"netG", "ngf", "input_nc", "output_nc", "norm", "padding", "upsample", "dropout"})
        if (architecture->count(key == std::string("dropout") ? "--no-dropout" : option_flag(key)))
            o.architecture[key] = described.at(key);

    try {
        if (o.device == "cuda") {
            check_gpu_precision(o.precision);
#if CYCLEGAN_PROGRAMS_HAVE_CUDA
            return translate_on_cuda(o);
#else
            throw std::runtime_error("--device cuda: this build has no GPU backend (configure where the CUDA toolkit "
                                     "and cuDNN are installed); use --device cpu");
#endif
        } else {
            cpu dev = start_cpu(o.threads, o.cpu_kernels, o.precision);
            return translate(dev, o);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", cyclegan::printable_error(e).c_str());
        return 1;
    }
    return 0;
}
