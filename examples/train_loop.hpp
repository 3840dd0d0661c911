#pragma once
// The training loop of cyclegan-train for any backend: train.cpp runs it on the CPU, train_cuda.cu
// (compiled by nvcc) on the GPU.
#include <cyclegan/data/folder_dataset.hpp>
#include <cyclegan/data/loader.hpp>
#include <cyclegan/io/checkpoint.hpp>
#include <cyclegan/io/image.hpp>
#include <cyclegan/report/html_report.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string_view>
#include <thread>
#include <unistd.h>

#include "program_options.hpp"

#if CYCLEGAN_PROGRAMS_HAVE_MPI
#include <cyclegan/distributed/mpi.hpp>
#endif

namespace train_program {

namespace fs = std::filesystem;
using namespace cyclegan;

// Set by SIGINT/SIGTERM/SIGUSR1, read by the loop of whichever translation unit runs it.
inline std::atomic<bool> interrupted{false};
extern "C" inline void on_interrupt(int) { interrupted = true; }

// A rank told to stop (SIGINT/SIGTERM: mpirun passes Ctrl-C on as SIGTERM, and sends it to the
// ranks left when one has failed) finishes its step, agrees with the others and saves. One whose
// steps stop coming after that waits for ranks that are gone (in an all-reduce that never ends):
// this watchdog ends it, so that the job ends within seconds and not when the launcher's patience
// does. Patience: 10 s, or 3 times the slowest step seen, whichever is longer. It does not count
// while a checkpoint is written (Paused), which takes as long as the disk needs.
class StopWatchdog {
public:
    StopWatchdog(int rank, int ranks) : rank_(rank), ranks_(ranks) {
        if (ranks > 1) thread_ = std::thread([this] { watch(); });
    }
    ~StopWatchdog() {
        done_ = true;
        if (thread_.joinable()) thread_.join();
    }
    // After each step: the rank is still moving.
    void beat() {
        const double t = now(), step = t - last_.load();
        if (step > slowest_.load()) slowest_ = step;
        last_ = t;
    }
    // While one lives, the watchdog waits (a save, the end of an epoch's files).
    struct Paused {
        StopWatchdog& w;
        explicit Paused(StopWatchdog& dog) : w(dog) { w.paused_ = true; }
        ~Paused() {
            w.last_ = now();
            w.paused_ = false;
        }
    };

private:
    static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
    void watch() {
        while (!done_) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            if (!interrupted || paused_) continue;
            const double patience = std::max(10.0, 3 * slowest_.load());
            if (now() - last_.load() > patience) {
                std::fprintf(stderr, "\nerror: rank %d of %d: stopped, and the other ranks did not finish the step with it "
                                     "within %.0f s (one of them has ended); exiting\n", rank_, ranks_, patience);
                std::fflush(stderr);
                std::_Exit(1);
            }
        }
    }
    int rank_, ranks_;
    std::atomic<bool> done_{false}, paused_{false};
    std::atomic<double> last_{now()}, slowest_{0.0};
    std::thread thread_;
};

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

// What a rank's dataset is, in a line: its sizes and a hash of its file names.
inline std::string dataset_fingerprint(const UnalignedDataset& d) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the names, in order
    for (const auto* side : {&d.A, &d.B})
        for (const auto& p : *side)
            for (const char c : p.filename().string() + "/") h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return std::to_string(d.A.size()) + " images in A, " + std::to_string(d.B.size()) + " in B (names " + hex + ")";
}

// Throws on every rank unless `what` is the same on all of them, naming a rank that differs.
template <class Comm>
void check_same_on_every_rank(Comm& comm, const std::string& what) {
    if (comm.size() == 1) return;
    const auto all = comm.gather_bytes(what, 0);
    int differs = 0;  // the first rank that differs from rank 0, at rank 0
    for (std::size_t r = 1; r < all.size() && !differs; ++r)
        if (all[r] != all[0]) differs = static_cast<int>(r);
    comm.broadcast_bytes(&differs, sizeof differs, 0);
    if (differs && comm.rank() != 0) throw std::runtime_error("the ranks do not see the same data (rank 0 says how)");
    if (differs)
        throw std::runtime_error("the ranks do not see the same data: rank 0 has " + all[0] + ", rank " +
                                 std::to_string(differs) + " has " + all[differs] +
                                 " (every rank must read the same --dataroot, with the same options)");
}

// Each rank's pools saved beside rank 0's under "rank<r>.": all ranks call it (the pools are
// gathered at rank 0); rank 0 gets them, the others an empty list.
template <class B, class Model, class Comm>
std::vector<std::unique_ptr<ImagePool<B>>> gather_pools(B& dev, Model& model, Comm& comm) {
    std::vector<std::unique_ptr<ImagePool<B>>> out;
    if (comm.size() == 1) return out;
    for (auto* pool : {&model.fake_A_pool, &model.fake_B_pool}) {
        const auto all = comm.gather_bytes(pool->to_bytes(dev), 0);
        for (std::size_t r = 1; r < all.size(); ++r) {
            out.push_back(std::make_unique<ImagePool<B>>(pool->capacity()));
            out.back()->from_bytes(dev, all[r]);
        }
    }
    return out;
}

// One run of cyclegan-train on this rank of `comm` (SingleProcess, or MPI's ranks): each rank
// trains on its share of every batch; rank 0 alone prints, logs and saves.
template <class B, class GanLossType, class Comm>
int train(B& dev, const TrainOptions& o, Comm& comm) {
    using Model = CycleGAN<AnyGenerator<B>, AnyDiscriminator<B>, GanLossType>;
    const int rank = comm.rank(), ranks = comm.size();
    const bool lead = rank == 0;  // prints, writes the log, the report and the checkpoints
    // Sizes the networks cannot take are refused before anything is written.
    PreprocessOptions pre = o.preprocess;
    pre.flip = !o.no_flip;
    pre.sizes = AnyGenerator<B>::size_rule_of(o.model.netG) & AnyDiscriminator<B>::size_rule_of(o.model.discriminator());
    check_sizes(pre, "--netG " + o.model.netG + " with --netD " +
                         (o.model.netD == "n_layers" ? "n_layers --n-layers-D " + std::to_string(o.model.n_layers_D) : o.model.netD));
    const fs::path run_dir = fs::path(o.checkpoints_dir) / o.name, web = run_dir / "web", images = web / "images";
    if (lead) {
        fs::create_directories(images);
        // Our own temporaries that a killed run left (a checkpoint's size each), never others' files.
        std::size_t stale = 0;
        for (const auto& folder : {run_dir, web, images}) stale += remove_stale_temporary_files(folder);
        if (stale) std::printf("removed %zu temporary files left by an interrupted run in %s\n", stale, run_dir.c_str());
    }

    // Each rank's pools draw from their own seed (rank 0's is the single process's); the weights
    // are rank 0's.
    const std::uint64_t pool_seed = o.seed ^ (static_cast<std::uint64_t>(rank) * 0x9E3779B97F4A7C15ull);
    Model model(dev, o.model.generator(), o.model.discriminator(),
                {.lambda_A = o.lambda_A, .lambda_B = o.lambda_B, .lambda_identity = o.lambda_identity,
                 .pool_size = o.pool_size, .init = o.model.init(o.seed), .seed = pool_seed},
                {.lr = o.lr, .beta1 = o.beta1});
    LrSchedule schedule(o.lr, {.policy = parse_lr_policy(o.lr_policy), .n_epochs = o.n_epochs,
                               .n_epochs_decay = o.n_epochs_decay, .lr_decay_iters = o.lr_decay_iters});
    const auto loss_log = run_dir / "loss_log.csv";

    TrainingProgress progress;
    if (o.continue_train) {
        // Every rank reads the checkpoint (a shared folder, or a copy at the same path), each its
        // own pools; a rank the saved run did not have starts with empty ones.
        const fs::path from = run_dir / (o.epoch + ".safetensors");
        const std::string own_pools = "rank" + std::to_string(rank) + ".";
        const bool saved_here = rank == 0 || safetensors::LazyFile::open(from).metadata().count("pool." + own_pools + "fake_A.count");
        progress = load_checkpoint(from, model, rank == 0 ? "" : saved_here ? own_pools : "");
        if (!saved_here) {
            model.fake_A_pool = ImagePool<B>(o.pool_size, pool_seed * 2 + 1);
            model.fake_B_pool = ImagePool<B>(o.pool_size, pool_seed * 2 + 2);
        }
        check_same_model(progress.info, o.model, from);
        schedule.restore(progress.schedule);
        model.set_lr(schedule.lr());
        if (lead) {
            report::truncate_loss_log(loss_log, progress.iteration);
            std::printf("resuming from %s: epoch %d, iteration %ld\n", from.c_str(), progress.epoch, progress.iteration);
            const auto saved_ranks = progress.info.find("ranks");
            const int before = saved_ranks == progress.info.end() ? 1 : std::atoi(saved_ranks->second.c_str());
            if (before != ranks)
                std::printf("note: saved by %d process%s, resumed by %d: the weights and optimizer state continue, but a "
                            "step now takes %d x --batch-size images, so the data order (and the steps) change\n",
                            before, before == 1 ? "" : "es", ranks, ranks);
        }
    } else {
        if (lead && fs::exists(loss_log)) fs::remove(loss_log);  // a fresh run starts a fresh log
        model.broadcast_weights(comm);
    }
    progress.info = o.model.describe();
    progress.info["gan_mode"] = o.gan_mode;
    progress.info["ranks"] = std::to_string(ranks);

    std::vector<std::string> warnings;
    UnalignedDataset dataset(o.dataroot, {.phase = "train", .serial_batches = o.serial_batches, .max_dataset_size = o.max_dataset_size},
                             &warnings);
    if (lead)
        for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    dataset.validate(&pre);  // every file's header now, not a decoding error hours in
    // Ranks that see different datasets (per-machine copies that differ) would take different
    // numbers of steps and wait for each other forever: refused at the start, on every rank.
    check_same_on_every_rank(comm, dataset_fingerprint(dataset) + "; --batch-size " + std::to_string(o.batch_size) +
                                       ", --seed " + std::to_string(o.seed) + ", epochs " + std::to_string(o.n_epochs) +
                                       "+" + std::to_string(o.n_epochs_decay));
    if (lead) {
        std::printf("dataset: %zu images in A, %zu in B; %zu per epoch; %s, %zu parameters per generator\n", dataset.A.size(),
                    dataset.B.size(), dataset.size(), o.model.netG.c_str(), model.G_A.parameter_count());
        if (ranks > 1)
            std::printf("distributed: %d processes, %d images each per step (%d per step in all)\n", ranks, o.batch_size,
                        ranks * o.batch_size);
    }

    const int epochs = o.n_epochs + o.n_epochs_decay;
    Loader<B> loader(dev, dataset, pre, o.model.input_nc, o.model.output_nc, o.batch_size, o.seed, progress.epoch,
                     progress.epoch_index, 3, Shard{rank, ranks});
    // SIGUSR1 too: mpirun passes it on to every rank at once (SIGINT and SIGTERM it turns into a
    // SIGTERM followed a second later by SIGKILL).
    for (const int sig : {SIGINT, SIGTERM, SIGUSR1}) std::signal(sig, on_interrupt);
#ifdef SIGXFSZ
    std::signal(SIGXFSZ, SIG_IGN);  // a file-size limit makes writes fail with EFBIG, reported, not a kill
#endif

    // Every rank calls it (its pools go to rank 0, which writes).
    auto save = [&](const fs::path& path) {
        const auto others = gather_pools(dev, model, comm);
        if (!lead) return;
        std::vector<NamedPool<B>> more;
        const std::size_t per_pool = others.size() / 2;
        for (std::size_t k = 0; k < others.size(); ++k)
            more.push_back({"rank" + std::to_string(k % per_pool + 1) + (k < per_pool ? ".fake_A" : ".fake_B"), others[k].get()});
        progress.schedule = schedule.save();
        save_checkpoint(path, model, progress, more);
    };
    // Whether any rank was interrupted: all ranks stop after the same step.
    auto any_interrupted = [&] {
        if (ranks == 1) return interrupted.load();
        auto flag = Tensor<B>::full(dev, Shape{1, 1, 1, 1}, interrupted ? 1 : 0);
        Tensor<B>* bucket[] = {&flag};
        comm.all_reduce_weighted(dev, std::span<Tensor<B>* const>(bucket), 1.0);
        return flag.to_host(dev)[0] > 0;
    };
    auto last_good = [&] {
        const auto latest = run_dir / "latest.safetensors";
        return fs::exists(latest) ? latest.string() : std::string("(none saved yet)");
    };
    std::vector<report::EpochImages> grids;
    for (int e = 1; e < progress.epoch; ++e)
        if (fs::exists(images / ("epoch" + std::to_string(e) + ".png")))
            grids.push_back({e, "images/epoch" + std::to_string(e) + ".png"});

    Progress bar(!o.quiet && lead);
    StopWatchdog watchdog(rank, ranks);
    const auto start = std::chrono::steady_clock::now();
    double seconds_before = 0;  // a resumed run's clock continues from the log
    if (progress.iteration > 0 && lead)
        if (const auto rows = report::read_loss_log(loss_log); !rows.empty()) seconds_before = rows.back().seconds;
    long steps_this_run = 0;
    for (int epoch = progress.epoch; epoch <= epochs; ++epoch) {
        while (auto batch = loader.next()) {
            const CycleGANLosses losses = model.train_step(batch->A, batch->B, comm, batch->weight());
            ++steps_this_run;
            watchdog.beat();
            progress.iteration += batch->count_all;
            progress.epoch_index = batch->index + batch->count_all;
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (lead)
                report::append_loss_log(loss_log, {epoch, progress.iteration, losses.values(), model.lr(), seconds_before + elapsed});
            for (std::size_t k = 0; k < 8; ++k)
                if (!std::isfinite(losses.values()[k])) {  // the losses are all ranks': every rank stops here
                    bar.end_line();
                    if (lead)
                        std::fprintf(stderr,
                                 "error: loss %s is %g at iteration %ld (epoch %d); training stopped. "
                                 "The last good checkpoint is %s\n",
                                 CycleGANLosses::names[k], losses.values()[k], progress.iteration, epoch, last_good().c_str());
                    return 3;
                }
            const double rate = steps_this_run / std::max(elapsed, 1e-9);
            const long step_images = static_cast<long>(o.batch_size) * ranks;
            const long per_epoch = static_cast<long>(loader.batches_per_epoch());
            const double remaining = double(epochs - epoch) * per_epoch + double(per_epoch - progress.epoch_index / step_images);
            bar.update(epoch, epochs, progress.epoch_index / step_images, per_epoch, rate, remaining / std::max(rate, 1e-9), losses);
            if (any_interrupted()) {
                bar.end_line();
                progress.epoch = epoch;
                {
                    StopWatchdog::Paused saving(watchdog);
                    save(run_dir / "latest.safetensors");
                }
                if (lead)
                    std::printf("interrupted: saved %s at iteration %ld; resume with --continue-train\n",
                                (run_dir / "latest.safetensors").c_str(), progress.iteration);
                return 130;
            }
        }
        bar.end_line();
        // The epoch's files: the others wait for rank 0 in the barrier at the end, not in the next
        // step's all-reduce.
        StopWatchdog::Paused epoch_files(watchdog);
        // The epoch's visuals: top row A -> B -> A and G_B(A); bottom row B -> A -> B and G_A(B).
        if (lead) {
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
        }

        schedule.step();
        model.set_lr(schedule.lr());
        progress.epoch = epoch + 1;
        progress.epoch_index = 0;
        save(run_dir / "latest.safetensors");
        if (o.save_epoch_freq > 0 && epoch % o.save_epoch_freq == 0) save(run_dir / (std::to_string(epoch) + ".safetensors"));
        if (!lead) {
            comm.barrier();
            continue;
        }
        const auto log_rows = report::read_loss_log(loss_log);
        report::write_training_report(web, o.name, log_rows, grids, progress.info);
        const auto& last = log_rows.back();
        auto loss = [&](const char* name) {
            const auto& names = CycleGANLosses::names;
            return last.losses[static_cast<std::size_t>(std::find(names.begin(), names.end(), std::string_view(name)) - names.begin())];
        };
        std::printf("epoch %d/%d done: iteration %ld, lr %.3g, G_A %.3f D_A %.3f cycle_A %.3f G_B %.3f D_B %.3f cycle_B %.3f\n",
                    epoch, epochs, progress.iteration, model.lr(), loss("G_A"), loss("D_A"), loss("cycle_A"), loss("G_B"),
                    loss("D_B"), loss("cycle_B"));
        std::fflush(stdout);
        comm.barrier();
    }
    if (lead)
        std::printf("done: checkpoint %s\nreport: %s\n", (run_dir / "latest.safetensors").c_str(), (web / "index.html").c_str());
    return 0;
}

// The adversarial loss is a template parameter of the model: one instantiation per --gan-mode.
template <class B, class Comm>
int train_with(B& dev, const TrainOptions& o, Comm& comm) {
    if (o.gan_mode == "vanilla") return train<B, VanillaGAN>(dev, o, comm);
    if (o.gan_mode == "hinge") return train<B, HingeGAN>(dev, o, comm);
    return train<B, LSGAN>(dev, o, comm);
}

// Defined in train_cuda.cu, which nvcc compiles, in builds with the GPU backend.
int train_on_cuda(const TrainOptions& o, SingleProcess& comm);
#if CYCLEGAN_PROGRAMS_HAVE_MPI
int train_on_cuda(const TrainOptions& o, MpiCommunicator& comm);
#endif

}  // namespace train_program
