// cyclegan-translate: runs one generator of a trained CycleGAN on images, a folder, or both, and
// writes the results with a page of input/output pairs. The checkpoint records the architecture,
// so no model options are repeated here; only the needed generator is read from disk. Images of
// any size come out at their own size.
//
//   cyclegan-translate --checkpoint checkpoints/shapes/latest.safetensors --direction AtoB
//                      --output results/shapes datasets/shapes/testA
#include <CLI/CLI.hpp>

#include <cyclegan/cyclegan.hpp>
#include <cyclegan/data/folder_dataset.hpp>
#include <cyclegan/io/checkpoint.hpp>
#include <cyclegan/io/image.hpp>
#include <cyclegan/report/html_report.hpp>

#include <cstdio>
#include <filesystem>
#include <set>

#include "program_options.hpp"

namespace fs = std::filesystem;
using namespace cyclegan;

namespace {

// Reflect-pads an image up to multiples of `m` so every stride-2 level divides it; returns the
// padded CHW values and the padded sides.
std::vector<float> pad_to_multiple(const std::vector<float>& chw, int c, int h, int w, int m, int& ph, int& pw) {
    ph = (h + m - 1) / m * m;
    pw = (w + m - 1) / m * m;
    if (ph == h && pw == w) return chw;
    auto reflect = [](int i, int n) {  // ... 2 1 | 0 1 2 ... n-1 | n-2 ...; repeats for pads past n
        if (n == 1) return 0;
        const int period = 2 * (n - 1);
        i %= period;
        return i < n ? i : period - i;
    };
    std::vector<float> out(static_cast<std::size_t>(c) * ph * pw);
    for (int k = 0; k < c; ++k)
        for (int y = 0; y < ph; ++y)
            for (int x = 0; x < pw; ++x)
                out[(static_cast<std::size_t>(k) * ph + y) * pw + x] = chw[(static_cast<std::size_t>(k) * h + reflect(y, h)) * w + reflect(x, w)];
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::string checkpoint, checkpoints_dir = "./checkpoints", name, epoch = "latest", direction = "AtoB", output = "./results";
    std::vector<std::string> inputs;
    int threads = 0;
    std::string device = "cpu";
    CLI::App app{"Translate images with a generator trained by cyclegan-train."};
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a later --x overrides an earlier one
    app.add_option("inputs", inputs, "image files and/or folders of images")->required()->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("--checkpoint", checkpoint, "checkpoint file (or give --name)");
    app.add_option("--checkpoints-dir", checkpoints_dir, "where experiments are saved")->capture_default_str();
    app.add_option("--name", name, "experiment name: uses <checkpoints-dir>/<name>/<epoch>.safetensors");
    app.add_option("--epoch", epoch, "latest or an epoch number")->capture_default_str();
    app.add_option("--direction", direction, "AtoB runs G_A, BtoA runs G_B")->check(CLI::IsMember({"AtoB", "BtoA"}))->capture_default_str();
    app.add_option("--output", output, "folder for the results and index.html")->capture_default_str();
    app.add_option("--threads", threads, "CPU threads (0: every core)")->capture_default_str();
    app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    try {
        if (device == "cuda") throw std::runtime_error("--device cuda: this build has no GPU backend yet; use --device cpu");
        if (checkpoint.empty() && name.empty()) throw std::runtime_error("give --checkpoint FILE or --name NAME");
        const fs::path ckpt = !checkpoint.empty() ? fs::path(checkpoint) : fs::path(checkpoints_dir) / name / (epoch + ".safetensors");

        // Architecture from the checkpoint's own record; then only the needed generator's tensors.
        auto file = safetensors::LazyFile::open(ckpt);
        std::map<std::string, std::string> info;
        for (const auto& [k, v] : file.metadata())
            if (k.rfind("info.", 0) == 0) info[k.substr(5)] = v;
        ModelChoice m = ModelChoice::from_info(info, ckpt);
        const bool a_to_b = direction == "AtoB";
        AnyGeneratorOptions g = m.generator();
        if (!a_to_b) std::swap(g.input_nc, g.output_nc);
        cpu dev(threads);
        AnyGenerator<cpu> generator(g);
        const int multiple = generator.size_multiple();
        const std::string prefix = generator.prefix();
        Network<AnyGenerator<cpu>> net(dev, std::move(generator), prefix);
        load_network(file, net, a_to_b ? "G_A." : "G_B.");
        net.eval();

        // The inputs: files as given, folders expanded (non-image files skipped with a warning).
        std::vector<fs::path> files;
        for (const auto& in : inputs) {
            if (fs::is_directory(in)) {
                std::vector<std::string> warnings;
                for (auto& p : list_images(in, &warnings)) files.push_back(p);
                for (auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
            } else if (fs::exists(in)) {
                files.push_back(in);
            } else {
                throw std::runtime_error(in + ": no such file or folder");
            }
        }
        const fs::path out_dir(output);
        fs::create_directories(out_dir / "images");
        std::vector<report::TranslationPair> pairs;
        std::set<std::string> used;  // a.png and a.jpg, or two folders' a.png, must not overwrite each other
        for (const auto& path : files) {
            const Image img = read_image(path, g.input_nc);
            const auto chw = to_chw(img);
            int ph = 0, pw = 0;
            const auto padded = pad_to_multiple(chw, g.input_nc, img.height, img.width, multiple, ph, pw);
            const auto y = net(Tensor<cpu>::from_host(dev, {1, g.input_nc, ph, pw}, padded)).to_host(dev);
            std::vector<float> cropped(static_cast<std::size_t>(g.output_nc) * img.height * img.width);
            for (int c = 0; c < g.output_nc; ++c)
                for (int r = 0; r < img.height; ++r)
                    std::copy_n(y.begin() + (static_cast<std::ptrdiff_t>(c) * ph + r) * pw, img.width,
                                cropped.begin() + (static_cast<std::ptrdiff_t>(c) * img.height + r) * img.width);
            std::string stem = path.stem().string();
            for (int k = 2; !used.insert(stem).second; ++k) stem = path.stem().string() + "_" + std::to_string(k);
            write_image(out_dir / "images" / (stem + "_real.png"), img);
            write_image(out_dir / "images" / (stem + "_fake.png"), from_chw(cropped.data(), g.output_nc, img.height, img.width));
            pairs.push_back({"images/" + stem + "_real.png", "images/" + stem + "_fake.png", path.filename().string()});
        }
        report::write_translation_report(out_dir / "index.html", "CycleGAN " + direction + ": " + ckpt.string(), pairs);
        std::printf("translated %zu images %s with %s; results in %s\n", files.size(), direction.c_str(), ckpt.c_str(),
                    (out_dir / "index.html").c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
