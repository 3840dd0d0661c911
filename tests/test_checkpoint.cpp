// Checkpoints: a round trip restores everything training depends on, training resumed from one is
// bit-identical to training that never stopped, damaged or foreign files are refused by name with
// the model untouched, failed saves keep the previous file, and Python can read what we write.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "support/message.hpp"
#include "support/raw_text.hpp"
#include "support/temp_dir.hpp"
#include <doctest/doctest.h>

#include <cyclegan/cyclegan.hpp>
#include <cyclegan/io/atomic_file.hpp>
#include <cyclegan/io/checkpoint.hpp>
#include <cyclegan/translator.hpp>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace cyclegan;
namespace fs = std::filesystem;

namespace {

using Model = CycleGAN<ResnetGenerator<cpu, 1>, PatchDiscriminator<cpu, 2>>;
using Gen = ResnetGenerator<cpu, 1>;

// Test folders carry this file's tag.
struct TempDir : test::TempDir {
    TempDir() : test::TempDir("cyclegan_test_checkpoint") {}
};

std::string read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::string> folder_entries(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

Tensor<cpu> random_images(cpu& dev, int n, std::uint64_t seed, int side = 16, int channels = 3) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    std::vector<float> v(static_cast<std::size_t>(n) * channels * side * side);
    for (auto& e : v) e = d(rng);
    return Tensor<cpu>::from_host(dev, {n, channels, side, side}, v);
}

// Everything a checkpoint should restore, as host values, so two models compare with ==.
struct Snapshot {
    std::map<std::string, std::vector<float>> tensors;
    std::map<std::string, std::string> text;  // steps, lr, pool sizes, pool random states
    bool operator==(const Snapshot&) const = default;
};

template <class M>
Snapshot snapshot(M& m) {
    Snapshot s;
    cpu& dev = m.device();
    auto net = [&](const std::string& name, auto& n) {
        for (const auto& t : n.named_tensors()) s.tensors[name + "." + t.spec.name] = t.value.to_host(dev);
    };
    net("G_A", m.G_A);
    net("G_B", m.G_B);
    net("D_A", m.D_A);
    net("D_B", m.D_B);
    auto opt = [&](const std::string& name, auto& o) {
        for (const auto& t : o.tensors()) s.tensors["optimizer." + name + "." + t.name] = t.tensor->to_host(dev);
        s.text["optimizer." + name + ".steps"] = std::to_string(o.steps());
        s.text["optimizer." + name + ".lr"] = std::to_string(o.lr());
    };
    opt("G_A", m.opt_G_A);
    opt("G_B", m.opt_G_B);
    opt("D_A", m.opt_D_A);
    opt("D_B", m.opt_D_B);
    auto pool = [&](const std::string& name, auto& p) {
        for (std::size_t k = 0; k < p.images().size(); ++k)
            s.tensors["pool." + name + "." + std::to_string(k)] = p.images()[k].to_host(dev);
        s.text["pool." + name + ".count"] = std::to_string(p.images().size());
        s.text["pool." + name + ".rng"] = p.rng_state();
    };
    pool("fake_A", m.fake_A_pool);
    pool("fake_B", m.fake_B_pool);
    return s;
}

// A model trained a few steps with batch 2 and pools of 3: the pools are full and have swapped.
template <class M = Model>
void train(M& m, cpu& dev, int steps, std::uint64_t seed = 100) {
    for (int i = 0; i < steps; ++i) m.train_step(random_images(dev, 2, seed + 2 * i), random_images(dev, 2, seed + 2 * i + 1));
}

TrainingProgress some_progress() {
    TrainingProgress p;
    p.epoch = 3;
    p.iteration = 1234567890123L;
    p.epoch_index = 17;
    p.schedule = {2, 1.5e-4 / 3, std::numeric_limits<double>::infinity(), 4, 2e-4 / 3};
    p.info = {{"name", "horse2zebra"}, {"quoted", "a \"b\" \\ c\nd\te"}, {"unicode", "z\xc3\xa9" "bra"}, {"empty", ""}};
    return p;
}

std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

const GeneratorOptions g_instance{.ngf = 4};
const GeneratorOptions g_batch{.ngf = 4, .norm = NormType::batch};
const DiscriminatorOptions d_instance{.ndf = 4};
const DiscriminatorOptions d_batch{.ndf = 4, .norm = NormType::batch};
const CycleGANOptions small_pools{.pool_size = 3, .seed = 5};
const CycleGANOptions other_seeds{.pool_size = 3, .init = {.seed = 9}, .seed = 11};

}  // namespace

TEST_CASE("write_file_atomically creates and replaces a file, leaving no temporary behind") {
    TempDir dir;
    const auto path = dir / "f.bin";
    write_file_atomically(path, "first");
    CHECK(read_bytes(path) == "first");
    const std::string big(1 << 20, 'x');
    write_file_atomically(path, big);
    CHECK(read_bytes(path) == big);
    write_file_atomically(path, "");
    CHECK(read_bytes(path).empty());
    CHECK(folder_entries(dir.path) == std::vector<std::string>{"f.bin"});
}

TEST_CASE("remove_stale_temporary_files removes a killed writer's temporaries, and nothing else") {
    TempDir dir;
    const pid_t child = fork();  // a process that has ended: its pid names no running process
    if (child == 0) _exit(0);
    REQUIRE(child > 0);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    const std::string dead = std::to_string(child), alive = std::to_string(getpid());
    for (const std::string& name : {"." + std::string("latest.safetensors.tmp-") + dead + "-0-123456",
                                   ".5.safetensors.tmp-" + dead + "-17-99"})
        write_file_atomically(dir / name, "stale");
    std::vector<std::string> kept{
        ".latest.safetensors.tmp-" + alive + "-1-5",  // a writer still running
        "latest.safetensors",                         // the checkpoint itself
        "latest.safetensors.tmp-" + dead + "-1-5",    // not hidden: not a name we write
        ".notes.tmp-" + dead + "-x-5",                // not our three numbers
        ".tmp-" + dead + "-1-5",                      // no target name
        ".a.tmp-" + dead + "-1-5-6",                  // four numbers
        ".b.tmp-99999999999999999999999-1-5",         // a pid no process can have
        "user.tmp"};
    for (const auto& name : kept) write_file_atomically(dir / name, "keep");
    fs::create_directory(dir / "sub");
    write_file_atomically(dir / "sub" / (".x.png.tmp-" + dead + "-0-1"), "stale, but in a subfolder");
    fs::create_symlink(dir / "sub", dir / (".link.tmp-" + dead + "-0-1"));  // named like ours, but a link
    kept.push_back(".link.tmp-" + dead + "-0-1");
    CHECK(remove_stale_temporary_files(dir.path) == 2);
    auto expected = kept;
    expected.push_back("sub");
    std::sort(expected.begin(), expected.end());
    CHECK(folder_entries(dir.path) == expected);
    CHECK(remove_stale_temporary_files(dir.path) == 0);
    CHECK(remove_stale_temporary_files(dir / "missing") == 0);
}

TEST_CASE("Translator: every generator kind loads from its checkpoint and translates any image as the network does") {
    using AnyModel = CycleGAN<AnyGenerator<cpu>, AnyDiscriminator<cpu>>;
    TempDir dir;
    cpu dev(2);
    struct Kind {
        std::string netG, norm, padding, upsample;
        int input_nc, output_nc;
        bool dropout;
    };
    const Kind kinds[] = {{"resnet_6blocks", "instance", "reflect", "transposed", 3, 3, false},
                          {"resnet_6blocks", "instance", "replicate", "resize_conv", 3, 3, true},
                          {"resnet_9blocks", "batch", "zero", "resize_conv", 1, 3, false},
                          {"unet_128", "instance", "reflect", "transposed", 3, 1, true},
                          {"unet_256", "none", "reflect", "transposed", 4, 3, false}};
    for (const auto& k : kinds) {
        CAPTURE(k.netG);
        const std::map<std::string, std::string> record{
            {"netG", k.netG},           {"ngf", "2"},          {"input_nc", std::to_string(k.input_nc)},
            {"output_nc", std::to_string(k.output_nc)}, {"norm", k.norm}, {"padding", k.padding},
            {"upsample", k.upsample},   {"dropout", k.dropout ? "1" : "0"}};
        const AnyGeneratorOptions g = generator_options_from_record(record, "test");
        AnyDiscriminatorOptions d;
        d.ndf = 2, d.input_nc = k.output_nc, d.norm = g.norm;
        AnyModel model(dev, g, d, {.lambda_identity = k.input_nc == k.output_nc ? 0.5 : 0.0, .pool_size = 0, .seed = 3}, {});
        const SizeRule r = AnyGenerator<cpu>::size_rule_of(k.netG);
        const int side = std::max(r.smallest_side(), AnyDiscriminator<cpu>::size_rule_of(d).smallest_side());
        model.train_step(random_images(dev, 1, 7, side, k.input_nc), random_images(dev, 1, 8, side, k.output_nc));
        TrainingProgress progress;
        progress.info = record;
        const auto path = dir / (k.netG + ".safetensors");
        save_checkpoint(path, model, progress);

        auto AtoB = Translator<cpu>::load(dev, path, Direction::AtoB);
        auto BtoA = Translator<cpu>::load(dev, path, Direction::BtoA);
        CHECK(AtoB.input_channels() == k.input_nc);
        CHECK(BtoA.input_channels() == k.output_nc);
        model.G_A.eval(), model.G_B.eval();
        const int big = std::max(r.smallest_side(), 256);
        for (const auto& size : {std::pair{1, 1}, {7, 5}, {257, 131}, {big, big}}) {
            const int w = size.first, h = size.second;  // clang 14 cannot capture a structured binding
            CAPTURE(w);
            CAPTURE(h);
            Image colour(w, h, 3), grey(w, h, 1);
            for (std::size_t i = 0; i < colour.pixels.size(); ++i) colour.pixels[i] = static_cast<std::uint8_t>(i * 29 % 253);
            for (std::size_t i = 0; i < grey.pixels.size(); ++i) grey.pixels[i] = static_cast<std::uint8_t>(i * 13 % 251);
            for (const Image* in : {&colour, &grey}) {
                const Image out = AtoB(*in);
                CHECK(out.width == w);
                CHECK(out.height == h);
                CHECK(out.channels == k.output_nc);
                // Bit-equal to the trained network run directly on the same input.
                CHECK(out == translate_image(model.G_A, dev, convert_channels(*in, k.input_nc), r));
            }
            CHECK(BtoA(colour) == translate_image(model.G_B, dev, convert_channels(colour, k.output_nc), r));
        }

        // In tiles: the whole image's statistics (instance norm), or the running ones (batch norm),
        // give the same pixels but for a level where sums in another order round the other way; a
        // U-Net, whose receptive field is the whole image, is refused.
        auto tiled = Translator<cpu>::load(dev, path, Direction::AtoB);
        if (k.netG.starts_with("unet")) {
            CHECK_FALSE(tiled.receptive_radius());
            CHECK_THROWS_WITH_AS(tiled.set_tiling(TiledOptions{.tile = 64, .halo = -1}),
                                 doctest::Contains("receptive field is the whole image"), std::invalid_argument);
            tiled.set_memory_budget(1000);
            Image big(300, 300, 3);
            CHECK_THROWS_WITH_AS(tiled(big), doctest::Contains("cannot go in tiles"), std::invalid_argument);
            continue;
        }
        CHECK(tiled.receptive_radius() == (k.netG == "resnet_6blocks" ? 63 : 87));
        tiled.set_tiling(TiledOptions{.tile = 62, .halo = -1});
        CHECK(tiled.tiling()->tile == 64);  // rounded up to the size rule's multiple, as the halo
        CHECK(tiled.tiling()->halo == (k.netG == "resnet_6blocks" ? 64 : 88));
        Image photo(257, 131, 3);
        for (std::size_t i = 0; i < photo.pixels.size(); ++i) photo.pixels[i] = static_cast<std::uint8_t>(i * 29 % 253);
        const Image whole = AtoB(photo), in_tiles = tiled(photo);
        REQUIRE(in_tiles.pixels.size() == whole.pixels.size());
        int worst = 0;
        for (std::size_t i = 0; i < whole.pixels.size(); ++i) worst = std::max(worst, std::abs(int(whole.pixels[i]) - int(in_tiles.pixels[i])));
        CHECK(worst <= 1);
        tiled.set_tiling(std::nullopt);
        CHECK(tiled(photo) == whole);
#if defined(CYCLEGAN_HAVE_TIFF)
        // A TIFF by parts (translate_file) gives the pixels of the image in memory: whole, and in
        // the same tiles; 16 bits out are those values at 65535 levels; its alpha comes along.
        write_image(dir / "photo.tif", photo);
        AtoB.translate_file(dir / "photo.tif", dir / "whole.tif");
        CHECK(read_image(dir / "whole.tif", k.output_nc) == whole);
        tiled.set_tiling(TiledOptions{.tile = 64, .halo = -1});
        int tiles_seen = 0;
        tiled.set_progress([&](const TileProgress&) { return ++tiles_seen > 0; });
        tiled.translate_file(dir / "photo.tif", dir / "tiles.tif");
        CHECK(tiles_seen > 0);
        CHECK(read_image(dir / "tiles.tif", k.output_nc) == in_tiles);
        tiled.translate_file(dir / "photo.tif", dir / "tiles16.tif", {.bits = 16});
        TiffReader wide(dir / "tiles16.tif");
        CHECK(wide.bits() == 16);
        std::vector<float> values(std::size_t(k.output_nc) * 131 * 257);
        wide.read(0, 131, 0, 257, k.output_nc, false, values.data());
        const Image eight = from_chw(values, k.output_nc, 131, 257);  // 16 bits rounded to 8 are the 8-bit output
        CHECK(eight == in_tiles);
        // Stopped by its progress: no file, and the earlier one stays.
        tiled.set_progress([](const TileProgress& p) { return p.tile < 2; });
        CHECK_THROWS_AS(tiled.translate_file(dir / "photo.tif", dir / "tiles.tif"), translation_interrupted);
        CHECK(read_image(dir / "tiles.tif", k.output_nc) == in_tiles);
        tiled.set_progress({});
        if (k.output_nc == 3) {  // an RGBA file's alpha goes to the output as it is
            Image rgba = convert_channels(photo, 4);
            for (std::size_t i = 3; i < rgba.pixels.size(); i += 4) rgba.pixels[i] = static_cast<std::uint8_t>(i % 256);
            write_image(dir / "rgba.tif", rgba);
            tiled.translate_file(dir / "rgba.tif", dir / "rgba_out.tif");
            CHECK(read_image(dir / "rgba_out.tif", 4) == with_alpha(in_tiles, rgba));
        }
        CHECK_THROWS_AS(AtoB.translate_file(dir / "photo.tif", dir / "x.png", {.bits = 16}), std::invalid_argument);
        CHECK_THROWS_AS(AtoB.translate_file(dir / "photo.tif", dir / "x.tif", {.bits = 12}), std::invalid_argument);
        AtoB.translate_file(dir / "photo.tif", dir / "whole.png");  // another format: whole images
        CHECK(read_image(dir / "whole.png", k.output_nc) == whole);
        tiled.set_tiling(std::nullopt);
#endif

    }

    // Several threads at once equal serial calls.
    auto t = Translator<cpu>::load(dev, dir / "resnet_6blocks.safetensors", Direction::AtoB);
    std::vector<Image> inputs, serial;
    for (int i = 0; i < 8; ++i) {
        Image img(9 + i, 6 + 2 * i, 3);
        for (std::size_t j = 0; j < img.pixels.size(); ++j) img.pixels[j] = static_cast<std::uint8_t>(j * (i + 3) % 256);
        inputs.push_back(img);
        serial.push_back(t(img));
    }
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (int k = 0; k < 4; ++k)
        threads.emplace_back([&, k] {
            for (int call = 0; call < 25; ++call) {
                const int i = (call + k) % 8;
                if (!(t(inputs[i]) == serial[i])) ++mismatches[k];
            }
        });
    for (auto& th : threads) th.join();
    CHECK(mismatches == std::vector<int>(4, 0));

    // The tensor call: a batch of images the generator takes; other shapes are refused by shape.
    const auto batch = Tensor<cpu>::full(dev, {2, 3, 8, 12}, 0.1f);
    CHECK(t(batch).shape() == Shape{2, 3, 8, 12});
    CHECK_THROWS_AS(t(Tensor<cpu>::zeros(dev, {1, 3, 10, 12})), shape_error);
    CHECK_THROWS_AS(t(Tensor<cpu>::zeros(dev, {1, 1, 8, 8})), shape_error);

    // Errors name the file and what is wrong.
    const auto message = [](auto&& f) { return test::message_of(f); };
    CHECK(message([&] { Translator<cpu>::load(dev, dir / "missing.safetensors", Direction::AtoB); }).find("missing.safetensors") !=
          std::string::npos);
    CHECK(message([] { parse_direction("AtoC"); }).find("AtoB, BtoA") != std::string::npos);
    Network<Gen> plain(dev, Gen({.ngf = 2}), "model");
    save_network(dir / "plain.safetensors", plain);  // no record, and a ResNet of 1 block: no known generator
    const auto none = message([&] { Translator<cpu>::load(dev, dir / "plain.safetensors", Direction::AtoB); });
    CHECK(none.find("plain.safetensors") != std::string::npos);
    CHECK(none.find("records no generator of this library (no info.netG), and the ") != std::string::npos);
    CHECK(none.find(" tensors of its generator (") != std::string::npos);
    CHECK(none.find("resnet_9blocks, resnet_6blocks, unet_128, unet_256") != std::string::npos);
    CHECK(message([&] { Translator<cpu>::load(dev, dir / "missing.safetensors"); }).find("missing.safetensors: no such file") !=
          std::string::npos);
    CHECK(message([&] { Translator<cpu>::load(dev, dir.path); }).find("is a folder") != std::string::npos);
    {  // an image given as the model
        Image img(3, 2, 3, 9);
        write_image(dir / "photo.png", img);
        CHECK(message([&] { Translator<cpu>::load(dev, dir / "photo.png"); }).find("photo.png: not a safetensors file") !=
              std::string::npos);
    }
    {  // a checkpoint's discriminators alone: no generator, and which networks it does hold
        Network<PatchDiscriminator<cpu, 2>> d(dev, PatchDiscriminator<cpu, 2>({.ndf = 2}), "model");
        save_network(dir / "D_only.safetensors", d, "D_A.");
        const auto what = message([&] { Translator<cpu>::load(dev, dir / "D_only.safetensors"); });
        CHECK(what.find("D_only.safetensors: holds no G_A generator for direction AtoB") != std::string::npos);
        CHECK(what.find("begin with D_A.") != std::string::npos);
    }
    {  // a file with G_A only, asked for G_B
        Network<AnyGenerator<cpu>> g(dev, AnyGenerator<cpu>(AnyGeneratorOptions{{.ngf = 2}, "resnet_6blocks"}), "model");
        save_network(dir / "only_G_A.safetensors", g, "G_A.");
        CHECK(Translator<cpu>::load(dev, dir / "only_G_A.safetensors", Direction::AtoB).input_channels() == 3);
        CHECK(message([&] { Translator<cpu>::load(dev, dir / "only_G_A.safetensors", Direction::BtoA); })
                  .find("only_G_A.safetensors: holds no G_B generator for direction BtoA") != std::string::npos);
    }
    {  // an architecture the library does not know: the file and the name
        auto record = std::map<std::string, std::string>{{"netG", "resnet_12blocks"}, {"ngf", "2"}, {"input_nc", "3"},
                                                         {"output_nc", "3"}, {"norm", "instance"}, {"padding", "reflect"},
                                                         {"upsample", "transposed"}, {"dropout", "0"}};
        const auto what = message([&] { generator_options_from_record(record, "future.safetensors"); });
        CHECK(what.find("future.safetensors") != std::string::npos);
        CHECK(what.find("'resnet_12blocks'") != std::string::npos);
        record["netG"] = "unet_128", record["norm"] = "group";
        CHECK(message([&] { generator_options_from_record(record, "future.safetensors"); }).find("future.safetensors: unknown norm 'group'") !=
              std::string::npos);
    }
    {  // a record that disagrees with the tensors (converted with wrong options): the options named
        using AnyModel = CycleGAN<AnyGenerator<cpu>, AnyDiscriminator<cpu>>;
        AnyGeneratorOptions g{{.ngf = 2}, "resnet_6blocks"};
        AnyDiscriminatorOptions d;
        d.ndf = 2;
        AnyModel model(dev, g, d, {.pool_size = 0});
        TrainingProgress progress;
        progress.info = generator_record(g);
        progress.info["netG"] = "resnet_9blocks", progress.info["ngf"] = "4", progress.info["input_nc"] = "1";
        progress.info["padding"] = "replicate";  // the tensors cannot tell reflect from replicate: not listed
        save_checkpoint(dir / "wrong_record.safetensors", model, progress);
        for (const Direction direction : {Direction::AtoB, Direction::BtoA}) {
            const auto what = message([&] { Translator<cpu>::load(dev, dir / "wrong_record.safetensors", direction); });
            INFO(what);
            CHECK(what.rfind((dir / "wrong_record.safetensors").string() + ": records another generator than its tensors hold:", 0) == 0);
            CHECK(what.find("netG: the file records resnet_9blocks, its tensors are of resnet_6blocks") != std::string::npos);
            CHECK(what.find("ngf: the file records 4, its tensors are of 2") != std::string::npos);
            CHECK(what.find("input_nc: the file records 1, its tensors are of 3") != std::string::npos);
            CHECK(what.find("padding") == std::string::npos);
        }
        progress.info = generator_record(g);
        progress.info["model"] = "cut";
        save_checkpoint(dir / "other_model.safetensors", model, progress);
        CHECK(message([&] { Translator<cpu>::load(dev, dir / "other_model.safetensors"); })
                  .find("other_model.safetensors: holds a cut model; Translator runs a CycleGAN's generators") != std::string::npos);
        progress.info["model"] = "cycle_gan";
        save_checkpoint(dir / "this_model.safetensors", model, progress);
        CHECK(Translator<cpu>::load(dev, dir / "this_model.safetensors").options().netG == "resnet_6blocks");
    }
    const auto text = read_bytes(dir / "unet_128.safetensors");
    write_bytes(dir / "cut.safetensors", text.substr(0, text.size() / 2));
    CHECK(message([&] { Translator<cpu>::load(dev, dir / "cut.safetensors", Direction::AtoB); }).find("cut.safetensors") !=
          std::string::npos);
}

TEST_CASE("Translator: within a memory budget, whole where the measured need fits, in exact tiles where not") {
    TempDir dir;
    cpu dev(2);
    // Batch norm: its running statistics make the tiles exact in one pass (instance norm's passes,
    // one per norm, are tested above and in test_models), so this test stays quick under qemu.
    Network<ResnetGenerator6<cpu>> g(dev, ResnetGenerator6<cpu>({.ngf = 8, .norm = NormType::batch}), "model", {.seed = 5});
    save_network(dir / "g.safetensors", g);
    auto t = Translator<cpu>::load(dev, dir / "g.safetensors");
    Image photo(600, 400, 3);
    for (std::size_t i = 0; i < photo.pixels.size(); ++i) photo.pixels[i] = static_cast<std::uint8_t>((i / 3 % 600) ^ (i / 1800));
    const Image whole = t(photo);

    t.set_memory_budget(std::size_t{1} << 30);
    REQUIRE(t.memory_need());
    const auto need = *t.memory_need();
    MESSAGE("resnet_6blocks at ngf 8: " << need.per_pixel << " bytes per pixel, " << need.fixed << " bytes fixed");
    CHECK(need.per_pixel > 6 * 8);  // the widest pair of maps: 6 * ngf bytes per pixel, and the images
    CHECK(t(photo) == whole);  // fits whole

    // Room for 40% of the whole image's per-pixel need beside what is fixed (the weights, their
    // transformed copies, the kernels' scratch) and the input and output images held whole.
    const auto tight = static_cast<std::size_t>((need.fixed + 600.0 * 400 * 6 * sizeof(float) + 0.4 * need.per_pixel * 600 * 400) / 0.95);
    CHECK(need.bytes(600.0 * 400) > 0.95 * double(tight));  // 5% is kept in reserve
    t.set_memory_budget(tight);
    const double others = double(dev.tensor_bytes());  // the weights
    dev.reset_peak_memory();
    const Image in_budget = t(photo);
    CHECK(double(dev.peak_tensor_bytes()) - others + double(g.parameters().numel() * sizeof(float)) <= double(tight));
    int worst = 0;
    for (std::size_t i = 0; i < whole.pixels.size(); ++i) worst = std::max(worst, std::abs(int(whole.pixels[i]) - int(in_budget.pixels[i])));
    CHECK(worst <= 1);
    // Sampled statistics: the windows, which run at once, are narrowed to fit too.
    const auto roomier = static_cast<std::size_t>((need.fixed + 600.0 * 400 * 6 * sizeof(float) + 0.5 * need.per_pixel * 600 * 400) / 0.95);
    CHECK(need.bytes(600.0 * 400) > 0.95 * double(roomier));
    t.set_memory_budget(roomier, TileStatistics::sampled);
    dev.reset_peak_memory();
    const Image sampled = t(photo);
    CHECK(double(dev.peak_tensor_bytes()) - others + double(g.parameters().numel() * sizeof(float)) <= double(roomier));
    worst = 0;
    for (std::size_t i = 0; i < whole.pixels.size(); ++i) worst = std::max(worst, std::abs(int(whole.pixels[i]) - int(sampled.pixels[i])));
    CHECK(worst <= 1);  // batch norm: its running statistics, whatever the windows

    t.set_memory_budget(1000);
    CHECK_THROWS_WITH_AS(t(photo), doctest::Contains("raise the budget"), std::invalid_argument);
    t.set_memory_budget(std::nullopt);
    CHECK(t(photo) == whole);
}

TEST_CASE("Translator: a file without a record is recognised by its tensors, for every generator the library builds") {
    // Every combination of the choices that change the tensors' names, with odd channel counts
    // and ngf: the options read off the names and dims are the ones built, except what names
    // cannot tell (replicate is taken as reflect, a U-Net's dropout as none).
    int checked = 0;
    for (const auto& netG : generator_names())
        for (const auto& norm : norm_choices)
            for (const auto& padding : padding_choices)
                for (const auto& upsample : upsample_choices)
                    for (const bool dropout : {false, true}) {
                        AnyGeneratorOptions o{{.input_nc = 4, .output_nc = 1, .ngf = 3, .norm = norm.value, .use_dropout = dropout,
                                               .padding = padding.value, .upsample = upsample.value},
                                              netG};
                        std::map<std::string, std::vector<std::int64_t>> dims;
                        AnyGenerator<cpu>(o).parameters(
                            [&](const ParamSpec& spec, Tensor<cpu>&, Tensor<cpu>*) {
                                dims[spec.name] = std::vector<std::int64_t>(spec.dims.begin(), spec.dims.end());
                            },
                            AnyGenerator<cpu>::prefix_of(netG));
                        const AnyGeneratorOptions got = AnyGenerator<cpu>::infer_options(dims, "x");
                        CAPTURE(netG);
                        CAPTURE(norm.name);
                        CAPTURE(padding.name);
                        CAPTURE(upsample.name);
                        CAPTURE(dropout);
                        const bool unet = netG.rfind("unet", 0) == 0;
                        CHECK(got.netG == netG);
                        CHECK(got.ngf == 3);
                        CHECK(got.input_nc == 4);
                        CHECK(got.output_nc == 1);
                        CHECK(got.norm == norm.value);
                        if (!unet) {  // a U-Net has no padding type, upsampling choice or dropout layer with weights
                            CHECK(got.padding == (padding.value == PaddingMode::replicate ? PaddingMode::reflect : padding.value));
                            CHECK(got.upsample == upsample.value);
                            CHECK(got.use_dropout == dropout);
                        }
                        ++checked;
                    }
    CHECK(checked == 4 * 3 * 3 * 2 * 2);

    // From files: a reference state_dict's names (no prefix, no record) load, and run as the
    // network they came from; a file save_network writes from an AnyGenerator records even what
    // names cannot tell.
    TempDir dir;
    cpu dev(2);
    Network<ResnetGenerator6<cpu>> resnet(dev, ResnetGenerator6<cpu>({.input_nc = 1, .ngf = 2}), "model");
    Network<UnetGenerator128<cpu>> unet(dev, UnetGenerator128<cpu>({.output_nc = 1, .ngf = 2, .norm = NormType::batch}), "model.model");
    save_network(dir / "resnet.safetensors", resnet);
    save_network(dir / "unet.safetensors", unet);
    resnet.eval(), unet.eval();
    Image img(13, 9, 3);
    for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>(i * 7 % 256);
    auto t_resnet = Translator<cpu>::load(dev, dir / "resnet.safetensors", Direction::BtoA);  // one generator: any direction
    CHECK(t_resnet.options().netG == "resnet_6blocks");
    CHECK(t_resnet(img) == translate_image(resnet, dev, convert_channels(img, 1), AnyGenerator<cpu>::size_rule_of("resnet_6blocks")));
    auto t_unet = Translator<cpu>::load(dev, dir / "unet.safetensors");
    CHECK(t_unet.options().netG == "unet_128");
    CHECK(t_unet.options().norm == NormType::batch);
    CHECK(t_unet(img) == translate_image(unet, dev, img, AnyGenerator<cpu>::size_rule_of("unet_128")));
    // translate_image does not convert channels (Translator does): it says so, naming the image as given.
    CHECK(test::message_of<shape_error>([&] { translate_image(resnet, dev, img, AnyGenerator<cpu>::size_rule_of("resnet_6blocks")); }) ==
          "translate_images: images of 13x9x3 (padded to 16x12): Conv2d at model.1: expected 1 input channels, got input of "
          "shape [1, 3, 12, 16] (an image must have the generator's input channels: convert_channels(image, channels) "
          "converts it, Translator does so itself)");

    AnyGeneratorOptions replicate{{.ngf = 2, .padding = PaddingMode::replicate}, "resnet_9blocks"};
    Network<AnyGenerator<cpu>> g(dev, AnyGenerator<cpu>(replicate), "model");
    save_network(dir / "replicate.safetensors", g);
    g.eval();
    auto t = Translator<cpu>::load(dev, dir / "replicate.safetensors");
    CHECK(t.options().padding == PaddingMode::replicate);
    CHECK(t(img) == translate_image(g, dev, img, g.net().size_rule()));
}

namespace {

// A generator of one's own, as docs/custom-networks.md writes one: a function of its options.
template <class B>
auto own_generator(const GeneratorOptions& o) {
    return Sequential(ReflectionPad2d<B>(1), Conv2d<B>(o.input_nc, o.ngf, 3), InstanceNorm2d<B>(o.ngf), ReLU<B>{},
                      Conv2d<B>(o.ngf, o.ngf, 3, {.stride = 2, .padding = 1}), ReLU<B>{}, Upsample<B>(),
                      Conv2d<B>(o.ngf, o.output_nc, 1), Tanh<B>{});
}
template <class B>
auto own_discriminator(const DiscriminatorOptions& o) {
    return Sequential(Conv2d<B>(o.input_nc, o.ndf, 4, {.stride = 2, .padding = 1}), LeakyReLU<B>(0.2), Conv2d<B>(o.ndf, 1, 3));
}
using OwnGenerator = Built<own_generator<cpu>>;
using OwnModel = CycleGAN<OwnGenerator, Built<own_discriminator<cpu>>>;

}  // namespace

TEST_CASE("Translator<B, G>: a generator of one's own, built from its options and loaded by name") {
    TempDir dir;
    cpu dev(2);
    const GeneratorOptions g{.input_nc = 3, .output_nc = 1, .ngf = 4};
    OwnModel model(dev, g, {.ndf = 4}, {.lambda_identity = 0, .init = {.seed = 7}});
    model.train_step(Tensor<cpu>::full(dev, {1, 3, 8, 8}, 0.3f), Tensor<cpu>::full(dev, {1, 1, 8, 8}, -0.2f));
    save_checkpoint(dir / "own.safetensors", model, {});
    CHECK(model.generator_size_rule() == SizeRule{2, 2});  // one stride-2 step and back up

    Image img(13, 9, 3);
    for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>(i * 11 % 256);
    model.G_A.eval(), model.G_B.eval();
    const SizeRule sizes = model.generator_size_rule();
    auto a_to_b = Translator<cpu, OwnGenerator>::load(dev, dir / "own.safetensors", g, Direction::AtoB);
    CHECK(a_to_b.input_channels() == 3);
    CHECK(a_to_b.output_channels() == 1);
    CHECK(a_to_b.size_rule() == sizes);
    CHECK(a_to_b(img) == translate_image(model.G_A, dev, img, sizes));  // any size: 13x9 padded to 14x10 and back
    auto b_to_a = Translator<cpu, OwnGenerator>::load(dev, dir / "own.safetensors", g, Direction::BtoA);  // G_B: 1 -> 3
    CHECK(b_to_a.options().input_nc == 1);
    CHECK(b_to_a(img) == translate_image(model.G_B, dev, convert_channels(img, 1), sizes));  // any channels in
    const auto x = Tensor<cpu>::full(dev, {2, 1, 6, 4}, 0.1f);
    CHECK(b_to_a(x).to_host(dev) == model.G_B(x).to_host(dev));

    // A single generator's file, with the network's own names.
    save_network(dir / "G_B.safetensors", model.G_B);
    auto single = Translator<cpu, OwnGenerator>::load(dev, dir / "G_B.safetensors", {.input_nc = 1, .output_nc = 3, .ngf = 4});
    CHECK(single(img) == b_to_a(img));

    // Several threads at once equal serial calls.
    const Image serial = a_to_b(img);
    std::vector<Image> parallel(4);
    std::vector<std::thread> threads;
    for (std::size_t k = 0; k < parallel.size(); ++k) threads.emplace_back([&, k] { parallel[k] = a_to_b(img); });
    for (auto& th : threads) th.join();
    for (const Image& out : parallel) CHECK(out == serial);

    const auto message = [](auto&& f) { return test::message_of(f); };
    // Other options than the file's architecture: refused with the differences, by name.
    const auto wider = message([&] { Translator<cpu, OwnGenerator>::load(dev, dir / "own.safetensors", {.ngf = 8}); });
    CHECK(wider.find("written for another architecture") != std::string::npos);
    CHECK(wider.find("G_A.1.weight: shape [4, 3, 3, 3] in the file, [8, 3, 3, 3] in the model") != std::string::npos);
    // The untyped Translator cannot know the architecture: it says which route loads it.
    const auto untyped = message([&] { Translator<cpu>::load(dev, dir / "own.safetensors"); });
    CHECK(untyped.find("are not those of any generator this library knows") != std::string::npos);
    CHECK(untyped.find("Translator<B, YourGenerator>::load(dev, path, options)") != std::string::npos);
}

TEST_CASE("Translator: interleaved buffers, batches and alpha; repeated calls do not grow memory") {
    TempDir dir;
    cpu dev(2);
    Network<AnyGenerator<cpu>> g(dev, AnyGenerator<cpu>(AnyGeneratorOptions{{.ngf = 4}, "resnet_6blocks"}), "model");
    save_network(dir / "g.safetensors", g);
    auto t = Translator<cpu>::load(dev, dir / "g.safetensors");

    std::vector<Image> images;
    for (int i = 0; i < 3; ++i) {
        Image img(11, 6, 3);
        for (std::size_t j = 0; j < img.pixels.size(); ++j) img.pixels[j] = static_cast<std::uint8_t>(j * (i + 5) % 256);
        images.push_back(img);
    }
    // A caller's buffer: the same as the image; a length that does not fit is refused.
    const std::vector<std::uint8_t>& buffer = images[0].pixels;
    CHECK(t(buffer, 11, 6, 3) == t(images[0]));
    CHECK_THROWS_AS(t(buffer, 11, 7, 3), std::invalid_argument);
    CHECK_THROWS_AS(t(std::span(buffer).first(buffer.size() - 1), 11, 6, 3), std::invalid_argument);

    // A batch equals one call each (to a level of rounding: the batch may take other kernels).
    const std::vector<Image> batch = t(std::span<const Image>(images));
    REQUIRE(batch.size() == 3);
    for (int i = 0; i < 3; ++i) {
        const Image one = t(images[i]);
        REQUIRE(batch[i].pixels.size() == one.pixels.size());
        int worst = 0;
        for (std::size_t j = 0; j < one.pixels.size(); ++j) worst = std::max(worst, std::abs(batch[i].pixels[j] - one.pixels[j]));
        CHECK(worst <= 1);
    }
    images.push_back(Image(6, 11, 3));
    CHECK_THROWS_AS(t(std::span<const Image>(images)), std::invalid_argument);  // sizes differ
    CHECK_THROWS_AS(t(std::span<const Image>()), std::invalid_argument);
    Image broken(4, 4, 3);
    broken.pixels.pop_back();
    CHECK_THROWS_AS(t(broken), std::invalid_argument);

    // Transparency stays: an RGBA input with alpha below 255 gives RGBA with the same alpha; an
    // opaque one gives RGB.
    Image rgba = convert_channels(images[0], 4);
    CHECK(t(rgba).channels == 3);
    for (std::size_t j = 3; j < rgba.pixels.size(); j += 4) rgba.pixels[j] = static_cast<std::uint8_t>(j % 256);
    const Image out = t(rgba);
    CHECK(out == with_alpha(t(images[0]), rgba));

#if defined(__GLIBC__)
    // Working memory is released after each call: 100 more calls on same-sized images leave the
    // heap (malloc'd and mapped bytes in use) where the first few calls left it.
    auto heap = [] {
        const struct mallinfo2 m = mallinfo2();
        return static_cast<long long>(m.uordblks + m.hblkhd);
    };
    Image photo(67, 45, 3);
    for (std::size_t j = 0; j < photo.pixels.size(); ++j) photo.pixels[j] = static_cast<std::uint8_t>(j * 11 % 256);
    for (int i = 0; i < 5; ++i) t(photo);
    const long long before = heap();
    for (int i = 0; i < 100; ++i) t(photo);
    const long long after = heap();
    CAPTURE(before);
    CAPTURE(after);
    CHECK(after - before < 64 * 1024);
#endif
}

TEST_CASE("a checkpoint round trip restores every tensor, optimizer state, pool and the progress") {
    cpu dev;
    TempDir dir;
    const auto path = dir / "latest.safetensors";
    for (const bool batch_norm : {false, true}) {
        CAPTURE(batch_norm);
        const auto& g = batch_norm ? g_batch : g_instance;
        const auto& d = batch_norm ? d_batch : d_instance;
        Model m(dev, g, d, small_pools);
        train(m, dev, 3);
        m.set_lr(1.25e-4);
        const TrainingProgress saved = some_progress();
        save_checkpoint(path, m, saved);

        Model fresh(dev, g, d, other_seeds);
        const Snapshot before = snapshot(fresh), expected = snapshot(m);
        REQUIRE(before != expected);  // the load has something to restore
        REQUIRE(m.fake_A_pool.images().size() == 3);
        REQUIRE(m.opt_G_A.steps() == 3);
        if (batch_norm) {  // running statistics are buffers, saved too
            const auto& rm = m.G_A.find("model.2.running_mean");
            CHECK(rm.value.to_host(dev) != fresh.G_A.find("model.2.running_mean").value.to_host(dev));
        }

        const TrainingProgress loaded = load_checkpoint(path, fresh);
        CHECK(snapshot(fresh) == expected);
        CHECK(fresh.lr() == 1.25e-4);
        CHECK(loaded.epoch == saved.epoch);
        CHECK(loaded.iteration == saved.iteration);
        CHECK(loaded.epoch_index == saved.epoch_index);
        CHECK(loaded.schedule.epochs_done == saved.schedule.epochs_done);
        CHECK(loaded.schedule.lr == saved.schedule.lr);  // exact: the text round-trips the bits
        CHECK(loaded.schedule.best == saved.schedule.best);
        CHECK(loaded.schedule.bad_epochs == saved.schedule.bad_epochs);
        CHECK(loaded.schedule.base_lr == saved.schedule.base_lr);
        CHECK(loaded.info == saved.info);

        // A checkpoint written before the schedule recorded its base rate loads, the base unknown.
        std::string older = read_bytes(path);
        const auto at = older.find("\"schedule.base_lr\"");
        REQUIRE(at != std::string::npos);
        older.replace(at, 18, "\"schedule.base_xx\"");  // same length: the header stays valid
        write_bytes(dir / "older.safetensors", older);
        const TrainingProgress old_progress = load_checkpoint(dir / "older.safetensors", fresh);
        CHECK(std::isnan(old_progress.schedule.base_lr));
        CHECK(old_progress.schedule.lr == saved.schedule.lr);

        // Every network tensor is in the file under its prefixed state_dict name with PyTorch's dims.
        const auto file = safetensors::LazyFile::open(path);
        for (const auto& t : m.G_A.named_tensors()) {
            const auto& info = file.info("G_A." + t.spec.name);
            CHECK(info.dtype == "F32");
            CHECK(info.shape == std::vector<std::int64_t>(t.spec.dims.begin(), t.spec.dims.end()));
        }
        CHECK(file.contains(batch_norm ? "D_B.model.3.running_var" : "D_B.model.0.bias"));
        CHECK(file.info("optimizer.D_A.exp_avg_sq").shape == std::vector<std::int64_t>{static_cast<std::int64_t>(m.D_A.parameter_count())});
        CHECK(file.info("pool.fake_B.2").shape == std::vector<std::int64_t>{1, 3, 16, 16});
    }
}

TEST_CASE("training resumed from a checkpoint is bit-identical to training that never stopped") {
    cpu dev;
    TempDir dir;
    const auto path = dir / "resume.safetensors";
    for (const bool batch_norm : {false, true}) {
        CAPTURE(batch_norm);
        const auto& g = batch_norm ? g_batch : g_instance;
        const auto& d = batch_norm ? d_batch : d_instance;

        std::vector<std::array<double, 8>> straight;
        {
            Model m(dev, g, d, small_pools);
            for (int i = 0; i < 6; ++i) {
                if (i == 3) m.set_lr(1e-4);  // a schedule's step between the halves
                straight.push_back(m.train_step(random_images(dev, 2, 100 + 2 * i), random_images(dev, 2, 101 + 2 * i)).values());
            }
        }
        std::vector<std::array<double, 8>> resumed;
        {
            Model m(dev, g, d, small_pools);
            for (int i = 0; i < 3; ++i)
                resumed.push_back(m.train_step(random_images(dev, 2, 100 + 2 * i), random_images(dev, 2, 101 + 2 * i)).values());
            m.set_lr(1e-4);
            save_checkpoint(path, m, {});
        }
        {
            Model m(dev, g, d, other_seeds);  // different weights and pool streams until loaded
            load_checkpoint(path, m);
            for (int i = 3; i < 6; ++i)
                resumed.push_back(m.train_step(random_images(dev, 2, 100 + 2 * i), random_images(dev, 2, 101 + 2 * i)).values());
        }
        for (int i = 0; i < 6; ++i) {
            CAPTURE(i);
            for (int k = 0; k < 8; ++k) {
                CAPTURE(CycleGANLosses::names[k]);
                CHECK(resumed[i][k] == straight[i][k]);  // ==, not Approx
            }
        }
    }
}

// The ranks of a distributed run, played by one process: rank 0's gather_bytes returns its own
// bytes and, after them, the bytes that `others` hold for that call (ranks 1, 2, ...).
struct PlayedRanks {
    int rank_ = 0, size_ = 1;
    std::vector<std::vector<std::string>> others;  // per gather_bytes call, in call order
    std::size_t calls = 0;
    int rank() const { return rank_; }
    int size() const { return size_; }
    std::vector<std::string> gather_bytes(const std::string& mine, int root) {
        REQUIRE(root == 0);
        std::vector<std::string> all{mine};
        for (const auto& b : others.at(calls++)) all.push_back(b);
        return all;
    }
};

// A file's tensor names in the file's order (by offset).
std::vector<std::string> names_in_order(const fs::path& path) {
    const auto file = safetensors::LazyFile::open(path);
    std::vector<std::pair<std::size_t, std::string>> at;
    for (const auto& [name, info] : file.tensors()) at.push_back({info.begin, name});
    std::sort(at.begin(), at.end());
    std::vector<std::string> names;
    for (const auto& [offset, name] : at) names.push_back(name);
    return names;
}

// `bytes` (a safetensors file) with one metadata entry's value replaced.
std::string with_metadata(const fs::path& path, const std::string& key, const std::string& value) {
    const auto file = safetensors::LazyFile::open(path);
    auto meta = file.metadata();
    meta.at(key) = value;
    std::vector<std::pair<std::size_t, safetensors::TensorDecl>> decls;
    for (const auto& [name, info] : file.tensors()) decls.push_back({info.begin, {name, info.dtype, info.shape}});
    std::sort(decls.begin(), decls.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<safetensors::TensorDecl> ordered;
    for (const auto& d : decls) ordered.push_back(d.second);
    const std::string bytes = read_bytes(path);
    std::uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[i]);
    return safetensors::serialize_header(ordered, meta) + bytes.substr(8 + header_len);
}

TEST_CASE("every rank's pools: saved beside rank 0's, each rank loads its own and resumes exactly, a new rank starts empty") {
    cpu dev;
    TempDir dir;
    const auto path = dir / "ranks.safetensors";
    // Three ranks' models: the same weights, pools of their own (seeds as cyclegan-train gives them).
    auto rank_model = [&](int r) {
        return std::make_unique<Model>(dev, g_instance, d_instance,
                                       CycleGANOptions{.pool_size = 3, .seed = stream_seed(5, static_cast<std::uint64_t>(r))});
    };
    std::vector<std::unique_ptr<Model>> ranks;
    for (int r = 0; r < 3; ++r) {
        ranks.push_back(rank_model(r));
        train(*ranks.back(), dev, 3, 100 + 20 * static_cast<std::uint64_t>(r));  // pools full, and swapped
    }
    REQUIRE(ranks[1]->fake_A_pool.rng_state() != ranks[2]->fake_A_pool.rng_state());
    PlayedRanks comm{.rank_ = 0, .size_ = 3, .others = {}};
    for (auto pool : {&Model::fake_A_pool, &Model::fake_B_pool})
        comm.others.push_back({((*ranks[1]).*pool).to_bytes(dev), ((*ranks[2]).*pool).to_bytes(dev)});
    save_checkpoint(path, *ranks[0], some_progress(), comm);
    CHECK(comm.calls == 2);

    // The file's layout, which earlier versions wrote too: rank 0's pools, then the others', pool by pool.
    std::vector<std::string> pools;
    for (const auto& name : names_in_order(path))
        if (name.starts_with("pool.")) pools.push_back(name);
    std::vector<std::string> expected;
    for (const char* name : {"fake_A.", "fake_B.", "rank1.fake_A.", "rank2.fake_A.", "rank1.fake_B.", "rank2.fake_B."})
        for (int k = 0; k < 3; ++k) expected.push_back("pool." + std::string(name) + std::to_string(k));
    CHECK(pools == expected);
    const auto meta = safetensors::LazyFile::open(path).metadata();
    CHECK(meta.at("pool.rank2.fake_B.count") == "3");
    CHECK(meta.at("pool.rank2.fake_B.rng") == ranks[2]->fake_B_pool.rng_state());

    // Each rank loads its own pools, and then steps exactly as the rank that saved them.
    const Snapshot saved = snapshot(*ranks[0]);
    for (int r = 0; r < 3; ++r) {
        CAPTURE(r);
        auto loaded = rank_model(r == 0 ? 1 : 0);  // another rank's pool streams until loaded
        PlayedRanks as_rank{.rank_ = r, .size_ = 3, .others = {}};
        load_checkpoint(path, *loaded, as_rank);
        Snapshot want = snapshot(*ranks[r]), got = snapshot(*loaded);
        for (auto* s : {&want, &got})  // weights and optimizers are rank 0's
            std::erase_if(s->tensors, [](const auto& t) { return !t.first.starts_with("pool."); });
        CHECK(got == want);
        const auto x = random_images(dev, 2, 900), y = random_images(dev, 2, 901);
        CHECK(loaded->fake_A_pool.query(dev, x).to_host(dev) == ranks[r]->fake_A_pool.query(dev, x).to_host(dev));
        CHECK(loaded->fake_B_pool.query(dev, y).to_host(dev) == ranks[r]->fake_B_pool.query(dev, y).to_host(dev));
    }

    SUBCASE("a rank the saved run did not have starts with empty pools, drawing as a fresh one") {
        auto fresh = rank_model(3), loaded = rank_model(3);
        train(*loaded, dev, 3);
        REQUIRE(loaded->fake_A_pool.images().size() == 3);
        PlayedRanks as_rank{.rank_ = 3, .size_ = 4, .others = {}};
        load_checkpoint(path, *loaded, as_rank);
        CHECK(loaded->fake_A_pool.images().empty());
        CHECK(loaded->fake_B_pool.images().empty());
        CHECK(loaded->fake_A_pool.rng_state() == fresh->fake_A_pool.rng_state());
        CHECK(snapshot(*loaded).tensors.at("G_A.model.1.weight") == snapshot(*ranks[0]).tensors.at("G_A.model.1.weight"));
    }
    SUBCASE("a single process reads rank 0's pools and skips the others'") {
        auto one = rank_model(1);
        load_checkpoint(path, *one);
        CHECK(snapshot(*one) == saved);
    }
}

TEST_CASE("a pool's random state: checked on load, and a pool saved as std::mt19937_64's state (earlier versions) still loads") {
    cpu dev;
    TempDir dir;
    const auto path = dir / "pools.safetensors";
    Model m(dev, g_instance, d_instance, small_pools);
    train(m, dev, 3);
    save_checkpoint(path, m, some_progress());
    const auto old_state = dir / "old.safetensors";
    std::mt19937_64 engine(5 * 2 + 1);  // what earlier versions saved: the engine's state as text
    for (int i = 0; i < 7; ++i) engine();
    std::ostringstream text;
    text << engine;
    write_bytes(old_state, with_metadata(path, "pool.fake_A.rng", text.str()));

    Model loaded(dev, g_instance, d_instance, other_seeds);
    load_checkpoint(old_state, loaded);
    CHECK(loaded.fake_A_pool.images().size() == 3);
    CHECK(loaded.fake_A_pool.rng_state() == "counter " + std::to_string(engine()) + " 0");  // keyed by its next output

    const auto bad = dir / "bad.safetensors";
    write_bytes(bad, with_metadata(path, "pool.fake_B.rng", "counter 12 x"));
    Model target(dev, g_instance, d_instance, other_seeds);
    const Snapshot before = snapshot(target);
    const std::string msg = message_of([&] { load_checkpoint(bad, target); });
    CHECK(msg == bad.string() + ": metadata entry 'pool.fake_B.rng' is not an image pool's random state");
    CHECK(snapshot(target) == before);
}

// A model of one network and no pools: naming its state is all it takes to be checkpointed,
// broadcast and scheduled, as a second model type (CUT) does.
struct OneNetworkModel {
    using backend = cpu;
    static constexpr std::array networks{"G"};
    static constexpr std::array<const char*, 0> pools{};

    OneNetworkModel(cpu& dev, std::uint64_t seed)
        : dev_(&dev), G(dev, Gen(g_instance), Gen(g_instance).prefix(), {.seed = seed}), opt_G(dev, G.parameter_count()) {}
    cpu& device() { return *dev_; }
    template <class F>
    void for_each_network(F&& f) { visit_named(networks, f, G); }
    template <class F>
    void for_each_optimizer(F&& f) { visit_named(networks, f, opt_G); }
    template <class F>
    void for_each_pool(F&& f) { visit_named(pools, f); }

    cpu* dev_;
    Network<Gen> G;
    Adam::State<cpu> opt_G;
};

TEST_CASE("a model names its state once: another model type checkpoints, broadcasts and sets its learning rate by its list") {
    static_assert(TrainableModel<Model>);
    static_assert(TrainableModel<OneNetworkModel>);
    static_assert(!TrainableModel<Gen>);
    cpu dev;
    TempDir dir;
    const auto path = dir / "one.safetensors";
    OneNetworkModel m(dev, 1), other(dev, 2);
    set_lr(m, 1.5e-4);
    CHECK(m.opt_G.lr() == 1.5e-4);
    dev.fill(m.G.gradients().data(), m.G.gradients().numel(), 0.25f);
    m.opt_G.step(m.G.parameters(), m.G.gradients());
    save_checkpoint(path, m, some_progress());

    std::vector<std::string> names = names_in_order(path);
    CHECK(names.front() == "G.model.1.weight");
    CHECK(std::count_if(names.begin(), names.end(), [](const std::string& n) { return n.starts_with("optimizer.G."); }) == 2);
    CHECK(std::none_of(names.begin(), names.end(), [](const std::string& n) { return n.starts_with("pool."); }));
    REQUIRE(other.G.parameters().to_host(dev) != m.G.parameters().to_host(dev));
    const TrainingProgress p = load_checkpoint(path, other);
    CHECK(p.epoch == some_progress().epoch);
    CHECK(other.G.parameters().to_host(dev) == m.G.parameters().to_host(dev));
    CHECK(other.opt_G.steps() == 1);
    CHECK(other.opt_G.lr() == 1.5e-4);
    SingleProcess alone;
    broadcast_weights(other, alone);  // one rank: its own weights stay
    CHECK(other.G.parameters().to_host(dev) == m.G.parameters().to_host(dev));
}

TEST_CASE("a truncated or corrupted checkpoint is refused by name and the model is untouched") {
    cpu dev;
    TempDir dir;
    const auto good = dir / "good.safetensors";
    Model m(dev, g_instance, d_instance, small_pools);
    train(m, dev, 2);
    save_checkpoint(good, m, some_progress());
    const std::string bytes = read_bytes(good);
    std::uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[i]);

    Model target(dev, g_instance, d_instance, other_seeds);
    const Snapshot before = snapshot(target);
    const auto bad = dir / "bad.safetensors";
    const std::size_t cuts[] = {0, 3, 8, 20, 8 + header_len - 1, 8 + header_len, 8 + header_len + 100, bytes.size() / 2,
                                bytes.size() - 1};
    for (std::size_t cut : cuts) {
        CAPTURE(cut);
        write_bytes(bad, bytes.substr(0, cut));
        const std::string msg = message_of([&] { load_checkpoint(bad, target); });
        CHECK(msg.find(bad.string()) != std::string::npos);
        CHECK_THROWS_AS(load_checkpoint(bad, target), checkpoint_error);
        CHECK_THROWS_AS(load_network(bad, target.G_A, "G_A."), checkpoint_error);
        CHECK(snapshot(target) == before);
    }
    SUBCASE("damaged header") {
        std::string damaged = bytes;
        const auto at = damaged.find("\"shape\":[");
        REQUIRE(at != std::string::npos);
        damaged.replace(at + 9, 1, "-");  // a dimension that is not a number
        write_bytes(bad, damaged);
        const std::string msg = message_of([&] { load_checkpoint(bad, target); });
        CHECK(msg.find(bad.string()) != std::string::npos);
        CHECK(msg.find("bad integer") != std::string::npos);
        CHECK_THROWS_AS(load_checkpoint(bad, target), checkpoint_error);
        CHECK(snapshot(target) == before);
    }
    SUBCASE("damaged metadata value") {
        std::string damaged = bytes;
        const std::string key = "\"progress.epoch\":\"3\"";
        const auto at = damaged.find(key);
        REQUIRE(at != std::string::npos);
        damaged.replace(at + key.size() - 2, 1, "x");
        write_bytes(bad, damaged);
        const std::string msg = message_of([&] { load_checkpoint(bad, target); });
        CHECK(msg.find(bad.string()) != std::string::npos);
        CHECK(msg.find("progress.epoch") != std::string::npos);
        CHECK(snapshot(target) == before);
    }
    SUBCASE("missing file") {
        const std::string msg = message_of([&] { load_checkpoint(dir / "nowhere.safetensors", target); });
        CHECK(msg.find("nowhere.safetensors") != std::string::npos);
        CHECK(msg.find("nowhere.safetensors: no such file") != std::string::npos);
    }
}

TEST_CASE("a checkpoint of another architecture is refused with the differences listed") {
    cpu dev;
    TempDir dir;
    const auto path = dir / "other.safetensors";
    Model target(dev, g_instance, d_instance, small_pools);
    train(target, dev, 1);
    const Snapshot before = snapshot(target);

    SUBCASE("wider networks: shapes differ") {
        Model wide(dev, {.ngf = 8}, {.ndf = 8});
        save_checkpoint(path, wide, {});
        const std::string msg = message_of([&] { load_checkpoint(path, target); });
        INFO(msg);
        CHECK(msg.rfind(path.string() + ": written for another architecture than this model's (tensors: ", 0) == 0);
        CHECK(msg.find("G_A.model.1.weight: shape [8, 3, 7, 7] in the file, [4, 3, 7, 7] in the model") != std::string::npos);
        CHECK(msg.find("more") != std::string::npos);  // the list is cut after ten
        CHECK(std::count(msg.begin(), msg.end(), '\n') == 11);
        CHECK_THROWS_AS(load_checkpoint(path, target), checkpoint_error);
    }
    SUBCASE("more residual blocks: unexpected tensors") {
        CycleGAN<ResnetGenerator<cpu, 2>, PatchDiscriminator<cpu, 2>> deeper(dev, g_instance, d_instance);
        save_checkpoint(path, deeper, {});
        const std::string msg = message_of([&] { load_checkpoint(path, target); });
        INFO(msg);
        CHECK(msg.find("written for another architecture") != std::string::npos);
        CHECK(msg.find("unexpected: G_A.model.") != std::string::npos);
    }
    SUBCASE("fewer residual blocks: missing tensors") {
        CycleGAN<ResnetGenerator<cpu, 2>, PatchDiscriminator<cpu, 2>> deeper(dev, g_instance, d_instance);
        save_checkpoint(path, target, {});
        const auto deeper_before = snapshot(deeper);
        const std::string msg = message_of([&] { load_checkpoint(path, deeper); });
        INFO(msg);
        CHECK(msg.find("missing: G_A.model.") != std::string::npos);
        CHECK(snapshot(deeper) == deeper_before);
    }
    SUBCASE("another optimizer") {
        CycleGAN<ResnetGenerator<cpu, 1>, PatchDiscriminator<cpu, 2>, LSGAN, SGD> sgd(dev, g_instance, d_instance);
        save_checkpoint(path, sgd, {});
        const std::string msg = message_of([&] { load_checkpoint(path, target); });
        INFO(msg);
        CHECK(msg.find("does not fit this model (tensors: 8 missing, 4 unexpected)") != std::string::npos);
        CHECK(msg.find("missing: optimizer.D_A.exp_avg") != std::string::npos);
        CHECK(msg.find("unexpected: optimizer.D_A.momentum_buffer") != std::string::npos);
    }
    SUBCASE("not a checkpoint") {
        write_bytes(path, safetensors::serialize({{"x", {1}, {1.0f}}}));
        CHECK(message_of([&] { load_checkpoint(path, target); }) ==
              path.string() + ": not a cyclegan checkpoint (its metadata has no 'format' entry)");
        save_network(path, target.G_A, "G_A.");
        CHECK(message_of([&] { load_checkpoint(path, target); }).find("load it with load_network") != std::string::npos);
    }
    SUBCASE("a newer format") {
        write_bytes(path, safetensors::serialize({}, {{"format", "cyclegan.checkpoint"}, {"format_version", "2"}}));
        CHECK(message_of([&] { load_checkpoint(path, target); }).find("format 2 by a newer version") != std::string::npos);
    }
    SUBCASE("a pool larger than the model's") {
        Model bigger_pools(dev, g_instance, d_instance, {.pool_size = 5});
        train(bigger_pools, dev, 2);
        save_checkpoint(path, bigger_pools, {});
        CHECK(message_of([&] { load_checkpoint(path, target); }).find("pool fake_A holds 4 images in the file") != std::string::npos);
    }
    CHECK(snapshot(target) == before);
}

TEST_CASE("a failed save keeps the previous checkpoint and leaves no temporary file") {
    cpu dev;
    TempDir dir;
    const auto path = dir / "ck.safetensors";
    Model m(dev, g_instance, d_instance, small_pools);
    train(m, dev, 1);
    save_checkpoint(path, m, some_progress());
    const std::string previous = read_bytes(path);
    train(m, dev, 1);  // the next save would write other bytes

    SUBCASE("disk full (RLIMIT_FSIZE)") {
        struct rlimit old {};
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
        const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // write() then fails with EFBIG
        struct rlimit small = old;
        small.rlim_cur = previous.size() / 2;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
        const std::string msg = message_of([&] { save_checkpoint(path, m, some_progress()); });
        ::setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, old_handler);
        CHECK(msg == path.string() + ": write failed: " + std::strerror(EFBIG));
        CHECK(read_bytes(path) == previous);
        CHECK(folder_entries(dir.path) == std::vector<std::string>{"ck.safetensors"});
        save_checkpoint(path, m, some_progress());  // and with room again it works
        CHECK(read_bytes(path) != previous);
    }
    SUBCASE("missing folder") {
        const auto nowhere = dir / "missing" / "ck.safetensors";
        const std::string msg = message_of([&] { save_checkpoint(nowhere, m, {}); });
        CHECK(msg.rfind(nowhere.string() + ": cannot create a temporary file in", 0) == 0);
        CHECK(msg.find(std::strerror(ENOENT)) != std::string::npos);
        CHECK_THROWS_AS(save_checkpoint(nowhere, m, {}), io_error);
        CHECK(!fs::exists(dir / "missing"));
    }
    SUBCASE("the folder is a file") {
        const auto inside_file = path / "ck.safetensors";
        CHECK_THROWS_AS(save_checkpoint(inside_file, m, {}), io_error);
        CHECK(message_of([&] { save_checkpoint(inside_file, m, {}); }).find(std::strerror(ENOTDIR)) != std::string::npos);
        CHECK(read_bytes(path) == previous);
    }
    SUBCASE("the target is a folder: the rename fails after the write") {
        fs::create_directory(dir / "taken");
        const std::string msg = message_of([&] { save_checkpoint(dir / "taken", m, {}); });
        CHECK(msg.find("cannot rename the temporary file over it") != std::string::npos);
        CHECK(folder_entries(dir.path) == std::vector<std::string>{"ck.safetensors", "taken"});
        CHECK(fs::is_empty(dir / "taken"));
    }
    SUBCASE("unwritable folder") {
        fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec);
        if (::geteuid() == 0) {
            MESSAGE("running as root: permissions do not stop writes, so only a successful save is checked");
            save_checkpoint(path, m, {});
            CHECK(read_bytes(path) != previous);
        } else {
            const std::string msg = message_of([&] { save_checkpoint(path, m, {}); });
            CHECK(msg.find(std::strerror(EACCES)) != std::string::npos);
            CHECK(read_bytes(path) == previous);
        }
        fs::permissions(dir.path, fs::perms::owner_all);
        CHECK(folder_entries(dir.path) == std::vector<std::string>{"ck.safetensors"});
    }
}

TEST_CASE("load_network reads one network, and only its bytes") {
    cpu dev;
    TempDir dir;
    const auto path = dir / "ck.safetensors";
    Model m(dev, g_instance, d_instance, small_pools);
    train(m, dev, 2);
    save_checkpoint(path, m, {});

    Network<Gen> g(dev, Gen(g_instance), Gen(g_instance).prefix(), {.seed = 99});
    const auto values = [&](auto& net) {
        std::map<std::string, std::vector<float>> v;
        for (const auto& t : net.named_tensors()) v[t.spec.name] = t.value.to_host(dev);
        return v;
    };
    REQUIRE(values(g) != values(m.G_A));
    auto file = safetensors::LazyFile::open(path);
    const std::size_t header = file.bytes_read();
    load_network(file, g, "G_A.");
    CHECK(values(g) == values(m.G_A));
    CHECK(values(g) != values(m.G_B));
    // The header and G_A's tensors, nothing else: G_B, the discriminators, Adam and the pools stay on disk.
    CHECK(file.bytes_read() == header + m.G_A.parameters().numel() * 4);
    CHECK(file.bytes_read() < fs::file_size(path) / 4);

    SUBCASE("from a path, another generator") {
        load_network(path, g, "G_B.");
        CHECK(values(g) == values(m.G_B));
    }
    SUBCASE("save_network and PyTorch's own names") {
        const auto single = dir / "G_A.safetensors";
        save_network(single, m.G_B);
        Network<Gen> h(dev, Gen(g_instance), Gen(g_instance).prefix());
        load_network(single, h);
        CHECK(values(h) == values(m.G_B));
        CHECK(safetensors::LazyFile::open(single).contains("model.1.weight"));
    }
    SUBCASE("a wrong prefix names the prefixes the file has") {
        const auto before = values(g);
        const std::string msg = message_of([&] { load_network(path, g, "netG_A."); });
        CHECK(msg == path.string() + ": no tensor name begins with 'netG_A.'; the file's names begin with: D_A., D_B., G_A., "
                                     "G_B., optimizer., pool.");
        CHECK(values(g) == before);
    }
    SUBCASE("another architecture, and a wrong dtype") {
        Network<Gen> wide(dev, Gen({.ngf = 8}), "model");
        const auto before = values(wide);
        const std::string msg = message_of([&] { load_network(path, wide, "G_A."); });
        CHECK(msg.find("G_A.model.1.weight: shape [4, 3, 7, 7] in the file, [8, 3, 7, 7] in the model") != std::string::npos);
        CHECK(values(wide) == before);

        // PyTorch weights in double, with BatchNorm's num_batches_tracked (ignored: not kept here).
        std::vector<safetensors::TensorDecl> decls;
        std::string data;
        for (const auto& t : g.named_tensors()) {
            decls.push_back({t.spec.name, t.spec.name == "model.1.weight" ? "F64" : "F32",
                             std::vector<std::int64_t>(t.spec.dims.begin(), t.spec.dims.end())});
            data += std::string(decls.back().bytes(), '\0');
        }
        decls.push_back({"model.2.num_batches_tracked", "I64", {}});
        data += std::string(8, '\0');
        write_bytes(dir / "f64.safetensors", safetensors::serialize_header(decls) + data);
        const auto g_before = values(g);
        CHECK(message_of([&] { load_network(dir / "f64.safetensors", g); }) ==
              (dir / "f64.safetensors").string() + ": does not fit this model (tensors: 1 with another dtype)\n  model.1.weight: dtype F64 in the file, F32 expected");
        CHECK(values(g) == g_before);
    }
}

TEST_CASE("the file is safetensors that Python reads with json and struct") {
    cpu dev;
    TempDir dir;
    const auto path = dir / "py.safetensors";
    Model m(dev, g_batch, d_batch, small_pools);
    train(m, dev, 2);
    save_checkpoint(path, m, some_progress());

    // Our own reader: every tensor F32, contiguous, and the metadata as written.
    const auto file = safetensors::LazyFile::open(path);
    std::size_t end = 0;
    for (const auto& [name, info] : file.tensors()) {
        CHECK(info.dtype == "F32");
        end = std::max(end, info.end);
    }
    CHECK(end + 8 < fs::file_size(path));
    CHECK(file.metadata().at("format") == "cyclegan.checkpoint");
    CHECK(file.metadata().at("info.quoted") == "a \"b\" \\ c\nd\te");
    CHECK(file.metadata().at("architecture").find("G_A.model.1.weight [4, 3, 7, 7]\n") != std::string::npos);

    const char* python = "/usr/bin/python3";
    if (!fs::exists(python)) {
        MESSAGE("no /usr/bin/python3: Python's view of the file is not checked");
        return;
    }
    const auto out = dir / "py.txt";
    const std::string script =
        "import json, struct, sys\n"
        "b = open(sys.argv[1], 'rb').read()\n"
        "n = struct.unpack('<Q', b[:8])[0]\n"
        "h = json.loads(b[8:8 + n])\n"
        "meta = h.pop('__metadata__')\n"
        "spans = sorted(tuple(t['data_offsets']) for t in h.values())\n"
        "assert spans[0][0] == 0 and all(a[1] == b_[0] for a, b_ in zip(spans, spans[1:]))\n"
        "assert 8 + n + spans[-1][1] == len(b)\n"
        "t = h['G_A.model.2.running_var']\n"
        "o = 8 + n + t['data_offsets'][0]\n"
        "v = struct.unpack('<f', b[o:o + 4])[0]\n"
        "print(t['dtype'], t['shape'], repr(v), meta['info.unicode'] == 'z\\u00e9bra', meta['progress.epoch'], len(h))\n";
    write_bytes(dir / "check.py", script);
    const std::string cmd = std::string(python) + " " + (dir / "check.py").string() + " " + path.string() + " > " + out.string();
    REQUIRE(std::system(cmd.c_str()) == 0);
    const float first = m.G_A.find("model.2.running_var").value.to_host(dev)[0];
    const std::string got = read_bytes(out);
    INFO(got);
    CHECK(got.rfind("F32 [4] ", 0) == 0);
    CHECK(std::stod(got.substr(8)) == static_cast<double>(first));
    CHECK(got.find(" True 3 " + std::to_string(file.tensors().size()) + "\n") != std::string::npos);
}

// ---- text from files: printable() (core/text.hpp) ---------------------------------------------

TEST_CASE("printable: control characters and direction marks escaped, UTF-8 kept, long text cut in the middle") {
    using test::has_raw_control;
    CHECK(printable("checkpoints/z\xc3\xa9" "bra \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80/x#1 'q'.png") ==
          "checkpoints/z\xc3\xa9" "bra \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80/x#1 'q'.png");
    CHECK(printable("resnet_\x1b[2J\x1b]0;OWNED\x07" "evil") == "resnet_\\x1b[2J\\x1b]0;OWNED\\x07evil");
    CHECK(printable(std::string("a\0b\n\t\r\x7f", 7)) == "a\\x00b\\x0a\\x09\\x0d\\x7f");
    CHECK(printable("\xc2\x9b" "31m \xc2\x85 \xc2\xa0") == "\\u009b31m \\u0085 \xc2\xa0");  // C1 escaped; NBSP is a character
    CHECK(printable("abc\xe2\x80\xae" "gnp.exe \xe2\x81\xa6 \xe2\x80\xa8 \xe2\x80\x8f") == "abc\\u202egnp.exe \\u2066 \\u2028 \\u200f");
    CHECK(printable("\xff\xfe x") == "\\xff\\xfe x");
    CHECK(printable("\xc0\x80") == "\\xc0\\x80");          // overlong NUL
    CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
    CHECK(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
    CHECK(printable("caf\xc3") == "caf\\xc3");             // a character cut off
    CHECK(printable("\x80" "a") == "\\x80a");              // a stray continuation byte
    CHECK(printable(test::evil) == test::evil_shown);
    // Backslashes stay: text made printable once passes through another layer unchanged.
    CHECK(printable("C:\\data\\x1b") == "C:\\data\\x1b");
    CHECK(printable(printable(test::evil)) == printable(test::evil));

    // Long text keeps its first and last max_length / 2 characters: a path keeps its file name.
    const std::string path = "/data/" + std::string(1000, 'd') + "/last_name.png";
    const std::string shown = printable(path);
    CHECK(shown.rfind("/data/ddd", 0) == 0);
    CHECK(shown.ends_with("dd/last_name.png"));
    CHECK(shown.find("[... " + std::to_string(path.size() - printable_max_length) + " characters cut ...]") != std::string::npos);
    CHECK(shown.size() == printable_max_length + std::string("[... 764 characters cut ...]").size());
    CHECK(printable(std::string(printable_max_length, 'x')) == std::string(printable_max_length, 'x'));  // at the cap: whole
    CHECK(printable("abcdefgh", 4) == "ab[... 4 characters cut ...]gh");
    // Escapes count as one character each and are never split; nor are UTF-8 characters.
    const std::string escapes = printable(std::string(300, '\x1b'));
    CHECK_FALSE(has_raw_control(escapes));
    CHECK(escapes.find("[... 44 characters cut ...]") != std::string::npos);
    CHECK(escapes.rfind("\\x1b", 0) == 0);
    CHECK(escapes.ends_with("\\x1b"));
    std::string accents;
    for (int i = 0; i < 301; ++i) accents += "\xc3\xa9";
    const std::string cut = printable(accents);
    CHECK_FALSE(has_raw_control(cut));
    CHECK(cut.find("[... 45 characters cut ...]") != std::string::npos);
    // The oracle itself: it sees what printable() removes.
    CHECK(has_raw_control(test::evil));
    CHECK(has_raw_control("\xe2\x80\xae"));
    CHECK_FALSE(has_raw_control(test::evil_shown));
}

TEST_CASE("printable_error: a filesystem_error's paths made printable") {
    const std::string bad = "out/" + std::string(test::evil);
    const fs::filesystem_error e("cannot create directories", fs::path(bad), std::make_error_code(std::errc::permission_denied));
    REQUIRE(test::has_raw_control(e.what()));  // the standard library's message holds the path raw
    const std::string shown = printable_error(e);
    CHECK_FALSE(test::has_raw_control(shown));
    CHECK(shown.find("out/" + std::string(test::evil_shown)) != std::string::npos);
    CHECK(shown.find("cannot create directories") != std::string::npos);
    CHECK(printable_error(std::runtime_error("plain")) == "plain");
}

namespace {

// A safetensors file written byte by byte: its JSON header as given, then `data_bytes` zero bytes.
void write_raw_safetensors(const fs::path& path, const std::string& header, std::size_t data_bytes) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
    write_bytes(path, out + header + std::string(data_bytes, '\0'));
}

// The message of what `f` throws: it must throw, name `expected` (as printable() shows it), and
// hold no raw control character but the line breaks of the library's own lists.
void check_message(const std::function<void()>& f, const std::string& expected) {
    std::string what = message_of(f);
    INFO(printable(what, 4000));
    CHECK_FALSE(what.empty());
    what.erase(std::remove(what.begin(), what.end(), '\n'), what.end());
    CHECK_FALSE(test::has_raw_control(what));
    CHECK(what.find(expected) != std::string::npos);
}

}  // namespace

TEST_CASE("text from a file reaches no message raw: metadata, tensor names, file names") {
    cpu dev;
    TempDir dir;
    const std::string evil(test::evil), shown(test::evil_shown);
    const safetensors::Entry weight{"model.1.weight", {1}, {0.5f}};

    SUBCASE("the recorded architecture (info.netG and the others)") {
        std::map<std::string, std::string> meta = {{"format", "cyclegan.network"}, {"format_version", "1"},
            {"info.netG", "resnet_" + evil}, {"info.ngf", "4"}, {"info.input_nc", "3"}, {"info.output_nc", "3"},
            {"info.norm", "instance"}, {"info.padding", "reflect"}, {"info.upsample", "transposed"}, {"info.dropout", "0"}};
        const auto path = dir / "netG.safetensors";
        write_bytes(path, safetensors::serialize({weight}, meta));
        check_message([&] { Translator<cpu>::load(dev, path); }, "the generator 'resnet_" + shown + "' is not one this library knows");
        meta["info.netG"] = "resnet_6blocks";
        meta["info.ngf"] = evil;
        write_bytes(path, safetensors::serialize({weight}, meta));
        check_message([&] { Translator<cpu>::load(dev, path); }, "the recorded 'ngf' is '" + shown + "', not a number");
        meta["info.ngf"] = "4";
        meta["info.norm"] = evil;
        write_bytes(path, safetensors::serialize({weight}, meta));
        check_message([&] { Translator<cpu>::load(dev, path); }, "unknown norm '" + shown + "'");
        // Metadata the checkpoint reader checks.
        meta["format"] = evil;
        write_bytes(path, safetensors::serialize({weight}, meta));
        Network<Gen> g(dev, Gen(g_instance), Gen(g_instance).prefix());
        check_message([&] { load_network(path, g); }, "unknown format '" + shown + "'");
        meta["format"] = "cyclegan.network";
        meta["format_version"] = "-" + evil;
        write_bytes(path, safetensors::serialize({weight}, meta));
        check_message([&] { load_network(path, g); }, "format_version");
    }
    SUBCASE("tensor names and dtypes in the header") {
        const auto path = dir / "names.safetensors";
        const std::string json_evil = "\\u001b[2J\\u001b]0;OWNED\\u0007evil\xc2\x9b" "31m\xe2\x80\xae" "gnp\xff";  // evil, as JSON
        write_raw_safetensors(path, "{\"G_A." + json_evil + "\":{\"dtype\":\"Q" + json_evil + "\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        check_message([&] { safetensors::LazyFile::open(path); }, "tensor 'G_A." + shown + "' has unknown dtype Q" + shown);
        write_raw_safetensors(path, "{\"" + json_evil + "\":{\"dtype\":\"F32\",\"shape\":[1],\"" + json_evil + "\":[0,4]}}", 4);
        check_message([&] { safetensors::LazyFile::open(path); }, "has unknown field '" + shown + "'");
        write_raw_safetensors(path, "{\"" + json_evil + "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"" +
                                        json_evil + "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
        check_message([&] { safetensors::LazyFile::open(path); }, "tensor '" + shown + "' appears twice");

        // A checkpoint with one tensor more than the model's: listed by name.
        Model m(dev, g_instance, d_instance, small_pools);
        const auto ck = dir / "extra.safetensors";
        save_checkpoint(ck, m, {});
        const auto file = safetensors::LazyFile::open(ck);
        std::vector<safetensors::Entry> entries;
        for (const auto& [name, info] : file.tensors()) {
            const auto v = file.values<float>(name);
            entries.push_back({name, info.shape, v});
        }
        entries.push_back({"G_A." + evil, {1}, {1.0f}});
        write_bytes(ck, safetensors::serialize(entries, file.metadata()));
        check_message([&] { load_checkpoint(ck, m); }, "unexpected: G_A." + shown + " [1]");
        Network<Gen> g(dev, Gen(g_instance), Gen(g_instance).prefix());
        check_message([&] { load_network(ck, g, "G_A."); }, "unexpected: G_A." + shown + " [1]");
        check_message([&] { load_network(ck, g, evil); }, "no tensor name begins with '" + shown + "'");

        // Names that are no generator's, in a file without a record; and the hint of the prefixes.
        const auto plain = dir / "plain.safetensors";
        write_bytes(plain, safetensors::serialize({{evil + ".weight", {1}, {0.5f}}}));
        check_message([&] { Translator<cpu>::load(dev, plain); }, "the 1 tensors of its generator (" + shown + ".weight, ...) are not those");
        check_message([&] { load_network(plain, g); }, "whose names begin with: " + shown);
        // A very long name is cut, not printed whole.
        const std::string long_name = std::string(5000, 'n') + evil;
        write_bytes(plain, safetensors::serialize({{long_name, {1}, {0.5f}}}));
        const std::string what = message_of([&] { Translator<cpu>::load(dev, plain); });
        CHECK_FALSE(test::has_raw_control(what));
        CHECK(what.find("characters cut") != std::string::npos);
        CHECK(what.size() < 1500);
    }
    SUBCASE("file names") {
        const fs::path missing = dir / ("ckpt_" + evil + ".safetensors");
        const std::string missing_shown = printable(missing.string());
        Model m(dev, g_instance, d_instance, small_pools);
        check_message([&] { safetensors::LazyFile::open(missing); }, missing_shown + ": no such file");
        check_message([&] { Translator<cpu>::load(dev, missing); }, missing_shown + ": no such file");
        check_message([&] { load_checkpoint(missing, m); }, missing_shown + ": no such file");
        write_bytes(missing, "tiny");  // now present, and too short
        check_message([&] { load_checkpoint(missing, m); }, missing_shown + ": too short");
        save_checkpoint(missing, m, {});  // a good one under that name, then a model it does not fit
        Model other(dev, GeneratorOptions{.ngf = 8}, d_instance, small_pools);
        check_message([&] { load_checkpoint(missing, other); }, missing_shown + ": written for another architecture");
        check_message([&] { save_checkpoint(dir / ("no_folder_" + evil) / "x.safetensors", m, {}); },
                      printable((dir / ("no_folder_" + evil) / "x.safetensors").string()) + ": cannot create a temporary file in " +
                          printable((dir / ("no_folder_" + evil)).string()));
    }
}
