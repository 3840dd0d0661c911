#pragma once
// The architecture options that cyclegan-train and cyclegan-translate share, named as the
// reference's, and how they are stored in (and read back from) a checkpoint.
#include <CLI/CLI.hpp>

#include <cyclegan/cyclegan.hpp>

#include <cstdio>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

// --threads, --cpu-kernels and --precision, which both programs take.
inline void add_cpu_options(CLI::App& app, int& threads, std::string& kernels, std::string& precision) {
    app.add_option("--threads", threads, "CPU threads (0: every core)")->capture_default_str();
    std::vector<std::string> sets{"auto"};
    for (const auto& name : cyclegan::choice_names(cyclegan::cpu_kernel_choices)) sets.push_back(name);
    app.add_option("--cpu-kernels", kernels,
                   "CPU kernel set: auto (the fastest this CPU runs), " + cyclegan::join(cyclegan::choice_names(cyclegan::cpu_kernel_choices)) +
                       "; also CYCLEGAN_CPU_KERNELS in the environment")
        ->check(CLI::IsMember(sets))
        ->capture_default_str();
    app.add_option("--precision", precision,
                   "arithmetic of the convolutions: f32; bf16 (bf16 operands, float sums: faster where the kernel "
                   "set multiplies bf16 natively, amx_bf16 on Intel CPUs with AMX or avx512_bf16 on AMD CPUs with "
                   "AVX512_BF16; the same numbers, not faster, elsewhere); auto (bf16 where the kernel set in use "
                   "multiplies bf16 natively, as OpenVINO takes bf16 by default where a CPU has it; else f32)")
        ->check(CLI::IsMember({"f32", "bf16", "auto"}))
        ->capture_default_str();
}

// The CPU device for --threads, --cpu-kernels and --precision, after saying on standard output what
// it runs. Throws std::invalid_argument naming the option if this CPU cannot run the kernel set
// asked for.
inline cyclegan::cpu start_cpu(int threads, const std::string& kernels, const std::string& precision, bool say = true) {
    using namespace cyclegan;
    if (kernels != "auto") set_cpu_kernels(cpu_detail::parse_cpu_kernels(kernels, "--cpu-kernels"));
    cpu dev(threads);
    dev.set_precision(precision == "auto" ? preferred_precision() : parse_choice(precision_choices, precision, "--precision"));
    const char* how = dev.precision() == Precision::f32                ? ""
                      : cpu_kernels() == CpuKernels::amx_bf16    ? " (native: AMX)"
                      : cpu_kernels() == CpuKernels::avx512_bf16 ? " (native: AVX512_BF16)"
                                                                  : " (emulated: bf16 operands on float arithmetic, not faster than f32 here)";
    if (say) std::printf("cpu: %d threads, %s kernels, %s%s\n", dev.threads(), to_string(cpu_kernels()), to_string(dev.precision()), how);
    std::fflush(stdout);
    return dev;
}

// --precision with --device cuda: the GPU backend computes in f32 (its bf16 comes with the GPU
// issue); auto means f32 there. Throws std::invalid_argument for bf16.
inline void check_gpu_precision(const std::string& precision) {
    if (precision == "bf16")
        throw std::invalid_argument("--precision bf16: the GPU backend computes in f32 for now; use --precision f32 (or auto) "
                                    "with --device cuda, or --device cpu");
}

struct ModelChoice {
    std::string netG = "resnet_9blocks", netD = "basic";
    int n_layers_D = 3, ngf = 64, ndf = 64, input_nc = 3, output_nc = 3;
    std::string norm = "instance", init_type = "normal", padding = "reflect", upsample = "transposed";
    double init_gain = 0.02;
    bool no_dropout = true;  // the reference's CycleGAN default; --dropout turns it on

    // Throws std::invalid_argument for a name outside the library's tables.
    cyclegan::AnyGeneratorOptions generator() const {
        cyclegan::AnyGeneratorOptions g;
        g.netG = netG, g.ngf = ngf, g.input_nc = input_nc, g.output_nc = output_nc;
        g.norm = cyclegan::parse_norm(norm), g.padding = cyclegan::parse_padding(padding);
        g.upsample = cyclegan::parse_upsample(upsample), g.use_dropout = !no_dropout;
        return g;
    }
    cyclegan::AnyDiscriminatorOptions discriminator() const {
        cyclegan::AnyDiscriminatorOptions d;
        d.input_nc = output_nc;  // CycleGAN sets each discriminator's channels itself
        d.ndf = ndf;
        d.norm = cyclegan::parse_norm(norm);
        d.netD = netD;
        d.n_layers_D = n_layers_D;
        return d;
    }
    cyclegan::InitOptions init(std::uint64_t seed) const {
        return {.type = cyclegan::parse_choice(cyclegan::init_type_choices, init_type, "init type"), .gain = init_gain,
                .seed = seed};
    }

    // What a checkpoint records, so that translation needs no options repeated: the generator's
    // record (the library's, which Translator reads) and the discriminator's options.
    std::map<std::string, std::string> describe() const {
        auto record = cyclegan::generator_record(generator());
        record.insert({{"netD", netD}, {"n_layers_D", std::to_string(n_layers_D)}, {"ndf", std::to_string(ndf)}});
        return record;
    }
};

inline void add_model_options(CLI::App& app, ModelChoice& m) {
    app.add_option("--netG", m.netG, "generator")->check(CLI::IsMember(cyclegan::generator_names()))->capture_default_str();
    app.add_option("--netD", m.netD, "discriminator")->check(CLI::IsMember(cyclegan::discriminator_names()))->capture_default_str();
    app.add_option("--n-layers-D", m.n_layers_D, "layers of the n_layers discriminator")->check(CLI::Range(1, 5))->capture_default_str();
    app.add_option("--ngf", m.ngf, "generator filters in the first layer")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--ndf", m.ndf, "discriminator filters in the first layer")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--input-nc", m.input_nc, "channels of domain A (1 gray, 3 RGB, 4 RGBA)")->check(CLI::IsMember({1, 3, 4}))->capture_default_str();
    app.add_option("--output-nc", m.output_nc, "channels of domain B")->check(CLI::IsMember({1, 3, 4}))->capture_default_str();
    app.add_option("--norm", m.norm, "normalisation")->check(CLI::IsMember(cyclegan::choice_names(cyclegan::norm_choices)))->capture_default_str();
    app.add_option("--init-type", m.init_type, "weight initialisation")->check(CLI::IsMember(cyclegan::choice_names(cyclegan::init_type_choices)))->capture_default_str();
    app.add_option("--init-gain", m.init_gain, "scale of the initialisation")->capture_default_str();
    app.add_option("--padding-type", m.padding, "padding in the residual blocks")->check(CLI::IsMember(cyclegan::choice_names(cyclegan::padding_choices)))->capture_default_str();
    app.add_option("--upsample", m.upsample, "generator upsampling: transposed convolution, or resize + convolution")
        ->check(CLI::IsMember(cyclegan::choice_names(cyclegan::upsample_choices)))->capture_default_str();
    app.add_flag("--no-dropout,!--dropout", m.no_dropout, "no dropout in the generator (the default for CycleGAN)");
}

// A resumed run must build the same networks as the checkpoint's.
inline void check_same_model(const std::map<std::string, std::string>& saved, const ModelChoice& now,
                             const std::filesystem::path& source) {
    for (const auto& [key, value] : now.describe()) {
        auto it = saved.find(key);
        if (it != saved.end() && it->second != value)
            throw std::runtime_error(cyclegan::printable(source.string()) + ": the checkpoint was trained with --" + key + " " +
                                     cyclegan::printable(it->second) + ", this run asks for " + cyclegan::printable(value));
    }
}
