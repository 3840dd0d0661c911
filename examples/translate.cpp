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
    app.add_option("--device", o.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
    CLI11_PARSE(app, argc, argv);

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
