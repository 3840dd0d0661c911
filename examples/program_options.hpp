#pragma once
// The architecture options that cyclegan-train and cyclegan-translate share, named as the
// reference's, and how they are stored in (and read back from) a checkpoint.
#include <CLI/CLI.hpp>

#include <cyclegan/cyclegan.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

// Set by SIGINT and SIGTERM (and SIGUSR1 in cyclegan-train: mpirun passes it on to every rank),
// read by the programs' loops between steps, tiles and images: they stop there, keeping what they
// saved and writing nothing half.
inline std::atomic<bool> interrupted{false};
extern "C" inline void on_interrupt(int) { interrupted = true; }

// Checks a number on the command line against the library's range for it (core/option_range.hpp),
// before any work: "--lr: -0.0002 is out of range: it must be a number >= 0". CLI11 names the option.
inline CLI::Validator in_range(const cyclegan::OptionRange& range) {
    return CLI::Validator(
        [range](std::string& text) -> std::string {
            char* end = nullptr;
            const double v = std::strtod(text.c_str(), &end);
            if (text.empty() || end != text.c_str() + text.size())
                return "'" + text + "' is not a number: it must be " + range.describe();
            if (!range.contains(v)) return text + " is out of range: it must be " + range.describe();
            return "";
        },
        range.describe());
}

// A size in bytes as a person writes it: 2G, 1500M, 64k, 2GiB, 800000000 (K, M, G, T: powers of
// 1024). std::nullopt for anything else (a negative, a fraction, another unit, past 2^64).
inline std::optional<std::uint64_t> parse_bytes(std::string text) {
    while (!text.empty() && (text.back() == 'B' || text.back() == 'b' || text.back() == 'i')) text.pop_back();
    if (text.empty()) return std::nullopt;
    int shift = 0;
    switch (text.back()) {
        case 'K': case 'k': shift = 10; break;
        case 'M': case 'm': shift = 20; break;
        case 'G': case 'g': shift = 30; break;
        case 'T': case 't': shift = 40; break;
        default: break;
    }
    if (shift) text.pop_back();
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 19) return std::nullopt;
    const std::uint64_t value = std::stoull(text);
    if (shift && value > (~std::uint64_t{0} >> shift)) return std::nullopt;
    return value << shift;
}

inline CLI::Validator byte_size() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            return parse_bytes(text) ? "" : "'" + text + "' is not a size: write it as 2G, 1500M or 800000000 (bytes)";
        },
        "SIZE");
}

// Ranges of the programs' own options, which no library type takes.
inline constexpr cyclegan::OptionRange seed_range{.min = 0, .integer = true};  // any std::uint64_t
inline constexpr cyclegan::OptionRange positive_count_range{.min = 1, .integer = true};

// --threads, --cpu-kernels and --precision, which both programs take.
inline void add_cpu_options(CLI::App& app, int& threads, std::string& kernels, std::string& precision) {
    app.add_option("--threads", threads, "CPU threads (0: every core)")->check(in_range(cyclegan::cpu::threads_range))->capture_default_str();
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

    // What a checkpoint records, so that translation needs no options repeated and a resumed run
    // is checked against it: the model kind, the generator's record (the library's, which
    // Translator reads) and the discriminator's options.
    std::map<std::string, std::string> describe() const {
        auto record = cyclegan::generator_record(generator());
        record.insert({{"model", "cycle_gan"}, {"netD", netD}, {"n_layers_D", std::to_string(n_layers_D)}, {"ndf", std::to_string(ndf)}});
        return record;
    }
};

// The command-line option of each key describe() records, as add_model_options names them.
inline std::string option_flag(const std::string& key) {
    static const std::map<std::string, std::string> flags = {
        {"netG", "--netG"},         {"ngf", "--ngf"},       {"input_nc", "--input-nc"}, {"output_nc", "--output-nc"},
        {"norm", "--norm"},         {"padding", "--padding-type"}, {"upsample", "--upsample"}, {"dropout", "--dropout"},
        {"netD", "--netD"},         {"n_layers_D", "--n-layers-D"}, {"ndf", "--ndf"}};
    const auto it = flags.find(key);
    return it == flags.end() ? key : it->second;
}

// "--netG resnet_6blocks" (or "--no-dropout"): how a command line gives a recorded value, which
// may come from a file (printable()).
inline std::string option_text(const std::string& key, const std::string& value) {
    if (key == "dropout") return value == "0" ? "--no-dropout" : "--dropout";
    return option_flag(key) + " " + cyclegan::printable(value);
}

// One line per option that a checkpoint records otherwise than the command line says:
// "--netG: the checkpoint has resnet_6blocks, the command line says resnet_9blocks".
inline std::string describe_differences(const std::vector<cyclegan::RecordDifference>& differences) {
    std::string s;  // (appended piecewise: GCC 12 warns, wrongly, on "literal" + a temporary string)
    for (const auto& d : differences) {
        if (d.key == "model") {
            s += "\n  the checkpoint holds a ";
            s += cyclegan::printable(d.in_file) + " model, this program trains " + d.asked;
            continue;
        }
        const bool dropout = d.key == "dropout";
        s += "\n  ";
        s += option_flag(d.key);
        s += ": the checkpoint has ";
        s += dropout ? option_text(d.key, d.in_file) : cyclegan::printable(d.in_file);  // the file's: printable
        s += ", the command line says ";
        s += dropout ? option_text(d.key, d.asked) : d.asked;
    }
    return s;
}

inline void add_model_options(CLI::App& app, ModelChoice& m) {
    app.add_option("--netG", m.netG, "generator")->check(CLI::IsMember(cyclegan::generator_names()))->capture_default_str();
    app.add_option("--netD", m.netD, "discriminator")->check(CLI::IsMember(cyclegan::discriminator_names()))->capture_default_str();
    app.add_option("--n-layers-D", m.n_layers_D, "layers of the n_layers discriminator")
        ->check(in_range(cyclegan::AnyDiscriminatorOptions::n_layers_range))->capture_default_str();
    app.add_option("--ngf", m.ngf, "generator filters in the first layer")->check(in_range(cyclegan::GeneratorOptions::filters_range))->capture_default_str();
    app.add_option("--ndf", m.ndf, "discriminator filters in the first layer")->check(in_range(cyclegan::GeneratorOptions::filters_range))->capture_default_str();
    app.add_option("--input-nc", m.input_nc, "channels of domain A (1 gray, 3 RGB, 4 RGBA)")->check(CLI::IsMember({1, 3, 4}))->capture_default_str();
    app.add_option("--output-nc", m.output_nc, "channels of domain B")->check(CLI::IsMember({1, 3, 4}))->capture_default_str();
    app.add_option("--norm", m.norm, "normalisation")->check(CLI::IsMember(cyclegan::choice_names(cyclegan::norm_choices)))->capture_default_str();
    app.add_option("--init-type", m.init_type, "weight initialisation")->check(CLI::IsMember(cyclegan::choice_names(cyclegan::init_type_choices)))->capture_default_str();
    app.add_option("--init-gain", m.init_gain, "scale of the initialisation")->check(in_range(cyclegan::InitOptions::gain_range))->capture_default_str();
    app.add_option("--padding-type", m.padding, "padding in the residual blocks")->check(CLI::IsMember(cyclegan::choice_names(cyclegan::padding_choices)))->capture_default_str();
    app.add_option("--upsample", m.upsample, "generator upsampling: transposed convolution, or resize + convolution")
        ->check(CLI::IsMember(cyclegan::choice_names(cyclegan::upsample_choices)))->capture_default_str();
    app.add_flag("--no-dropout,!--dropout", m.no_dropout, "no dropout in the generator (the default for CycleGAN)");
}

// A resumed run must build the same networks as the checkpoint's: std::runtime_error naming each
// architecture option that differs (from the checkpoint's info.* record, before any tensor is
// read) and what to do.
inline void check_same_model(const std::map<std::string, std::string>& saved, const ModelChoice& now,
                             const std::filesystem::path& source) {
    const auto differences = cyclegan::record_differences(saved, now.describe());
    if (differences.empty()) return;
    std::string theirs;  // (appended piecewise: GCC 12 warns, wrongly, on "literal" + a temporary string)
    for (const auto& d : differences)
        if (d.key != "model") {
            if (!theirs.empty()) theirs += ' ';
            theirs += option_text(d.key, d.in_file);
        }
    std::string message = cyclegan::printable(source.string());
    message += ": the checkpoint was trained with other architecture options than this command line's:";
    message += describe_differences(differences);
    if (!theirs.empty()) message += "\nresume with the checkpoint's (" + theirs + "), or ";
    else message += "\n";
    message += "train a new model under another --name";
    throw std::runtime_error(message);
}
