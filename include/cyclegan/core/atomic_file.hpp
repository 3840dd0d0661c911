#pragma once
// Replacing a file so that a crash, a full disk or a kill at any moment leaves either the old file
// or the new one, never a mix: write a temporary file in the same folder, flush it to the disk,
// rename it over the target (atomic on POSIX within one file system), then flush the folder so
// the rename itself survives a power cut. POSIX only (Linux, macOS).
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text.hpp"

namespace cyclegan {

// A file could not be written; the message names the file and the system's reason.
struct io_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

namespace atomic_file_detail {

[[noreturn]] inline void fail(const std::filesystem::path& target, const std::string& what, int err) {
    throw io_error(printable(target.string()) + ": " + what + ": " + std::strerror(err));
}

// fail() with errno when a system call failed; errno is read before anything else can change it.
inline void fail_if(bool failed, const std::filesystem::path& target, const char* what) {
    if (!failed) return;
    const int err = errno;
    fail(target, what, err);
}

// fsync, or on macOS F_FULLFSYNC (its fsync does not reach the platters).
inline int flush(int fd) {
#ifdef F_FULLFSYNC
    if (::fcntl(fd, F_FULLFSYNC) == 0) return 0;
#endif
    return ::fsync(fd);
}

// Closes the descriptor and removes the temporary file unless released: the error paths.
struct TempFile {
    int fd = -1;
    std::string path;
    bool keep = false;
    ~TempFile() {
        if (fd >= 0) ::close(fd);
        if (!keep && !path.empty()) ::unlink(path.c_str());
    }
};

}  // namespace atomic_file_detail

// A file written under a temporary name beside `path` and renamed over it by commit(): until then
// `path` keeps its previous content (or stays absent), and an AtomicFile destroyed uncommitted (an
// exception, Ctrl-C handled by the caller) removes its temporary file. For files too large to
// hold in memory: write() them in pieces, or hand fd() (dup it) to a library that writes itself
// (the streamed TIFF writer). Errors throw io_error naming `path` (printable()) and the reason.
class AtomicFile {
public:
    explicit AtomicFile(std::filesystem::path path) : path_(std::move(path)) {
        using atomic_file_detail::fail;
        folder_ = path_.parent_path().empty() ? std::filesystem::path(".") : path_.parent_path();
        if (path_.filename().empty()) fail(path_, "not a file name", EISDIR);
        // A unique name in the same folder (rename across file systems is not atomic). O_EXCL makes
        // two writers, or a stale file from a crash, pick another name rather than share one.
        static std::atomic<unsigned long> counter{0};
        for (int attempt = 0; tmp_.fd < 0; ++attempt) {
            const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
            std::string name = ".";  // appended piecewise: GCC 12 -O3 warns (wrongly) on a chain of operator+
            name += path_.filename().string();
            name += ".tmp-";
            name += std::to_string(::getpid());
            name += '-';
            name += std::to_string(counter++);
            name += '-';
            name += std::to_string(now % 1000000007);
            const std::string candidate = (folder_ / name).string();
            const int fd = ::open(candidate.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (fd >= 0) {
                tmp_.fd = fd;
                tmp_.path = candidate;
            } else if (const int err = errno; err != EEXIST || attempt >= 100) {
                fail(path_, "cannot create a temporary file in " + printable(folder_.string()), err);
            }
        }
    }
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    const std::filesystem::path& path() const { return path_; }
    // The temporary file's descriptor, open for reading and writing; owned by this object.
    int fd() const { return tmp_.fd; }

    // Appends `bytes` at the descriptor's position.
    void write(std::string_view bytes) {
        using atomic_file_detail::fail;
        // write() may write less than asked (signals, pipes, a disk filling up): loop until done.
        const char* p = bytes.data();
        std::size_t left = bytes.size();
        while (left > 0) {
            const ssize_t n = ::write(tmp_.fd, p, left);
            if (n < 0) {
                const int err = errno;
                if (err == EINTR) continue;
                fail(path_, "write failed", err);
            }
            if (n == 0) fail(path_, "write made no progress", EIO);
            p += n;
            left -= static_cast<std::size_t>(n);
        }
    }

    // Flushes the file to the disk and renames it over `path`; once only.
    void commit() {
        using atomic_file_detail::fail, atomic_file_detail::fail_if;
        if (tmp_.fd < 0) throw std::logic_error("AtomicFile::commit: committed already");
        fail_if(atomic_file_detail::flush(tmp_.fd) != 0, path_, "cannot flush to disk");
        const int fd = tmp_.fd;
        tmp_.fd = -1;
        fail_if(::close(fd) != 0, path_, "close failed");  // NFS reports write errors here
        fail_if(::rename(tmp_.path.c_str(), path_.c_str()) != 0, path_, "cannot rename the temporary file over it");
        tmp_.keep = true;  // it is `path` now

        // The rename lives in the folder's entry list: flush that too. Some file systems cannot
        // sync a folder (EINVAL, ENOTSUP); the data is then as safe as that file system allows.
        const int dir = ::open(folder_.c_str(), O_RDONLY | O_CLOEXEC
#ifdef O_DIRECTORY
                                                    | O_DIRECTORY
#endif
        );
        fail_if(dir < 0, path_, "written, but cannot open its folder to flush it");
        const int rc = atomic_file_detail::flush(dir);
        const int err = errno;
        ::close(dir);
        if (rc != 0 && err != EINVAL && err != ENOTSUP && err != EBADF) fail(path_, "written, but flushing its folder failed", err);
    }

private:
    std::filesystem::path path_, folder_;
    atomic_file_detail::TempFile tmp_;
};

// Replaces (or creates) `path` with `bytes`. On failure throws io_error naming `path` (printable()) and the
// reason, removes the temporary file, and leaves any previous file at `path` as it was.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
    AtomicFile file(path);
    file.write(bytes);
    file.commit();
}

// The temporary files write_file_atomically left in `folder` when its process was killed before
// it could remove them (kill -9, a power cut): ".<name>.tmp-<pid>-<n>-<n>" whose process no longer
// runs. Removes them and returns how many; files of a process still running (another program
// writing there now), symbolic links and every file not named so are left alone. Only `folder`
// itself is looked at. Processes are this machine's: on a folder shared with other hosts or
// containers (NFS), a temporary file of a writer running elsewhere would look stale.
inline std::size_t remove_stale_temporary_files(const std::filesystem::path& folder) {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::size_t removed = 0;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const auto mark = name.rfind(".tmp-");
        if (name.size() < 2 || name[0] != '.' || mark == std::string::npos || mark < 2) continue;
        // <pid>-<counter>-<time>: three runs of digits.
        const std::string tail = name.substr(mark + 5);
        long long pid = 0;
        int fields = 0;
        bool digits = false, ok = true;
        for (char c : tail) {
            if (c >= '0' && c <= '9') {
                if (fields == 0) pid = pid * 10 + (c - '0');
                if (pid > 0x7FFFFFFF) {  // no process has it: not our name
                    ok = false;
                    break;
                }
                digits = true;
            } else if (c == '-' && digits && fields < 2) {
                ++fields, digits = false;
            } else {
                ok = false;
                break;
            }
        }
        if (!ok || fields != 2 || !digits || pid <= 0 || it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
        if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
        if (fs::remove(it->path(), ec)) ++removed;
    }
    return removed;
}

}  // namespace cyclegan
