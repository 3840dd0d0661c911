#pragma once
// The training loop of cyclegan-train for any backend: train.cpp runs it on the CPU, train_cuda.cu
// (compiled by nvcc) on the GPU.
#include <cyclegan/data/folder_dataset.hpp>
#include <cyclegan/data/loader.hpp>
#include <cyclegan/io/checkpoint.hpp>
#include <cyclegan/image/chw.hpp>
#include <cyclegan/image/file.hpp>
#include <cyclegan/image/geometry.hpp>
#include <cyclegan/report/html_report.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include <unistd.h>

#include "program_options.hpp"

#if CYCLEGAN_PROGRAMS_HAVE_MPI
#include <cyclegan/distributed/mpi.hpp>
#endif

namespace train_program {

namespace fs = std::filesystem;
using namespace cyclegan;

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
    std::string precision = "f32";  // f32, bf16 or auto (program_options.hpp)
    bool quiet = false;
};

// The options that shape training but not the networks, as a checkpoint records them (info.<key>),
// so that a resumed run can say which of them its command line changes: key, option, value.
struct RecordedOption {
    const char *key, *flag;
    std::string value;
};
inline std::vector<RecordedOption> training_record(const TrainOptions& o) {
    auto number = [](auto v) { return checkpoint_detail::number(v); };  // reads back to the same bits
    auto flag = [](bool on) { return std::string(on ? "true" : "false"); };
    return {{"lr", "--lr", number(o.lr)},
            {"beta1", "--beta1", number(o.beta1)},
            {"lr_policy", "--lr-policy", o.lr_policy},
            {"n_epochs", "--n-epochs", number(o.n_epochs)},
            {"n_epochs_decay", "--n-epochs-decay", number(o.n_epochs_decay)},
            {"lr_decay_iters", "--lr-decay-iters", number(o.lr_decay_iters)},
            {"gan_mode", "--gan-mode", o.gan_mode},
            {"lambda_A", "--lambda-A", number(o.lambda_A)},
            {"lambda_B", "--lambda-B", number(o.lambda_B)},
            {"lambda_identity", "--lambda-identity", number(o.lambda_identity)},
            {"pool_size", "--pool-size", number(o.pool_size)},
            {"batch_size", "--batch-size", number(o.batch_size)},
            {"preprocess", "--preprocess", o.preprocess.mode},
            {"load_size", "--load-size", number(o.preprocess.load_size)},
            {"crop_size", "--crop-size", number(o.preprocess.crop_size)},
            {"no_flip", "--no-flip", flag(o.no_flip)},
            {"serial_batches", "--serial-batches", flag(o.serial_batches)},
            {"max_dataset_size", "--max-dataset-size", number(o.max_dataset_size)},
            {"seed", "--seed", number(o.seed)}};
}

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
    std::uint64_t h = fnv1a_basis;  // over the names, in order
    for (const auto* side : {&d.A, &d.B})
        for (const auto& p : *side) h = fnv1a(p.filename().string() + "/", h);
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

// One run of cyclegan-train on this rank of `comm` (SingleProcess, or MPI's ranks): each rank
// trains on its share of every batch; rank 0 alone prints, logs and saves. The run in order:
// the constructor (sizes checked, model built), resume or start_fresh, open_data, then per epoch
// run_epoch and end_epoch.
template <class B, class Comm>
class Trainer {
public:
    // The GAN loss is chosen at run time (GANLoss), so the training is compiled once per backend
    // and communicator, not once per --gan-mode as well.
    using Model = CycleGAN<AnyGenerator<B>, AnyDiscriminator<B>, GANLoss>;

    // Sizes the networks cannot take are refused before anything is written.
    Trainer(B& dev, const TrainOptions& o, Comm& comm)
        : dev_(dev), o_(checked(o)), comm_(comm), rank_(comm.rank()), ranks_(comm.size()), lead_(rank_ == 0),
          pre_(preprocessing(o)), run_dir_(fs::path(o.checkpoints_dir) / o.name), web_(run_dir_ / "web"),
          loss_log_(run_dir_ / "loss_log.csv"),
          // Each rank's pools draw from their own seed (rank 0's is the single process's); the
          // weights are rank 0's.
          pool_seed_(stream_seed(o.seed, static_cast<std::uint64_t>(rank_))),
          model_(build_model(dev, o, pool_seed_)),
          schedule_(o.lr, {.policy = parse_lr_policy(o.lr_policy), .n_epochs = o.n_epochs,
                           .n_epochs_decay = o.n_epochs_decay, .lr_decay_iters = o.lr_decay_iters}),
          epochs_(o.n_epochs + o.n_epochs_decay), bar_(!o.quiet && lead_) {
        if (!lead_) return;
        fs::create_directories(web_ / "images");
        // Our own temporaries that a killed run left (a checkpoint's size each), never others' files.
        std::size_t stale = 0;
        for (const auto& folder : {run_dir_, web_, web_ / "images"}) stale += remove_stale_temporary_files(folder);
        if (stale)
            std::printf("removed %zu temporary files left by an interrupted run in %s\n", stale,
                        printable(run_dir_.string()).c_str());
    }

    int run() {
        if (o_.continue_train)
            resume();
        else
            start_fresh();
        progress_.info = o_.model.describe();
        for (const auto& r : training_record(o_)) progress_.info[r.key] = r.value;
        progress_.info["ranks"] = std::to_string(ranks_);
        open_data();
        catch_signals();
        watchdog_.emplace(rank_, ranks_);  // from the first step on: setup takes as long as the files do
        start_ = std::chrono::steady_clock::now();
        for (int epoch = progress_.epoch; epoch <= epochs_; ++epoch) {
            if (const int stopped = run_epoch(epoch)) return stopped;
            end_epoch(epoch);
        }
        if (lead_)
            std::printf("done: checkpoint %s\nreport: %s\n", printable(latest().string()).c_str(),
                        printable((web_ / "index.html").string()).c_str());
        return 0;
    }

private:
    // What no option's range alone can say, before anything is built or written.
    static const TrainOptions& checked(const TrainOptions& o) {
        if (o.n_epochs + o.n_epochs_decay < 1)
            throw std::invalid_argument("--n-epochs " + std::to_string(o.n_epochs) + " --n-epochs-decay " +
                                        std::to_string(o.n_epochs_decay) +
                                        ": no epoch to train (a run trains --n-epochs + --n-epochs-decay epochs); give at least 1");
        return o;
    }

    // The four networks and their optimizers. Networks too large to hold, or to allocate, are
    // refused with their sizes and the options that set them.
    static Model build_model(B& dev, const TrainOptions& o, std::uint64_t pool_seed) {
        try {
            return Model(dev, o.model.generator(), o.model.discriminator(),
                         {.lambda_A = o.lambda_A, .lambda_B = o.lambda_B, .lambda_identity = o.lambda_identity,
                          .pool_size = o.pool_size, .init = o.model.init(o.seed), .seed = pool_seed},
                         {.lr = o.lr, .beta1 = o.beta1}, GANLoss{parse_choice(gan_mode_choices, o.gan_mode, "gan mode")});
        } catch (const std::bad_alloc& e) {
            throw std::runtime_error("out of memory building the networks" + sizes_of_networks(o) + ": " +
                                     (out_of_memory::detail(e).empty() ? "std::bad_alloc" : out_of_memory::detail(e)) +
                                     "; use a smaller --ngf or --ndf");
        } catch (const std::length_error&) {  // Network: over the values one tensor holds
            throw std::runtime_error("the networks are too large" + sizes_of_networks(o) + ": a network holds at most " +
                                     std::to_string(std::numeric_limits<int>::max()) + " parameters; use a smaller --ngf or --ndf");
        }
    }
    // " (--ngf 64 --ndf 64: 11378179 parameters per generator, 2764737 per discriminator, 0.7 GiB
    // as the weights, gradients and Adam's two moments of all four)", counted without allocating.
    static std::string sizes_of_networks(const TrainOptions& o) {
        auto count = [](auto net) {
            double n = 0;
            net.parameters([&](const ParamSpec& s, Tensor<B>&, Tensor<B>*) { n += double(s.numel()); }, "");
            return n;
        };
        const double g = count(AnyGenerator<B>(o.model.generator())), d = count(AnyDiscriminator<B>(o.model.discriminator()));
        char counts[96];
        std::snprintf(counts, sizeof counts, "%.4g parameters per generator, %.4g per discriminator", g, d);
        return " (--ngf " + std::to_string(o.model.ngf) + " --ndf " + std::to_string(o.model.ndf) + ": " + counts + ", " +
               bytes_text(4 * 2 * (g + d) * sizeof(typename B::scalar)) +
               " as the weights, gradients and Adam's two moments of all four)";
    }

    static PreprocessOptions preprocessing(const TrainOptions& o) {
        PreprocessOptions pre = o.preprocess;
        pre.flip = !o.no_flip;
        pre.sizes = AnyGenerator<B>::size_rule_of(o.model.netG) & AnyDiscriminator<B>::size_rule_of(o.model.discriminator());
        check_sizes(pre, "--netG " + o.model.netG + " with --netD " +
                             (o.model.netD == "n_layers" ? "n_layers --n-layers-D " + std::to_string(o.model.n_layers_D)
                                                         : o.model.netD));
        return pre;
    }
    fs::path latest() const { return run_dir_ / "latest.safetensors"; }

    // Every rank reads the checkpoint (a shared folder, or a copy at the same path), each its own
    // pools; a rank the saved run did not have starts with empty ones.
    void resume() {
        const fs::path from = run_dir_ / (o_.epoch + ".safetensors");
        const auto metadata = checkpoint_detail::open(from).metadata();
        const auto recorded = checkpoint_detail::info_entries(metadata);
        // The architecture options first, by name: a tensor-by-tensor list would not say which.
        check_same_model(recorded, o_.model, from);
        model_.for_each_pool([&](const std::string& name, ImagePool<B>&) {
            const auto it = metadata.find(checkpoint_detail::pool_key(checkpoint_detail::rank_pool_name(rank_, name), "count"));
            if (it != metadata.end() && std::atol(it->second.c_str()) > o_.pool_size)
                throw std::invalid_argument("--pool-size " + std::to_string(o_.pool_size) + ": the checkpoint's pools hold " +
                                            printable(it->second) + " images each (" + printable(from.string()) +
                                            "), and a pool cannot shrink on resume; resume with --pool-size " +
                                            printable(it->second) + " or more");
        });
        progress_ = load_checkpoint(from, model_, comm_);
        if (progress_.epoch > epochs_)  // before anything is written: the run's files stay as they are
            throw std::invalid_argument(printable(from.string()) + " continues at epoch " + std::to_string(progress_.epoch) +
                                        ", but --n-epochs " + std::to_string(o_.n_epochs) + " --n-epochs-decay " +
                                        std::to_string(o_.n_epochs_decay) + " end the run after epoch " +
                                        std::to_string(epochs_) +
                                        ": nothing is left to train; raise --n-epochs or --n-epochs-decay to train further");
        // Every epoch's rate follows this run's options (--lr, the epochs, the policy) from the
        // first resumed step; unchanged options give the saved rate, to the bit.
        schedule_.restore(progress_.schedule);
        model_.set_lr(schedule_.lr());
        // The epochs' grids so far, for the report.
        for (int e = 1; e < progress_.epoch; ++e)
            if (const std::string grid = grid_name(e); fs::exists(web_ / grid)) grids_.push_back({e, grid});
        if (!lead_) return;
        report::truncate_loss_log(loss_log_, progress_.iteration);
        // A resumed run's clock continues from the log.
        if (const auto rows = report::read_loss_log(loss_log_); progress_.iteration > 0 && !rows.empty())
            seconds_before_ = rows.back().seconds;
        std::printf("resuming from %s: epoch %d, iteration %ld\n", printable(from.string()).c_str(), progress_.epoch,
                    progress_.iteration);
        const auto saved_ranks = progress_.info.find("ranks");
        const int before = saved_ranks == progress_.info.end() ? 1 : std::atoi(saved_ranks->second.c_str());
        if (before != ranks_)
            std::printf("note: saved by %d process%s, resumed by %d: the weights and optimizer state continue, but a "
                        "step now takes %d x --batch-size images, so the data order (and the steps) change\n",
                        before, before == 1 ? "" : "es", ranks_, ranks_);
        auto shown = [](const std::string& value) {  // 2e-04 as 0.0002; names and integers as they are
            double v = 0;
            return value.find_first_of(".e") != std::string::npos && checkpoint_detail::parse_number(value, v)
                       ? OptionRange::text(v)
                       : value;
        };
        for (const auto& r : training_record(o_))
            if (const auto it = recorded.find(r.key); it != recorded.end() && it->second != r.value)
                std::printf("note: %s: the checkpoint has %s, the command line says %s; this run uses %s\n", r.flag,
                            printable(shown(it->second)).c_str(), shown(r.value).c_str(), shown(r.value).c_str());
        if (schedule_.lr() != progress_.schedule.lr)
            std::printf("note: epoch %d trains at lr %g, where the checkpoint's options gave %g: every epoch's rate "
                        "follows this command line's options\n",
                        progress_.epoch, schedule_.lr(), progress_.schedule.lr);
        std::fflush(stdout);
    }

    void start_fresh() {
        if (lead_ && fs::exists(loss_log_)) fs::remove(loss_log_);  // a fresh run starts a fresh log
        model_.broadcast_weights(comm_);
    }

    void open_data() {
        std::vector<std::string> warnings;
        dataset_.emplace(o_.dataroot,
                         DatasetOptions{.phase = "train", .serial_batches = o_.serial_batches,
                                                 .max_dataset_size = o_.max_dataset_size},
                         &warnings);
        if (lead_)
            for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
        dataset_->validate(&pre_);  // every file's header now, not a decoding error hours in
        // Ranks that see different datasets (per-machine copies that differ) would take different
        // numbers of steps and wait for each other forever: refused at the start, on every rank.
        check_same_on_every_rank(comm_, dataset_fingerprint(*dataset_) + "; --batch-size " + std::to_string(o_.batch_size) +
                                             ", --seed " + std::to_string(o_.seed) + ", epochs " +
                                             std::to_string(o_.n_epochs) + "+" + std::to_string(o_.n_epochs_decay));
        if (lead_) {
            std::printf("dataset: %zu images in A, %zu in B; %zu per epoch; %s, %zu parameters per generator\n",
                        dataset_->A.size(), dataset_->B.size(), dataset_->size(), o_.model.netG.c_str(),
                        model_.G_A.parameter_count());
            if (ranks_ > 1)
                std::printf("distributed: %d processes, %d images each per step (%d per step in all)\n", ranks_,
                            o_.batch_size, ranks_ * o_.batch_size);
        }
        loader_.emplace(dev_, *dataset_, pre_, o_.model.input_nc, o_.model.output_nc, o_.batch_size, o_.seed,
                        progress_.epoch, progress_.epoch_index, 3, Shard{rank_, ranks_});
    }

    static void catch_signals() {
        // SIGUSR1 too: mpirun passes it on to every rank at once (SIGINT and SIGTERM it turns into
        // a SIGTERM followed a second later by SIGKILL).
        for (const int sig : {SIGINT, SIGTERM, SIGUSR1}) std::signal(sig, on_interrupt);
#ifdef SIGXFSZ
        std::signal(SIGXFSZ, SIG_IGN);  // a file-size limit makes writes fail with EFBIG, reported, not a kill
#endif
    }

    // The epoch's steps. Returns 0 when the epoch ran to its end, else the program's exit code:
    // 3 after a loss that is not finite, 130 when interrupted (saved first).
    int run_epoch(int epoch) {
        while (auto batch = next_batch()) {
            const CycleGANLosses losses = step(*batch);
            ++steps_this_run_;
            watchdog_->beat();
            progress_.iteration += batch->count_all;
            progress_.epoch_index = batch->index + batch->count_all;
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
            if (lead_)
                report::append_loss_log(loss_log_, {epoch, progress_.iteration, losses.values(), model_.lr(), seconds_before_ + elapsed});
            if (!all_finite(losses, epoch)) return 3;
            show_progress(epoch, elapsed, losses);
            if (any_interrupted()) {
                bar_.end_line();
                progress_.epoch = epoch;
                {
                    StopWatchdog::Paused saving(*watchdog_);
                    save(latest());
                }
                if (lead_)
                    std::printf("interrupted: saved %s at iteration %ld; resume with --continue-train\n",
                                printable(latest().string()).c_str(), progress_.iteration);
                return 130;
            }
        }
        bar_.end_line();
        return 0;
    }

    // Running out of memory names what was being done, at which sizes, and what to change.
    std::optional<typename Loader<B>::Batch> next_batch() {
        try {
            return loader_->next();
        } catch (const std::bad_alloc& e) {  // the loader's out_of_memory names the file and the sizes
            throw std::runtime_error(std::string(e.what()) + "; use smaller images, a smaller --load-size, or --preprocess "
                                                             "crop (which does not resize)");
        }
    }
    CycleGANLosses step(const typename Loader<B>::Batch& batch) {
        try {
            return model_.train_step(batch.A, batch.B, comm_, batch.weight());
        } catch (const std::bad_alloc& e) {
            const std::string detail = out_of_memory::detail(e);
            // What sets the images' size: the crop, the width scale_width gives, or the files.
            const std::string size = pre_.mode.ends_with("crop") ? "--crop-size " + std::to_string(o_.preprocess.crop_size)
                                     : pre_.mode == "none"       ? "--preprocess none"
                                                                 : "--preprocess " + pre_.mode + " --load-size " +
                                                                 std::to_string(o_.preprocess.load_size);
            const std::string smaller = pre_.mode.ends_with("crop") ? "a smaller --crop-size"
                                        : pre_.mode == "none"       ? "smaller images, a mode that crops (--preprocess crop)"
                                                                    : "a smaller --load-size";
            throw std::runtime_error("out of memory in a training step on images of " + to_string(batch.A.shape()) +
                                     " (--batch-size " + std::to_string(o_.batch_size) + ", " + size + ")" +
                                     (detail.empty() ? "" : ": " + detail) + "; use " + smaller +
                                     ", a smaller --batch-size, or a smaller --ngf");
        }
    }

    // The losses are all ranks': every rank stops at the same step.
    bool all_finite(const CycleGANLosses& losses, int epoch) {
        for (std::size_t k = 0; k < losses.values().size(); ++k)
            if (!std::isfinite(losses.values()[k])) {
                bar_.end_line();
                if (lead_) {
                    std::error_code ec;
                    const std::string last_good = fs::exists(latest(), ec) ? printable(latest().string()) : "(none saved yet)";
                    std::fprintf(stderr,
                                 "error: loss %s is %g at iteration %ld (epoch %d); training stopped. "
                                 "The last good checkpoint is %s\n",
                                 CycleGANLosses::names[k], losses.values()[k], progress_.iteration, epoch, last_good.c_str());
                }
                return false;
            }
        return true;
    }

    void show_progress(int epoch, double elapsed, const CycleGANLosses& losses) {
        const double rate = steps_this_run_ / std::max(elapsed, 1e-9);
        const long step_images = static_cast<long>(o_.batch_size) * ranks_;
        const long per_epoch = static_cast<long>(loader_->batches_per_epoch());
        const long done = progress_.epoch_index / step_images;
        const double remaining = double(epochs_ - epoch) * per_epoch + double(per_epoch - done);
        bar_.update(epoch, epochs_, done, per_epoch, rate, remaining / std::max(rate, 1e-9), losses);
    }

    // Whether any rank was interrupted: all ranks stop after the same step.
    bool any_interrupted() {
        if (ranks_ == 1) return interrupted.load();
        auto flag = Tensor<B>::full(dev_, Shape{1, 1, 1, 1}, interrupted ? 1 : 0);
        Tensor<B>* bucket[] = {&flag};
        comm_.all_reduce_weighted(dev_, std::span<Tensor<B>* const>(bucket), 1.0);
        return flag.to_host(dev_)[0] > 0;
    }

    // Every rank calls it (its pools go to rank 0, which writes).
    void save(const fs::path& path) {
        progress_.schedule = schedule_.save();
        save_checkpoint(path, model_, progress_, comm_);
    }

    // The schedule's step, the checkpoints, and at rank 0 the epoch's image grid, report and line.
    // The others wait for rank 0 in the barrier at the end, not in the next step's all-reduce.
    void end_epoch(int epoch) {
        StopWatchdog::Paused epoch_files(*watchdog_);
        if (lead_) write_grid(epoch);
        const double trained_at = model_.lr();
        schedule_.step(0.0);  // plateau's metric: the reference's CycleGAN passes a constant 0 (BaseModel.metric)
        model_.set_lr(schedule_.lr());
        progress_.epoch = epoch + 1;
        progress_.epoch_index = 0;
        save(latest());
        if (o_.save_epoch_freq > 0 && epoch % o_.save_epoch_freq == 0) save(run_dir_ / (std::to_string(epoch) + ".safetensors"));
        if (lead_) {
            const auto log_rows = report::read_loss_log(loss_log_);
            report::write_training_report(web_, o_.name, log_rows, grids_, progress_.info);
            print_epoch_line(epoch, trained_at, log_rows.back());
        }
        comm_.barrier();
    }

    static std::string grid_name(int epoch) { return "images/epoch" + std::to_string(epoch) + ".png"; }

    // Top row A -> B -> A and G_B(A); bottom row B -> A -> B and G_A(B).
    void write_grid(int epoch) {
        const auto& v = model_.visuals();
        auto first_image = [&](const Tensor<B>& t) {
            if (t.empty()) return Image();
            const auto host = t.images(0).to_host(dev_);
            return from_chw(host, t.shape().c, t.shape().h, t.shape().w);
        };
        std::vector<Image> top{first_image(v.real_A), first_image(v.fake_B), first_image(v.rec_A)};
        std::vector<Image> bottom{first_image(v.real_B), first_image(v.fake_A), first_image(v.rec_B)};
        if (!v.idt_B.empty()) top.push_back(first_image(v.idt_B)), bottom.push_back(first_image(v.idt_A));
        const Image grid = report::make_grid({top, bottom});
        write_image(web_ / grid_name(epoch), grid);
        grids_.push_back({epoch, grid_name(epoch), grid.width});
    }

    // The epoch's rate, and the next one's where the schedule changes it.
    void print_epoch_line(int epoch, double lr, const report::LossRecord& last) const {
        auto loss = [&](const char* name) {
            const auto& names = CycleGANLosses::names;
            return last.losses[static_cast<std::size_t>(std::find(names.begin(), names.end(), std::string_view(name)) - names.begin())];
        };
        const std::string next = epoch < epochs_ && model_.lr() != lr ? " (next " + OptionRange::text(model_.lr()) + ")" : "";
        std::printf("epoch %d/%d done: iteration %ld, lr %.3g%s, G_A %.3f D_A %.3f cycle_A %.3f G_B %.3f D_B %.3f cycle_B %.3f\n",
                    epoch, epochs_, progress_.iteration, lr, next.c_str(), loss("G_A"), loss("D_A"), loss("cycle_A"), loss("G_B"),
                    loss("D_B"), loss("cycle_B"));
        std::fflush(stdout);
    }

    B& dev_;
    const TrainOptions& o_;
    Comm& comm_;
    const int rank_, ranks_;
    const bool lead_;  // prints, writes the log, the report and the checkpoints
    const PreprocessOptions pre_;
    const fs::path run_dir_, web_, loss_log_;
    const std::uint64_t pool_seed_;
    Model model_;
    LrSchedule schedule_;
    const int epochs_;
    TrainingProgress progress_;
    std::optional<UnalignedDataset> dataset_;
    std::optional<Loader<B>> loader_;
    std::vector<report::EpochImages> grids_;
    Progress bar_;
    std::optional<StopWatchdog> watchdog_;
    std::chrono::steady_clock::time_point start_;  // this run's first step
    double seconds_before_ = 0;
    long steps_this_run_ = 0;
};

template <class B, class Comm>
int train_with(B& dev, const TrainOptions& o, Comm& comm) {
    return Trainer<B, Comm>(dev, o, comm).run();
}

// Defined in train_cuda.cu, which nvcc compiles, in builds with the GPU backend.
int train_on_cuda(const TrainOptions& o, SingleProcess& comm);
#if CYCLEGAN_PROGRAMS_HAVE_MPI
int train_on_cuda(const TrainOptions& o, MpiCommunicator& comm);
#endif

}  // namespace train_program
