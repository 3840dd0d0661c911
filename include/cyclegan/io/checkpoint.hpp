#pragma once
// Resumable checkpoints: one safetensors file with everything a model's training depends on, so
// that training resumed from it continues exactly as if it had never stopped. The model names its
// state (models/model_state.hpp); for a CycleGAN:
//
//   G_A.<state_dict name>, G_B.*, D_A.*, D_B.*   every parameter and buffer, PyTorch's names and dims
//   optimizer.G_A.exp_avg, ...                    each optimizer's state, flat [n]
//   pool.fake_A.<k>, pool.fake_B.<k>              the image pools' images, [1, C, H, W]
//   pool.rank1.fake_A.<k>, ...                    a distributed run's other ranks' pools
//   __metadata__                                  format and version, progress, schedule, optimizer
//                                                 steps and lr, pool random states, an architecture
//                                                 fingerprint, and the trainer's own strings (info.*)
//
// Loading checks the whole file against the model before changing anything in it, so a wrong or
// damaged file leaves the model as it was. Its errors show the file's name and what the file holds
// (tensor names, metadata) as printable() does (core/text.hpp). Saving replaces the file atomically, so a failed save
// leaves the previous checkpoint as it was.
//
// Not saved: Dropout's per-layer call counters (a model with use_dropout resumes with fresh masks,
// not the same ones), and BatchNorm's num_batches_tracked (not kept by BatchNorm2d at all).
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <locale>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "../core/compiled.hpp"
#include "../core/image_pool.hpp"
#include "../core/network.hpp"
#include "../distributed/communicator.hpp"
#include "../models/model_state.hpp"
#include "../optim/lr_schedule.hpp"
#include "../core/atomic_file.hpp"
#include "safetensors.hpp"

namespace cyclegan {

// A checkpoint could not be loaded: damaged, or written for another model. Names the file.
struct checkpoint_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Where training stands, beyond the model: what a trainer needs to continue its loops.
struct TrainingProgress {
    int epoch = 1;              // the epoch to run next
    long iteration = 0;         // images (or steps) seen in all epochs
    long epoch_index = 0;       // position inside the epoch
    LrSchedule::Saved schedule{};
    std::map<std::string, std::string> info;  // free-form, e.g. the trainer's options
};

inline constexpr int checkpoint_format_version = 1;

namespace checkpoint_detail {

inline constexpr const char* checkpoint_format = "cyclegan.checkpoint";
inline constexpr const char* network_format = "cyclegan.network";
inline constexpr std::size_t max_listed = 10;

using Dims = std::vector<std::int64_t>;

inline std::string dims_string(const Dims& d) {
    std::string s = "[";
    for (std::size_t i = 0; i < d.size(); ++i) {
        if (i) s += ", ";
        s += std::to_string(d[i]);
    }
    return s + "]";
}

// Numbers in the metadata as text that reads back to the same bits, whatever the C locale.
template <class T>
std::string number(T v) {
#if !defined(__cpp_lib_to_chars)  // libc++ before floating-point to_chars: 17 digits, classic locale
    if constexpr (std::is_floating_point_v<T>) {
        std::ostringstream os;
        os.imbue(std::locale::classic());
        os.precision(17);
        os << v;
        return os.str();
    }
#endif
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

// The whole of `s` as a number; false when it is not one.
template <class T>
bool parse_number(const std::string& s, T& v) {
#if !defined(__cpp_lib_to_chars)
    if constexpr (std::is_floating_point_v<T>) {
        if (s == "inf" || s == "-inf" || s == "nan" || s == "-nan") {
            v = s[0] == '-' ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
            if (s.find("nan") != std::string::npos) v = std::numeric_limits<T>::quiet_NaN();
            return true;
        }
        std::istringstream is(s);
        is.imbue(std::locale::classic());
        is >> v;
        return is && is.peek() == std::char_traits<char>::eof();
    }
#endif
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// One tensor of a checkpoint: its name and dims in the file, and the device memory it comes from
// or goes to.
template <class B>
struct Slot {
    std::string name;
    Dims dims;
    Tensor<B> tensor;  // a view: writing to it writes into the network or optimizer
    B* dev = nullptr;
};

template <class Net, class B = typename Network<Net>::backend>
void add_network(std::vector<Slot<B>>& out, Network<Net>& net, const std::string& prefix) {
    for (const auto& t : net.named_tensors())
        out.push_back({prefix + t.spec.name, Dims(t.spec.dims.begin(), t.spec.dims.end()), t.value, &net.device()});
}

// Each metadata field of the progress, once, for saving and loading: its key and its value.
template <class Progress, class F>  // Progress: TrainingProgress, const or not
void for_each_progress_field(Progress& p, F&& f) {
    f("progress.epoch", p.epoch);
    f("progress.iteration", p.iteration);
    f("progress.epoch_index", p.epoch_index);
    f("schedule.epochs_done", p.schedule.epochs_done);
    f("schedule.lr", p.schedule.lr);
    f("schedule.best", p.schedule.best);
    f("schedule.bad_epochs", p.schedule.bad_epochs);
    f("schedule.base_lr", p.schedule.base_lr);
}
// Fields that checkpoints written before them lack: read as NaN when missing.
inline bool optional_progress_field(const std::string& key) { return key == "schedule.base_lr"; }

// The keys of the other entries: an optimizer's ("optimizer.G_A.steps"), a pool's
// ("pool.fake_A.count", and its k-th image "pool.fake_A.3"), the trainer's own ("info.<name>").
inline constexpr const char *optimizer_prefix = "optimizer.", *pool_prefix = "pool.";
inline std::string optimizer_key(const std::string& name, const char* field) { return optimizer_prefix + name + "." + field; }
inline std::string pool_key(const std::string& name, const std::string& field) { return pool_prefix + name + "." + field; }
// The name a pool of rank `rank` of a distributed run is saved under: its own on rank 0 ("fake_A"),
// "rank<r>.fake_A" on the others.
inline std::string rank_pool_name(int rank, const std::string& name) {
    return rank == 0 ? name : "rank" + std::to_string(rank) + "." + name;
}
inline constexpr const char* info_prefix = "info.";

// The info.* entries of a file's metadata, without the prefix.
inline std::map<std::string, std::string> info_entries(const std::map<std::string, std::string>& metadata) {
    const std::string prefix = info_prefix;
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : metadata)
        if (k.starts_with(prefix)) out[k.substr(prefix.size())] = v;
    return out;
}

// Networks, then optimizers: every tensor whose dims the model fixes.
template <class Model, class B = typename Model::backend>
std::vector<Slot<B>> model_slots(Model& m) {
    std::vector<Slot<B>> slots;
    m.for_each_network([&](const std::string& name, auto& net) { add_network(slots, net, name + "."); });
    m.for_each_optimizer([&](const std::string& name, auto& opt) {
        for (const auto& t : opt.tensors())
            slots.push_back({optimizer_key(name, t.name.c_str()), Dims{static_cast<std::int64_t>(t.tensor->numel())},
                             *t.tensor, &m.device()});
    });
    return slots;
}

// "G_A.model.1.weight [64, 3, 7, 7]" per line: which architecture wrote the file, for people and tools.
template <class B>
std::string fingerprint(const std::vector<Slot<B>>& slots) {
    std::string s;
    for (const auto& slot : slots)
        if (!slot.name.starts_with(optimizer_prefix)) s += slot.name + " " + dims_string(slot.dims) + "\n";
    return s;
}

template <class B>
std::string serialize(const std::vector<Slot<B>>& slots, const std::map<std::string, std::string>& meta) {
    using T = typename B::scalar;
    std::vector<safetensors::TensorDecl> decls;
    for (const auto& s : slots) decls.push_back({s.name, safetensors::dtype_of<T>(), s.dims});
    std::string out = safetensors::serialize_header(decls, meta);
    for (const auto& s : slots) {
        const std::vector<T> host = s.tensor.to_host(*s.dev);
        out.append(reinterpret_cast<const char*>(host.data()), host.size() * sizeof(T));
    }
    return out;
}

template <class F>
auto wrap_read(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const safetensors::format_error& e) {
        throw checkpoint_error(std::string("cannot load checkpoint ") + e.what());
    }
}

inline safetensors::LazyFile open(const std::filesystem::path& path) {
    return wrap_read([&] { return safetensors::LazyFile::open(path); });
}

// What is wrong between a file and a model, gathered before anything is changed.
class Problems {
public:
    enum Kind { shape, dtype, missing, unexpected };

    bool empty() const { return entries_.empty(); }
    std::size_t count(Kind k) const {
        return static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.kind == k; }));
    }
    void add(Kind kind, std::string line, const std::string& name) {
        // Optimizer and pool tensors follow from the networks: listed after the networks' own.
        const int tier = name.starts_with(optimizer_prefix) || name.starts_with(pool_prefix) ? 1 : 0;
        if (kind != dtype && tier == 0) architecture_ = true;
        entries_.push_back({kind, tier, std::move(line)});
    }

    // A one-line summary, then up to max_listed differences: the networks' first, shared fairly
    // between the kinds, so that a long list of one kind does not hide the others.
    std::string report(const std::string& where, const std::string& hint = "") const {
        const char* words[] = {"with another shape", "with another dtype", "missing", "unexpected"};
        std::string counts;
        for (Kind k : {shape, dtype, missing, unexpected})
            if (const std::size_t n = count(k)) counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + words[k];
        std::string s = where + (architecture_ ? ": written for another architecture than this model's (tensors: "
                                               : ": does not fit this model (tensors: ") + counts + ")";
        if (!hint.empty()) s += "; " + hint;

        std::vector<bool> shown(entries_.size(), false);
        std::size_t room = max_listed;
        for (int tier : {0, 1}) {
            std::size_t kinds = 0;
            for (Kind k : {shape, dtype, missing, unexpected})
                kinds += std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.tier == tier && e.kind == k; });
            const std::size_t share = kinds ? std::max<std::size_t>(room / kinds, 1) : 0;
            for (int pass : {0, 1})  // a fair share of each kind, then whatever room is left
                for (Kind k : {shape, dtype, missing, unexpected}) {
                    std::size_t taken = 0;
                    for (std::size_t i = 0; i < entries_.size() && room > 0; ++i) {
                        if (entries_[i].tier != tier || entries_[i].kind != k) continue;
                        if (pass == 0 && taken == share) break;
                        if (!shown[i]) {
                            shown[i] = true;
                            --room;
                        }
                        ++taken;
                    }
                }
        }
        std::size_t listed = 0;
        for (int tier : {0, 1})
            for (Kind k : {shape, dtype, missing, unexpected})
                for (std::size_t i = 0; i < entries_.size(); ++i)
                    if (shown[i] && entries_[i].tier == tier && entries_[i].kind == k) {
                        s += "\n  " + entries_[i].line;
                        ++listed;
                    }
        if (entries_.size() > listed) s += "\n  ... and " + std::to_string(entries_.size() - listed) + " more";
        return s;
    }

private:
    struct Entry {
        Kind kind;
        int tier;
        std::string line;
    };
    std::vector<Entry> entries_;
    bool architecture_ = false;  // a network's tensor is missing, unexpected or of another shape
};

using Expected = std::vector<std::pair<std::string, Dims>>;  // in the model's order

// Compares the file's tensors that `considered` selects with the expected ones.
template <class Considered>
void compare(const std::map<std::string, safetensors::TensorInfo>& in_file, const Expected& expected,
             const std::string& dtype, Considered considered, Problems& p) {
    std::map<std::string, bool> known;
    for (const auto& [name, dims] : expected) {
        known[name] = true;
        auto it = in_file.find(name);
        const std::string shown = printable(name);
        if (it == in_file.end()) {
            p.add(Problems::missing, "missing: " + shown + " " + dims_string(dims), name);
        } else if (it->second.shape != dims) {
            p.add(Problems::shape, shown + ": shape " + dims_string(it->second.shape) + " in the file, " + dims_string(dims) +
                               " in the model", name);
        } else if (it->second.dtype != dtype) {
            p.add(Problems::dtype, shown + ": dtype " + printable(it->second.dtype) + " in the file, " + dtype + " expected", name);
        }
    }
    std::vector<std::pair<std::size_t, std::string>> extra;  // by position in the file: its writer's order
    for (const auto& [name, info] : in_file)
        if (considered(name) && !known.count(name)) extra.push_back({info.begin, name});
    std::sort(extra.begin(), extra.end());
    for (const auto& [at, name] : extra)
        p.add(Problems::unexpected, "unexpected: " + printable(name) + " " + dims_string(in_file.at(name).shape), name);
}

// The first part of each tensor name ("G_A.", "optimizer."), for a hint when nothing matched.
inline std::string name_prefixes(const std::map<std::string, safetensors::TensorInfo>& in_file) {
    std::map<std::string, int> seen;
    for (const auto& [name, info] : in_file) {
        const auto dot = name.find('.');
        seen[dot == std::string::npos ? name : name.substr(0, dot + 1)]++;
    }
    std::string s;
    for (const auto& [p, n] : seen) s += (s.empty() ? "" : ", ") + printable(p);
    return s;
}

// The file must be one of ours, and not from a newer version. `where`: the file's name, printable().
CYCLEGAN_COMPILED_FUNCTION void check_format(const std::map<std::string, std::string>& meta, const std::string& where, bool require_checkpoint);
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION void check_format(const std::map<std::string, std::string>& meta, const std::string& where, bool require_checkpoint) {
    auto f = meta.find("format");
    if (f == meta.end()) {
        if (require_checkpoint)
            throw checkpoint_error(where + ": not a cyclegan checkpoint (its metadata has no 'format' entry)");
        return;  // load_network also takes plain safetensors files, e.g. weights converted from PyTorch
    }
    if (f->second != checkpoint_format && f->second != network_format)
        throw checkpoint_error(where + ": unknown format '" + printable(f->second) + "'");
    if (require_checkpoint && f->second != checkpoint_format)
        throw checkpoint_error(where + ": holds one network (written by save_network), not a training checkpoint; "
                                       "load it with load_network");
    auto v = meta.find("format_version");
    int version = 0;
    if (v == meta.end() || !parse_number(v->second, version))
        throw checkpoint_error(where + ": metadata 'format_version' is missing or not a number");
    if (version > checkpoint_format_version)
        throw checkpoint_error(where + ": written in checkpoint format " + std::to_string(version) +
                               " by a newer version; this build reads format " + std::to_string(checkpoint_format_version));
    if (version < 1) throw checkpoint_error(where + ": bad format_version " + printable(v->second));
}
#endif

// Reads metadata values, each checked: a damaged entry is an error naming the file (`where`,
// printable()) and the key.
class MetaReader {
public:
    MetaReader(const std::map<std::string, std::string>& meta, std::string where) : meta_(meta), where_(std::move(where)) {}

    const std::string& text(const std::string& key) const {
        auto it = meta_.find(key);
        if (it == meta_.end()) throw checkpoint_error(where_ + ": metadata entry '" + key + "' is missing");
        return it->second;
    }
    template <class T>
    T get(const std::string& key) const {
        const std::string& s = text(key);
        T v{};
        if (!parse_number(s, v))
            throw checkpoint_error(where_ + ": metadata entry '" + key + "' is not a number: '" + printable(s) + "'");
        return v;
    }
    // An ImagePool's random state, checked as the pool reads it.
    const std::string& rng_state(const std::string& key) const {
        const std::string& s = text(key);
        if (!image_pool_detail::parse_state(s))
            throw checkpoint_error(where_ + ": metadata entry '" + key + "' is not an image pool's random state");
        return s;
    }

private:
    const std::map<std::string, std::string>& meta_;
    std::string where_;
};

// Whether a tensor of a file belongs to the network saved under `prefix`: its name begins with the
// prefix, and it is not PyTorch's BatchNorm counter num_batches_tracked (not kept here).
inline bool is_network_tensor(const std::string& name, const std::string& prefix) {
    return name.starts_with(prefix) &&  // not another network's, nor optimizer state
           !name.ends_with(".num_batches_tracked");
}

// A network's tensors from an open file: checked, then read, then (nothing can fail) uploaded.
template <class Net>
void load_network(safetensors::LazyFile& file, Network<Net>& net, const std::string& prefix) {
    using B = typename Network<Net>::backend;
    using T = typename B::scalar;
    const std::string where = printable(file.path());
    check_format(file.metadata(), where, false);
    std::vector<Slot<B>> slots;
    add_network(slots, net, prefix);
    Expected expected;
    for (const auto& s : slots) expected.push_back({s.name, s.dims});

    auto considered = [&](const std::string& name) { return is_network_tensor(name, prefix); };
    const bool any = std::any_of(file.tensors().begin(), file.tensors().end(), [&](const auto& t) { return considered(t.first); });
    if (!any && !expected.empty())
        throw checkpoint_error(where + ": no tensor name begins with '" + printable(prefix) + "'; the file's names begin with: " +
                               name_prefixes(file.tensors()));
    Problems p;
    compare(file.tensors(), expected, safetensors::dtype_of<T>(), considered, p);
    if (!p.empty()) {
        std::string hint;
        if (prefix.empty() && p.count(Problems::missing) == expected.size() && !expected.empty())
            hint = "none of the network's tensors are in the file, whose names begin with: " + name_prefixes(file.tensors()) +
                   " (pass one as the prefix)";
        throw checkpoint_error(p.report(where, hint));
    }
    std::vector<std::vector<T>> values;
    for (const auto& s : slots) values.push_back(wrap_read([&] { return file.values<T>(s.name); }));
    for (std::size_t i = 0; i < slots.size(); ++i)
        if (!values[i].empty()) slots[i].dev->upload(values[i].data(), slots[i].tensor.data(), values[i].size());
    net.zero_grad();
}

// An image pool saved beside the model's own, under its name ("rank1.fake_A": another rank's).
template <class B>
struct NamedPool {
    std::string name;
    const ImagePool<B>* pool;
};

// The model's backend, once the model is checked: a type that does not name its state fails
// here, with this sentence as the first error.
template <class Model>
struct checked_model {
    static_assert(TrainableModel<Model>,
                  "checkpoints: the model must name its state: for_each_network, for_each_optimizer, for_each_pool, "
                  "a `backend` type and device() (models/model_state.hpp; see CycleGAN)");
    using backend = typename Model::backend;
};

// The file of save_checkpoint, with `more_pools` (other ranks') after the model's own.
template <class Model, class B>
void save(const std::filesystem::path& path, Model& model, const TrainingProgress& progress,
          const std::vector<NamedPool<B>>& more_pools) {
    auto slots = model_slots(model);
    std::map<std::string, std::string> meta;
    meta["format"] = checkpoint_format;
    meta["format_version"] = std::to_string(checkpoint_format_version);
    meta["architecture"] = fingerprint(slots);
    for_each_progress_field(progress, [&](const char* key, const auto& value) { meta[key] = number(value); });
    for (const auto& [k, v] : progress.info) meta[info_prefix + k] = v;
    model.for_each_optimizer([&](const std::string& name, auto& opt) {
        meta[optimizer_key(name, "steps")] = number(static_cast<long>(opt.steps()));
        meta[optimizer_key(name, "lr")] = number(static_cast<double>(opt.lr()));
    });
    auto add_pool = [&](const std::string& name, const ImagePool<B>& pool) {
        const auto& images = pool.images();
        for (std::size_t k = 0; k < images.size(); ++k) {
            const Shape s = images[k].shape();
            slots.push_back(Slot<B>{pool_key(name, std::to_string(k)), Dims{s.n, s.c, s.h, s.w}, images[k], &model.device()});
        }
        meta[pool_key(name, "count")] = std::to_string(images.size());
        meta[pool_key(name, "rng")] = pool.rng_state();
    };
    model.for_each_pool(add_pool);
    for (const auto& p : more_pools) add_pool(p.name, *p.pool);
    write_file_atomically(path, serialize(slots, meta));
}

// The loading of load_checkpoint for rank `rank` of a run: its pools are pool.<rank_pool_name>.*;
// when the file has none of them (a rank the saved run did not have), they start empty.
template <class Model, class B>
TrainingProgress load(const std::filesystem::path& path, Model& model, int rank) {
    using T = typename B::scalar;
    const std::string where = printable(path.string());
    auto file = open(path);
    check_format(file.metadata(), where, true);
    const MetaReader meta(file.metadata(), where);
    bool pools_saved = rank == 0;
    model.for_each_pool([&](const std::string& name, ImagePool<B>&) {
        pools_saved = pools_saved || file.metadata().count(pool_key(rank_pool_name(rank, name), "count"));
    });

    // 1. Every tensor the model fixes, and the pools' images, against the file's header.
    auto slots = model_slots(model);
    Expected expected;
    for (const auto& s : slots) expected.push_back({s.name, s.dims});
    Problems problems;
    struct PoolPlan {
        std::string name;
        ImagePool<B>* pool;
        std::size_t count;
        std::string rng;
        std::vector<std::vector<T>> images;
    };
    std::vector<PoolPlan> pools;
    if (pools_saved) model.for_each_pool([&](const std::string& own_name, ImagePool<B>& pool) {
        const std::string name = rank_pool_name(rank, own_name);
        const long count = meta.get<long>(pool_key(name, "count"));
        if (count < 0 || count > std::max(0, pool.capacity()))
            throw checkpoint_error(where + ": pool " + printable(name) + " holds " + std::to_string(count) +
                                   " images in the file, but this model's pool holds at most " +
                                   std::to_string(std::max(0, pool.capacity())));
        pools.push_back({name, &pool, static_cast<std::size_t>(count), meta.rng_state(pool_key(name, "rng")), {}});
        // Image shapes are the data's, not the model's: any [1, C, H, W], the same for the whole pool.
        const std::string first = pool_key(name, "0");
        const auto it = file.tensors().find(first);
        Dims dims = it != file.tensors().end() ? it->second.shape : Dims{};
        if (count > 0 && it != file.tensors().end() && (dims.size() != 4 || dims[0] != 1))
            problems.add(Problems::shape, printable(first) + ": shape " + dims_string(dims) + " in the file, expected [1, C, H, W]", first);
        for (long k = 0; k < count; ++k) expected.push_back({pool_key(name, std::to_string(k)), dims});
    });
    // Every tensor but the pools not read (other ranks').
    std::set<std::string> read_pools;
    for (const auto& p : pools) read_pools.insert(pool_key(p.name, ""));
    auto considered = [&](const std::string& name) {
        if (!name.starts_with(pool_prefix)) return true;
        return std::any_of(read_pools.begin(), read_pools.end(), [&](const std::string& p) { return name.starts_with(p); });
    };
    compare(file.tensors(), expected, safetensors::dtype_of<T>(), considered, problems);
    if (!problems.empty()) throw checkpoint_error(problems.report(where));

    // 2. The metadata.
    TrainingProgress progress;
    for_each_progress_field(progress, [&](const char* key, auto& value) {
        using V = std::remove_cvref_t<decltype(value)>;
        if constexpr (std::is_floating_point_v<V>)
            if (optional_progress_field(key) && !file.metadata().count(key)) {
                value = std::numeric_limits<V>::quiet_NaN();
                return;
            }
        value = meta.get<V>(key);
    });
    progress.info = info_entries(file.metadata());
    struct OptPlan {
        long steps;
        double lr;
    };
    std::vector<OptPlan> opts;
    model.for_each_optimizer([&](const std::string& name, auto&) {
        opts.push_back({meta.get<long>(optimizer_key(name, "steps")), meta.get<double>(optimizer_key(name, "lr"))});
    });

    // 3. Every value into host memory: a read error here still leaves the model untouched.
    std::vector<std::vector<T>> values;
    for (const auto& s : slots) values.push_back(wrap_read([&] { return file.values<T>(s.name); }));
    for (auto& p : pools)
        for (std::size_t k = 0; k < p.count; ++k)
            p.images.push_back(wrap_read([&] { return file.values<T>(pool_key(p.name, std::to_string(k))); }));

    // 4. Into the model; nothing below depends on the file any more.
    for (std::size_t i = 0; i < slots.size(); ++i)
        if (!values[i].empty()) slots[i].dev->upload(values[i].data(), slots[i].tensor.data(), values[i].size());
    model.for_each_network([](const std::string&, auto& net) { net.zero_grad(); });
    std::size_t o = 0;
    model.for_each_optimizer([&](const std::string&, auto& opt) {
        opt.set_steps(opts[o].steps);
        opt.set_lr(opts[o].lr);
        ++o;
    });
    if (!pools_saved) model.for_each_pool([](const std::string&, ImagePool<B>& pool) { pool.reset(); });
    for (auto& p : pools) {
        std::vector<Tensor<B>> images;
        for (std::size_t k = 0; k < p.count; ++k) {
            const auto& d = file.info(pool_key(p.name, std::to_string(k))).shape;
            const Shape s{static_cast<int>(d[0]), static_cast<int>(d[1]), static_cast<int>(d[2]), static_cast<int>(d[3])};
            images.push_back(Tensor<B>::from_host(model.device(), s, p.images[k]));
        }
        p.pool->images() = std::move(images);
        p.pool->set_rng_state(p.rng);
    }
    return progress;
}

}  // namespace checkpoint_detail

// Writes everything training depends on to `path`, replacing any previous file atomically: the
// state the model names (a TrainableModel, models/model_state.hpp; a CycleGAN) and `progress`.
template <class Model>
void save_checkpoint(const std::filesystem::path& path, Model& model, const TrainingProgress& progress) {
    using B = typename checkpoint_detail::checked_model<Model>::backend;
    checkpoint_detail::save(path, model, progress, std::vector<checkpoint_detail::NamedPool<B>>{});
}

// The same for a distributed run: every rank of `comm` calls it; the pools of every rank are
// gathered at rank 0 (comm.gather_bytes), which writes the file, each other rank's as
// pool.rank<r>.<name>.* beside its own.
template <class Model, class Comm>
void save_checkpoint(const std::filesystem::path& path, Model& model, const TrainingProgress& progress, Comm& comm) {
    namespace cd = checkpoint_detail;
    using B = typename cd::checked_model<Model>::backend;
    static_assert(requires(Comm& c, const std::string& bytes) {
        { c.rank() } -> std::convertible_to<int>;
        { c.gather_bytes(bytes, 0) } -> std::convertible_to<std::vector<std::string>>;
    }, "save_checkpoint: the communicator must have rank(), size() and gather_bytes(bytes, root) (see SingleProcess)");
    std::vector<std::unique_ptr<ImagePool<B>>> others;
    std::vector<cd::NamedPool<B>> more;
    if (comm.size() > 1)
        model.for_each_pool([&](const std::string& name, ImagePool<B>& pool) {
            const auto all = comm.gather_bytes(pool.to_bytes(model.device()), 0);  // empty but at rank 0
            for (std::size_t r = 1; r < all.size(); ++r) {
                others.push_back(std::make_unique<ImagePool<B>>(pool.capacity()));
                others.back()->from_bytes(model.device(), all[r]);
                more.push_back({cd::rank_pool_name(static_cast<int>(r), name), others.back().get()});
            }
        });
    if (comm.rank() == 0) cd::save(path, model, progress, more);
}

// Restores the model from a checkpoint and returns the progress saved with it. Checks the whole
// file first (every tensor present with the model's dims and dtype, nothing unknown, metadata
// readable); on any problem throws checkpoint_error naming the file and the differences, and the
// model is left as it was. The pools are the model's own (pool.<name>.*); other ranks' are skipped.
template <class Model>
TrainingProgress load_checkpoint(const std::filesystem::path& path, Model& model) {
    using B = typename checkpoint_detail::checked_model<Model>::backend;
    return checkpoint_detail::load<Model, B>(path, model, 0);
}

// The same on rank r of a distributed run (every rank reads the file): rank 0 takes the model's
// own pools, rank r the pool.rank<r>.* ones that save_checkpoint wrote for it; a rank the saved
// run did not have starts with empty pools.
template <class Model, class Comm>
TrainingProgress load_checkpoint(const std::filesystem::path& path, Model& model, Comm& comm) {
    using B = typename checkpoint_detail::checked_model<Model>::backend;
    static_assert(requires(const Comm& c) {
        { c.rank() } -> std::convertible_to<int>;
    }, "load_checkpoint: the third argument is the communicator whose rank() picks the pools (see SingleProcess)");
    return checkpoint_detail::load<Model, B>(path, model, comm.rank());
}

// Writes one network's parameters and buffers under `prefix` + state_dict name ("G_A." or "" for
// PyTorch's own keys), with PyTorch's dims, replacing any previous file atomically. A network that
// describes itself (a `record()` of its options, as AnyGenerator has) is recorded as `info.*`
// metadata, so that Translator::load rebuilds it from the file alone.
template <class Net>
void save_network(const std::filesystem::path& path, Network<Net>& net, const std::string& prefix = "") {
    namespace cd = checkpoint_detail;
    std::vector<cd::Slot<typename Network<Net>::backend>> slots;
    cd::add_network(slots, net, prefix);
    std::map<std::string, std::string> meta = {{"format", cd::network_format},
                                               {"format_version", std::to_string(checkpoint_format_version)},
                                               {"architecture", cd::fingerprint(slots)}};
    if constexpr (requires(const Net& n) { n.record(); })
        for (const auto& [key, value] : net.net().record()) meta[cd::info_prefix + key] = value;
    write_file_atomically(path, cd::serialize(slots, meta));
}

// Loads one network from a checkpoint (prefix "G_A.", ...), a save_network file, or plain
// safetensors weights (prefix "" for PyTorch's keys), reading only that network's bytes. Checks
// as load_checkpoint does, over the tensors whose names begin with `prefix`.
template <class Net>
void load_network(const std::filesystem::path& path, Network<Net>& net, const std::string& prefix = "") {
    auto file = checkpoint_detail::open(path);
    checkpoint_detail::load_network(file, net, prefix);
}

// The tensors of the network saved under `prefix` in an open file (names without the prefix, and
// their dims): those load_network reads.
inline std::map<std::string, std::vector<std::int64_t>> network_tensors(const safetensors::LazyFile& file,
                                                                        const std::string& prefix) {
    std::map<std::string, std::vector<std::int64_t>> out;
    for (const auto& [name, info] : file.tensors())
        if (checkpoint_detail::is_network_tensor(name, prefix)) out[name.substr(prefix.size())] = info.shape;
    return out;
}

// The same from a file already open (its bytes_read() then shows what loading touched).
template <class Net>
void load_network(safetensors::LazyFile& file, Network<Net>& net, const std::string& prefix = "") {
    checkpoint_detail::load_network(file, net, prefix);
}

}  // namespace cyclegan

// The checkpoints of the model cyclegan-train trains (backend/cpu/compiled.hpp compiles its step),
// saved and loaded by one process: compiled once, in cyclegan_kernels' io part (core/compiled.hpp).
#if defined(CYCLEGAN_COMPILED_KERNELS) && CYCLEGAN_COMPILED_KERNELS
#include "../backend/cpu/cpu.hpp"
#include "../losses/gan_loss.hpp"
#include "../models/any_model.hpp"
#include "../models/cycle_gan.hpp"

namespace cyclegan {
CYCLEGAN_DETAIL_IO_INSTANCE void save_checkpoint(const std::filesystem::path&,
                                                 CycleGAN<AnyGenerator<cpu>, AnyDiscriminator<cpu>, GANLoss>&,
                                                 const TrainingProgress&, SingleProcess&);
CYCLEGAN_DETAIL_IO_INSTANCE TrainingProgress load_checkpoint(const std::filesystem::path&,
                                                             CycleGAN<AnyGenerator<cpu>, AnyDiscriminator<cpu>, GANLoss>&,
                                                             SingleProcess&);
}  // namespace cyclegan
#endif
