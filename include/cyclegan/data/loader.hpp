#pragma once
// Batches of an UnalignedDataset, decoded and preprocessed ahead of the training step on one
// background thread (the reference's DataLoader with its worker).
//
// Every random choice (the order of the epoch, which B image goes with an A image, each crop and
// flip) is a hash of (seed, epoch, item, A or B), so a run resumed at (epoch, index) sees exactly
// the batches an uninterrupted run would: there is no generator state to save.
//
// In a distributed run each rank's loader takes its share of each global batch (Shard): the ranks
// together see every item of an epoch once, in the order one process would.
//
// The worker only decodes into host floats; tensors are made on the caller's thread in next(),
// so the backend's device is never touched from the worker.
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../core/random.hpp"
#include "../core/tensor.hpp"
#include "../distributed/communicator.hpp"
#include "../image/chw.hpp"
#include "../image/file.hpp"
#include "../image/image.hpp"
#include "folder_dataset.hpp"
#include "preprocess.hpp"

namespace cyclegan {

// Images per step (per rank, in a distributed run).
inline constexpr OptionRange batch_size_range{.min = 1, .integer = true};

template <class Backend>
class Loader {
public:
    struct Batch {
        Tensor<Backend> A, B;  // [n, channels_A, h, w] and [n, channels_B, h', w'] in [-1, 1]; empty when n is 0
        std::vector<std::filesystem::path> paths_A, paths_B;
        int epoch = 0;
        long index = 0;  // the epoch's item index of the (global) batch's first image
        long count_all = 0;  // images of this step on all ranks: the next batch starts at index + count_all

        long count() const { return static_cast<long>(paths_A.size()); }
        // This rank's share of the step's images: its gradient weight in a distributed step.
        double weight() const { return count_all ? double(count()) / double(count_all) : 0.0; }
    };

    // Starts the worker at item `start_index` of epoch `start_epoch`; later epochs start at 0.
    // `prefetch` bounds how many batches wait decoded. `shard` is this rank's place in a
    // distributed run: batch_size is then per rank, and the batch of all ranks starts at index.
    Loader(Backend& dev, UnalignedDataset data, PreprocessOptions options, int channels_A, int channels_B, int batch_size,
           std::uint64_t seed, int start_epoch = 1, long start_index = 0, std::size_t prefetch = 3, Shard shard = {})
        : dev_(dev), data_(std::move(data)), options_(std::move(options)), channels_A_(channels_A),
          channels_B_(channels_B), batch_size_(batch_size), seed_(seed), prefetch_(prefetch), shard_(shard) {
        if (shard.ranks < 1 || shard.rank < 0 || shard.rank >= shard.ranks)
            throw std::invalid_argument("Loader: rank " + std::to_string(shard.rank) + " of " + std::to_string(shard.ranks));
        check_options(options_);
        for (int c : {channels_A, channels_B})
            if (c != 1 && c != 3 && c != 4)
                throw std::invalid_argument("Loader: channels must be 1, 3 or 4, got " + std::to_string(c));
        check_option("Loader", "batch_size", batch_size, batch_size_range);
        if (start_index < 0) throw std::invalid_argument("Loader: start_index must be >= 0, got " + std::to_string(start_index));
        if (prefetch_ < 1) prefetch_ = 1;
        worker_ = std::thread([this, start_epoch, start_index] { run(start_epoch, start_index); });
    }

    Loader(const Loader&) = delete;
    Loader& operator=(const Loader&) = delete;

    // Stops the worker, mid-epoch or mid-batch, and waits for it (at most one image's decoding).
    ~Loader() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        not_full_.notify_all();
        if (worker_.joinable()) worker_.join();
    }

    // The next batch of the current epoch, in order; nullopt when the epoch is over, and the call
    // after that starts the next epoch. Blocks while the worker decodes. An error of the worker (a
    // corrupt file, an image too small for the crop) is thrown here, naming the file, and again
    // on every later call.
    std::optional<Batch> next() {
        if (error_) std::rethrow_exception(error_);
        std::unique_lock lock(mutex_);
        not_empty_.wait(lock, [&] { return !queue_.empty(); });
        Host host = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        not_full_.notify_one();
        if (host.error) {
            error_ = host.error;
            std::rethrow_exception(error_);
        }
        if (host.end_of_epoch) return std::nullopt;
        if (host.batch.count()) {
            host.batch.A = Tensor<Backend>::from_host(dev_, host.shape_A, host.A);
            host.batch.B = Tensor<Backend>::from_host(dev_, host.shape_B, host.B);
        }
        return std::move(host.batch);
    }

    std::size_t size() const { return data_.size(); }  // items per epoch
    // Steps per epoch (of all ranks together, in a distributed run).
    std::size_t batches_per_epoch() const {
        const std::size_t global = static_cast<std::size_t>(batch_size_) * shard_.ranks;
        return (data_.size() + global - 1) / global;
    }
    const UnalignedDataset& dataset() const { return data_; }

    // The seed that preprocess() gets for item i of an epoch, domain A (side 0) or B (side 1).
    static std::uint64_t preprocess_seed(std::uint64_t seed, int epoch, std::size_t i, int side) {
        return random_key(seed, {0x50524550ull /* "PREP" */, static_cast<std::uint64_t>(static_cast<std::int64_t>(epoch)), i,
                                 static_cast<std::uint64_t>(side)});
    }

private:
    // A batch as host floats, an end-of-epoch mark, or the worker's error.
    struct Host {
        Batch batch;  // but its tensors: the worker never touches the device
        std::vector<float> A, B;
        Shape shape_A{}, shape_B{};
        bool end_of_epoch = false;
        std::exception_ptr error;
    };

    // Waits for room, then queues; false when the loader is stopping.
    bool push(Host&& h) {
        std::unique_lock lock(mutex_);
        not_full_.wait(lock, [&] { return stop_ || queue_.size() < prefetch_; });
        if (stop_) return false;
        queue_.push_back(std::move(h));
        lock.unlock();
        not_empty_.notify_one();
        return true;
    }

    bool stopping() {
        std::lock_guard lock(mutex_);
        return stop_;
    }

    // One domain's images of a batch, appended as CHW floats; all must share one size unless the
    // batch holds one image. Out of memory (a large file, or a large load_size), throws
    // out_of_memory naming the file, its sizes through preprocessing and the bytes they take.
    void add_image(Host& h, const std::filesystem::path& path, int channels, std::uint64_t key, bool side_B) {
        try {
            append_image(h, path, channels, key, side_B);
        } catch (const std::bad_alloc& e) {
            std::string sizes;
            try {
                const ImageInfo info = probe_image(path);
                const auto [rw, rh] = resized_size(info.width, info.height, options_);
                const auto [w, h] = output_size(info.width, info.height, options_, path.string());
                // 8-bit pixels as decoded and resized, then floats as the network takes them
                const double bytes = (double(info.width) * info.height + double(rw) * rh + 4.0 * w * h) * channels;
                sizes = " (" + std::to_string(info.width) + "x" + std::to_string(info.height) + ", resized to " +
                        std::to_string(rw) + "x" + std::to_string(rh) + " by preprocess " + printable(options_.mode) + " at load_size " +
                        std::to_string(options_.load_size) + ", then " + std::to_string(w) + "x" + std::to_string(h) +
                        ": " + bytes_text(bytes) + " in all)";
            } catch (const std::exception&) {
            }
            const std::string detail = out_of_memory::detail(e);
            throw out_of_memory("out of memory reading '" + printable(path.string()) + "'" + sizes + (detail.empty() ? "" : ": " + detail));
        }
    }
    void append_image(Host& h, const std::filesystem::path& path, int channels, std::uint64_t key, bool side_B) {
        const Image img = preprocess(read_image(path, channels), options_, key, path.string());
        auto& values = side_B ? h.B : h.A;
        auto& shape = side_B ? h.shape_B : h.shape_A;
        auto& paths = side_B ? h.batch.paths_B : h.batch.paths_A;
        if (paths.empty()) {
            shape = Shape{0, channels, img.height, img.width};
        } else if (img.height != shape.h || img.width != shape.w) {
            throw dataset_error("Loader: images of one batch differ in size after preprocessing ('" +
                                printable(paths.front().string()) + "' is " + std::to_string(shape.w) + "x" +
                                std::to_string(shape.h) + ", '" + printable(path.string()) + "' is " + std::to_string(img.width) +
                                "x" + std::to_string(img.height) + " with preprocess mode '" + printable(options_.mode) +
                                "'): use batch_size 1, or a mode that crops to one size");
        }
        const auto chw = to_chw(img);
        values.insert(values.end(), chw.begin(), chw.end());
        paths.push_back(path);
        ++shape.n;
    }

    void run(int epoch, long index) {
        try {
            const long n = static_cast<long>(data_.size());
            for (;; ++epoch, index = 0) {
                for (; index < n; index += shard_.global_count(index, n, batch_size_)) {
                    Host h;
                    h.batch.epoch = epoch;
                    h.batch.index = index;
                    h.batch.count_all = shard_.global_count(index, n, batch_size_);
                    const auto [first, last] = shard_.items(index, n, batch_size_);
                    for (long i = first; i < last; ++i) {
                        if (stopping()) return;
                        const auto item = data_.item(epoch, static_cast<std::size_t>(i), seed_);
                        add_image(h, item.A, channels_A_, preprocess_seed(seed_, epoch, static_cast<std::size_t>(i), 0), false);
                        add_image(h, item.B, channels_B_, preprocess_seed(seed_, epoch, static_cast<std::size_t>(i), 1), true);
                    }
                    if (!push(std::move(h))) return;
                }
                Host end;
                end.end_of_epoch = true;
                if (!push(std::move(end))) return;
            }
        } catch (...) {
            Host failed;
            failed.error = std::current_exception();
            push(std::move(failed));
        }
    }

    Backend& dev_;
    const UnalignedDataset data_;
    const PreprocessOptions options_;
    const int channels_A_, channels_B_;
    const long batch_size_;
    const std::uint64_t seed_;
    std::size_t prefetch_;
    const Shard shard_;

    std::mutex mutex_;
    std::condition_variable not_empty_, not_full_;
    std::deque<Host> queue_;
    bool stop_ = false;
    std::exception_ptr error_;  // the worker's error once next() has seen it (the worker has ended)
    std::thread worker_;        // last: starts after every other member exists
};

}  // namespace cyclegan
