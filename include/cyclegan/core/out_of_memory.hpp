#pragma once
// Memory that could not be had, said with what it was for and how much: a std::bad_alloc, so
// code that catches that still does, whose what() reads "cannot allocate 3.8 GiB for a tensor of
// [1, 4, 16000, 16000]". Programs add the file or option that asked for it and what to change.
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

namespace cyclegan {

// "512 B", "980.0 KiB", "3.8 GiB", "2.3 PiB".
inline std::string bytes_text(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (bytes >= 1024 && u < 6) bytes /= 1024, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
    return buf;
}

class out_of_memory : public std::bad_alloc {
public:
    explicit out_of_memory(std::string message) : message_(std::move(message)) {}
    // "cannot allocate <bytes> for <what>"
    out_of_memory(const std::string& what, double bytes) : out_of_memory("cannot allocate " + bytes_text(bytes) + " for " + what) {}

    const char* what() const noexcept override { return message_.c_str(); }

    // What a std::bad_alloc says beyond itself: its message when it is one of ours, else "".
    static std::string detail(const std::bad_alloc& e) {
        return dynamic_cast<const out_of_memory*>(&e) ? e.what() : "";
    }

private:
    std::string message_;
};

}  // namespace cyclegan
