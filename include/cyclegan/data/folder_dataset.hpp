#pragma once
// Image folders as the reference lays them out: <dataroot>/trainA and trainB (testA and testB
// for the test phase), unpaired, for training; one folder of images for translation.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/compiled.hpp"
#include "../core/choice.hpp"
#include "../core/random.hpp"
#include "../core/text.hpp"
#include "../image/file.hpp"
#include "../image/image.hpp"
#include "preprocess.hpp"

namespace cyclegan {

// A dataset folder is missing, not a folder, or holds no images; the message names the folder.
struct dataset_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Whether read_image decodes files of this extension (any case): image_extensions().
inline bool is_image_file(const std::filesystem::path& p) {
    const std::string ext = image_detail::lower_extension(p);
    for (const char* e : image_extensions())
        if (ext == e) return true;
    return false;
}

namespace dataset_detail {

// "4 hidden (.DS_Store, ._a.png, .git/, ...)": a count and the first few names, printable().
inline std::string some_names(const std::vector<std::string>& names, const char* kind) {
    std::vector<std::string> first;
    for (std::size_t i = 0; i < names.size() && i < 3; ++i) first.push_back(printable(names[i]));
    return std::to_string(names.size()) + " " + kind + " (" + join(first) + (names.size() > 3 ? ", ...)" : ")");
}

}  // namespace dataset_detail

// The image files under `dir` and its subfolders (as the reference's os.walk), sorted by path,
// then cut to the first max_dataset_size. Hidden files and folders (names starting with '.':
// .DS_Store, macOS's ._* companions, .ipynb_checkpoints/, .git/) are skipped, and so are files
// whose extension is not an image's (Thumbs.db, notes.txt); when `warnings` is given it gets one
// line saying what was skipped. Throws dataset_error naming the folder when it is missing, is not
// a folder, or holds no image. Messages show names as printable() does.
CYCLEGAN_COMPILED_FUNCTION std::vector<std::filesystem::path> list_images(const std::filesystem::path& dir,
                                                                          std::vector<std::string>* warnings = nullptr,
                                                                          std::size_t max_dataset_size = SIZE_MAX);
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION std::vector<std::filesystem::path> list_images(const std::filesystem::path& dir,
                                                                          std::vector<std::string>* warnings,
                                                                          std::size_t max_dataset_size) {
    namespace fs = std::filesystem;
    const std::string where = "'" + printable(dir.string()) + "'";
    if (max_dataset_size == 0) throw std::invalid_argument("list_images: max_dataset_size must be at least 1");
    std::error_code ec;
    if (!fs::exists(dir, ec)) throw dataset_error("dataset folder " + where + " does not exist");
    if (!fs::is_directory(dir, ec)) throw dataset_error("dataset folder " + where + " is not a folder");
    std::vector<fs::path> images;
    std::vector<std::string> hidden, others;
    fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    if (ec) throw dataset_error("dataset folder " + where + ": cannot list it: " + ec.message());
    for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
        if (ec) throw dataset_error("dataset folder " + where + ": cannot list it: " + ec.message());
        const bool folder = it->is_directory(ec);
        const std::string relative = it->path().lexically_relative(dir).generic_string() + (folder ? "/" : "");
        if (it->path().filename().string().starts_with(".")) {
            hidden.push_back(relative);
            if (folder) it.disable_recursion_pending();
        } else if (!folder) {
            if (is_image_file(it->path()))
                images.push_back(it->path());
            else
                others.push_back(relative);
        }
    }
    if (ec) throw dataset_error("dataset folder " + where + ": cannot list it: " + ec.message());
    std::sort(images.begin(), images.end());
    std::sort(hidden.begin(), hidden.end());
    std::sort(others.begin(), others.end());
    std::string skipped;
    if (!hidden.empty()) skipped = dataset_detail::some_names(hidden, "hidden");
    if (!others.empty()) skipped += (skipped.empty() ? "" : ", ") + dataset_detail::some_names(others, "not images by name");
    if (images.empty())
        throw dataset_error("dataset folder " + where + " holds no image files (" + join(image_extensions()) + ")" +
                            (skipped.empty() ? std::string(": it is empty") : "; skipped " + skipped));
    if (warnings && !skipped.empty()) warnings->push_back("in " + where + ": skipped " + skipped);
    if (images.size() > max_dataset_size) images.resize(max_dataset_size);
    return images;
}
#endif

// Reads each file's header (probe_image) and, when any is not a readable image (or, with
// options, is too small for the crop), throws image_error naming each such file and why (the first
// 20, then how many more), so that training fails at its start rather than hours in, with the
// whole list to fix at once. Damage past the header shows only when the file is decoded (the
// Loader then names it).
CYCLEGAN_COMPILED_FUNCTION void validate_images(const std::vector<std::filesystem::path>& paths, const PreprocessOptions* options = nullptr);
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION void validate_images(const std::vector<std::filesystem::path>& paths, const PreprocessOptions* options) {
    std::vector<std::string> problems;
    for (const auto& p : paths) {
        try {
            const ImageInfo info = probe_image(p);
            if (options) output_size(info.width, info.height, *options, p.string());
        } catch (const image_error& e) {
            problems.push_back(e.what());
        }
    }
    if (problems.empty()) return;
    if (problems.size() == 1) throw image_error(problems.front());
    std::string message = std::to_string(problems.size()) + " of " + std::to_string(paths.size()) + " images cannot be used:";
    for (std::size_t i = 0; i < problems.size() && i < 20; ++i) message += "\n  " + problems[i];
    if (problems.size() > 20) message += "\n  ... and " + std::to_string(problems.size() - 20) + " more";
    throw image_error(message);
}
#endif

// A permutation of [0, n) chosen by `key`, evaluated one index at a time: a 4-round Feistel
// network on the smallest power-of-4 domain that holds n, cycle-walking the values that land
// outside (under 4 steps on average). The reference's DataLoader shuffles each epoch; this gives
// the same effect as a pure function of (key, i), so there is no order to store or restore.
inline std::uint64_t shuffled_index(std::uint64_t i, std::uint64_t n, std::uint64_t key) {
    if (n <= 1) return 0;
    int half = 1;
    while ((std::uint64_t{1} << (2 * half)) < n) ++half;
    const std::uint64_t mask = (std::uint64_t{1} << half) - 1;
    do {
        std::uint64_t left = i >> half, right = i & mask;
        for (std::uint64_t round = 0; round < 4; ++round) {
            const std::uint64_t next = left ^ (random_key(key, {round, right}) & mask);
            left = right;
            right = next;
        }
        i = (left << half) | right;
    } while (i >= n);
    return i;
}

// The reference's --phase, --serial_batches and --max_dataset_size.
struct DatasetOptions {
    std::string phase = "train";
    bool serial_batches = false;
    std::size_t max_dataset_size = SIZE_MAX;

    static constexpr OptionRange max_dataset_size_range{.min = 1, .integer = true};
};

// Two unpaired image folders, A and B (the reference's UnalignedDataset). An epoch has
// max(|A|, |B|) items; item i pairs an A image with a B image:
//   serial_batches: A[i % |A|] with B[i % |B|];
//   otherwise:      the epoch visits the items in a shuffled order (each A image once per epoch
//                   when |A| >= |B|) and pairs each with a B image drawn at random,
// every random choice a hash of (seed, epoch, i).
struct UnalignedDataset {
    std::vector<std::filesystem::path> A, B;
    bool serial_batches = false;

    struct Item {
        std::filesystem::path A, B;
    };

    UnalignedDataset(std::vector<std::filesystem::path> a, std::vector<std::filesystem::path> b, bool serial = false)
        : A(std::move(a)), B(std::move(b)), serial_batches(serial) {
        if (A.empty() || B.empty()) throw dataset_error("UnalignedDataset: domain " + std::string(A.empty() ? "A" : "B") + " has no images");
    }

    // <dataroot>/<phase>A and <dataroot>/<phase>B, listed in that order (a braced list is evaluated
    // left to right), so that a problem with both is reported for A.
    explicit UnalignedDataset(const std::filesystem::path& dataroot, const DatasetOptions& o = {},
                              std::vector<std::string>* warnings = nullptr)
        : UnalignedDataset{list_images(phase_dir(dataroot, o, "A"), warnings, o.max_dataset_size),
                           list_images(phase_dir(dataroot, o, "B"), warnings, o.max_dataset_size), o.serial_batches} {}

    std::size_t size() const { return std::max(A.size(), B.size()); }

    Item item(int epoch, std::size_t i, std::uint64_t seed = 0) const {
        if (i >= size())
            throw std::out_of_range("UnalignedDataset::item: index " + std::to_string(i) + " of " + std::to_string(size()));
        if (serial_batches) return {A[i % A.size()], B[i % B.size()]};
        const auto e = static_cast<std::uint64_t>(static_cast<std::int64_t>(epoch));
        const std::uint64_t j = shuffled_index(i, size(), random_key(seed, {0x5348554646ull /* "SHUFF" */, e}));
        const std::uint64_t b = random_below(random_key(seed, {0x42494E44ull /* "BIND" */, e, i}), B.size());
        return {A[j % A.size()], B[b]};
    }

    // <dataroot>/<phase><side>; dataset_error naming dataroot when it is not a folder.
    static std::filesystem::path phase_dir(const std::filesystem::path& dataroot, const DatasetOptions& o, const char* side) {
        std::error_code ec;
        if (!std::filesystem::is_directory(dataroot, ec))
            throw dataset_error("dataset folder '" + printable(dataroot.string()) + "' does not exist (expected " +
                                printable(o.phase) + "A/ and " + printable(o.phase) + "B/ in it)");
        return dataroot / (o.phase + side);
    }

    // validate_images on both domains.
    void validate(const PreprocessOptions* options = nullptr) const {
        validate_images(A, options);
        validate_images(B, options);
    }
};

// One folder of images, in sorted order (the reference's SingleDataset, for translation).
struct SingleDataset {
    std::vector<std::filesystem::path> paths;

    explicit SingleDataset(const std::filesystem::path& dir, std::size_t max_dataset_size = SIZE_MAX,
                           std::vector<std::string>* warnings = nullptr)
        : paths(list_images(dir, warnings, max_dataset_size)) {}

    std::size_t size() const { return paths.size(); }
    const std::filesystem::path& item(std::size_t i) const { return paths.at(i); }
    void validate(const PreprocessOptions* options = nullptr) const { validate_images(paths, options); }
};

}  // namespace cyclegan
