// libFuzzer harness: the bytes as a checkpoint file, loaded by load_checkpoint into a small
// CycleGAN and by safetensors::LazyFile (scripts/fuzz.sh). A refusal is an exception of the
// library's (format_error, or std::runtime_error naming the file); a crash, a hang or a sanitizer
// report is a finding. With CYCLEGAN_FUZZ_SEEDS=DIR set, writes a valid checkpoint there as a seed
// and exits.
#include <cyclegan/cyclegan.hpp>
#include <cyclegan/io/checkpoint.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace cyclegan;
using Model = CycleGAN<ResnetGenerator<cpu, 1>, PatchDiscriminator<cpu, 1>>;

namespace {

cpu& device() {
    static cpu dev(1);
    return dev;
}

Model& model() {
    static Model m(device(), {.ngf = 2}, {.ndf = 2}, {.pool_size = 2, .seed = 1}, {});
    return m;
}

std::string scratch_file() {
    return "/tmp/cyclegan_fuzz_checkpoint_" + std::to_string(::getpid()) + ".safetensors";
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (const char* seeds = std::getenv("CYCLEGAN_FUZZ_SEEDS")) {
        TrainingProgress progress;
        progress.epoch = 3;
        progress.info["netG"] = "resnet_1blocks";
        save_checkpoint(std::string(seeds) + "/model.safetensors", model(), progress);
        std::exit(0);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = scratch_file();
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    try {
        load_checkpoint(path, model());
    } catch (const std::exception&) {
    }
    try {  // every tensor's bytes, converted
        const auto file = safetensors::LazyFile::open(path);
        for (const auto& [name, info] : file.tensors()) (void)file.values<float>(name);
    } catch (const std::exception&) {
    }
    return 0;
}
