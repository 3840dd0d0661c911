#pragma once
// The training loop of cyclegan-train for any backend: train.cpp runs it on the CPU, train_cuda.cu
// (compiled by nvcc) on the GPU.
#include <cyclegan/data/folder_dataset.hpp>
#include <cyclegan/data/loader.hpp>
#include <cyclegan/io/checkpoint.hpp>
#include <cyclegan/io/image.hpp>
#include <cyclegan/report/html_report.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <unistd.h>

#include "program_options.hpp"

namespace train_program {

namespace fs = std::filesystem;
using namespace cyclegan;

// Set by SIGINT/SIGTERM, read by the loop of whichever translation unit runs it.
inline std::atomic<bool> interrupted{false};
extern "C" inline void on_interrupt(int) { interrupted = true; }

struct TrainOptions {
    std::string dataroot, name = "experiment", checkpoints_dir = "./checkpoints";
    ModelChoice model;
    std::string gan_mode = "lsgan";
    double lambda_A = 10, lambda_B = 10, lambda_identity = 0.5;
    int pool_size = 50;
    double lr = 2e-4, beta1 = 0.5;
    std::string lr_policy = "linear";
    int n_epochs = 100, n_epochs_decay = 100, lr_decay_iters = 50;
    PreprocessOptions preprocess;
    bool no_flip = false, serial_batches = false;
    std::size_t max_dataset_size = SIZE_MAX;
    int batch_size = 1;
    bool continue_train = false;
    std::string epoch = "latest";
    int save_epoch_freq = 5;
    std::uint64_t seed = 0;
    int threads = 0;
    std::string cpu_kernels = "auto", device = "cpu";
    bool quiet = false;
};

inline std::string clock_text(double seconds) {
    const long s = static_cast<long>(seconds);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    return buf;
}

// One line redrawn in place on a terminal: where the run is, how fast, how long to go.
class Progress {
public:
    explicit Progress(bool enabled) : tty_(enabled && isatty(fileno(stderr))) {}
    void update(int epoch, int epochs, long index, long per_epoch, double rate, double eta, const CycleGANLosses& l) {
        if (!tty_) return;
        const int width = 24, done = per_epoch ? static_cast<int>(width * index / per_epoch) : 0;
        std::fprintf(stderr, "\repoch %d/%d [%s%s] %ld/%ld  %.2f it/s  ETA %s  G_A %.3f D_A %.3f cycle_A %.3f ", epoch, epochs,
                     std::string(done, '#').c_str(), std::string(width - done, '.').c_str(), index, per_epoch, rate,
                     clock_text(eta).c_str(), l.G_A, l.D_A, l.cycle_A);
        std::fflush(stderr);
    }
    void end_line() {
        if (tty_) std::fprintf(stderr, "\n");
    }

private:
    bool tty_;
};

template <class B, class GanLossType>
int train(B& dev, const TrainOptions& o) {
    using Model = CycleGAN<AnyGenerator<B>, AnyDiscriminator<B>, GanLossType>;
    // Sizes the networks cannot take are refused before anything is written.
    PreprocessOptions pre = o.preprocess;
    pre.flip = !o.no_flip;
    pre.sizes = AnyGenerator<B>::size_rule_of(o.model.netG) & AnyDiscriminator<B>::size_rule_of(o.model.discriminator());
    check_sizes(pre, "--netG " + o.model.netG + " with --netD " +
                         (o.model.netD == "n_layers" ? "n_layers --n-layers-D " + std::to_string(o.model.n_layers_D) : o.model.netD));
    const fs::path run_dir = fs::path(o.checkpoints_dir) / o.name, web = run_dir / "web", images = web / "images";
    fs::create_directories(images);
    // Our own temporaries that a killed run left (a checkpoint's size each), never others' files.
    std::size_t stale = 0;
    for (const auto& folder : {run_dir, web, images}) stale += remove_stale_temporary_files(folder);
    if (stale) std::printf("removed %zu temporary files left by an interrupted run in %s\n", stale, run_dir.c_str());

    Model model(dev, o.model.generator(), o.model.discriminator(),
                {.lambda_A = o.lambda_A, .lambda_B = o.lambda_B, .lambda_identity = o.lambda_identity,
                 .pool_size = o.pool_size, .init = o.model.init(o.seed), .seed = o.seed},
                {.lr = o.lr, .beta1 = o.beta1});
    LrSchedule schedule(o.lr, {.policy = parse_lr_policy(o.lr_policy), .n_epochs = o.n_epochs,
                               .n_epochs_decay = o.n_epochs_decay, .lr_decay_iters = o.lr_decay_iters});
    const auto loss_log = run_dir / "loss_log.csv";

    TrainingProgress progress;
    if (o.continue_train) {
        const fs::path from = run_dir / (o.epoch + ".safetensors");
        progress = load_checkpoint(from, model);
        check_same_model(progress.info, o.model, from);
        schedule.restore(progress.schedule);
        model.set_lr(schedule.lr());
        report::truncate_loss_log(loss_log, progress.iteration);
        std::printf("resuming from %s: epoch %d, iteration %ld\n", from.c_str(), progress.epoch, progress.iteration);
    } else if (fs::exists(loss_log)) {
        fs::remove(loss_log);  // a fresh run starts a fresh log
    }
    progress.info = o.model.describe();
    progress.info["gan_mode"] = o.gan_mode;

    std::vector<std::string> warnings;
    UnalignedDataset dataset(o.dataroot, {.phase = "train", .serial_batches = o.serial_batches, .max_dataset_size = o.max_dataset_size},
                             &warnings);
    for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    dataset.validate(&pre);  // every file's header now, not a decoding error hours in
    std::printf("dataset: %zu images in A, %zu in B; %zu per epoch; %s, %zu parameters per generator\n", dataset.A.size(),
                dataset.B.size(), dataset.size(), o.model.netG.c_str(), model.G_A.parameter_count());

    const int epochs = o.n_epochs + o.n_epochs_decay;
    Loader<B> loader(dev, dataset, pre, o.model.input_nc, o.model.output_nc, o.batch_size, o.seed, progress.epoch,
                       progress.epoch_index);
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
#ifdef SIGXFSZ
    std::signal(SIGXFSZ, SIG_IGN);  // a file-size limit makes writes fail with EFBIG, reported, not a kill
#endif

    auto save = [&](const fs::path& path) {
        progress.schedule = schedule.save();
        save_checkpoint(path, model, progress);
    };
    auto last_good = [&] {
        const auto latest = run_dir / "latest.safetensors";
        return fs::exists(latest) ? latest.string() : std::string("(none saved yet)");
    };
    std::vector<report::EpochImages> grids;
    for (int e = 1; e < progress.epoch; ++e)
        if (fs::exists(images / ("epoch" + std::to_string(e) + ".png")))
            grids.push_back({e, "images/epoch" + std::to_string(e) + ".png"});

    Progress bar(!o.quiet);
    const auto start = std::chrono::steady_clock::now();
    double seconds_before = 0;  // a resumed run's clock continues from the log
    if (progress.iteration > 0)
        if (const auto rows = report::read_loss_log(loss_log); !rows.empty()) seconds_before = rows.back().seconds;
    long steps_this_run = 0;
    for (int epoch = progress.epoch; epoch <= epochs; ++epoch) {
        while (auto batch = loader.next()) {
            const CycleGANLosses losses = model.train_step(batch->A, batch->B);
            ++steps_this_run;
            progress.iteration += batch->A.shape().n;
            progress.epoch_index = batch->index + 1;
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            report::append_loss_log(loss_log, {epoch, progress.iteration, losses.values(), model.lr(), seconds_before + elapsed});
            for (std::size_t k = 0; k < 8; ++k)
                if (!std::isfinite(losses.values()[k])) {
                    bar.end_line();
                    std::fprintf(stderr,
                                 "error: loss %s is %g at iteration %ld (epoch %d); training stopped. "
                                 "The last good checkpoint is %s\n",
                                 CycleGANLosses::names[k], losses.values()[k], progress.iteration, epoch, last_good().c_str());
                    return 3;
                }
            const double rate = steps_this_run / std::max(elapsed, 1e-9);
            const long per_epoch = static_cast<long>((dataset.size() + o.batch_size - 1) / o.batch_size);
            const double remaining = double(epochs - epoch) * per_epoch + double(per_epoch - progress.epoch_index / o.batch_size);
            bar.update(epoch, epochs, progress.epoch_index / o.batch_size, per_epoch, rate, remaining / std::max(rate, 1e-9), losses);
            if (interrupted) {
                bar.end_line();
                progress.epoch = epoch;
                save(run_dir / "latest.safetensors");
                std::printf("interrupted: saved %s at iteration %ld; resume with --continue-train\n",
                            (run_dir / "latest.safetensors").c_str(), progress.iteration);
                return 130;
            }
        }
        bar.end_line();
        // The epoch's visuals: top row A -> B -> A and G_B(A); bottom row B -> A -> B and G_A(B).
        const auto& v = model.visuals();
        auto first_image = [&](const Tensor<B>& t) {
            if (t.empty()) return Image();
            const auto host = t.images(0).to_host(dev);
            return from_chw(host, t.shape().c, t.shape().h, t.shape().w);
        };
        std::vector<Image> top{first_image(v.real_A), first_image(v.fake_B), first_image(v.rec_A)};
        std::vector<Image> bottom{first_image(v.real_B), first_image(v.fake_A), first_image(v.rec_B)};
        if (!v.idt_B.empty()) top.push_back(first_image(v.idt_B)), bottom.push_back(first_image(v.idt_A));
        const std::string grid = "images/epoch" + std::to_string(epoch) + ".png";
        write_image(web / grid, report::make_grid({top, bottom}));
        grids.push_back({epoch, grid});

        schedule.step();
        model.set_lr(schedule.lr());
        progress.epoch = epoch + 1;
        progress.epoch_index = 0;
        save(run_dir / "latest.safetensors");
        if (o.save_epoch_freq > 0 && epoch % o.save_epoch_freq == 0) save(run_dir / (std::to_string(epoch) + ".safetensors"));
        const auto log_rows = report::read_loss_log(loss_log);
        report::write_training_report(web, o.name, log_rows, grids, progress.info);
        const auto& last = log_rows.back();
        std::printf("epoch %d/%d done: iteration %ld, lr %.3g, G_A %.3f D_A %.3f cycle_A %.3f G_B %.3f D_B %.3f cycle_B %.3f\n",
                    epoch, epochs, progress.iteration, model.lr(), last.losses[1], last.losses[0], last.losses[2], last.losses[5],
                    last.losses[4], last.losses[6]);
        std::fflush(stdout);
    }
    std::printf("done: checkpoint %s\nreport: %s\n", (run_dir / "latest.safetensors").c_str(), (web / "index.html").c_str());
    return 0;
}

// The adversarial loss is a template parameter of the model: one instantiation per --gan-mode.
template <class B>
int train_with(B& dev, const TrainOptions& o) {
    if (o.gan_mode == "vanilla") return train<B, VanillaGAN>(dev, o);
    if (o.gan_mode == "hinge") return train<B, HingeGAN>(dev, o);
    return train<B, LSGAN>(dev, o);
}

// Defined in train_cuda.cu, which nvcc compiles, in builds with the GPU backend.
int train_on_cuda(const TrainOptions& o);

}  // namespace train_program
