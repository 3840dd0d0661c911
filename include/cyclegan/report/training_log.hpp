#pragma once
// The loss log: one CSV row per training iteration, appended as training goes, so a crash loses
// at most the row being written and a resumed run keeps adding to the same file.
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "../core/compiled.hpp"
#include "../core/text.hpp"

namespace cyclegan::report {

struct LossRecord {
    int epoch = 0;
    long iteration = 0;
    std::array<double, 8> losses{};  // CycleGANLosses order: D_A G_A cycle_A idt_A D_B G_B cycle_B idt_B
    double lr = 0;
    double seconds = 0;  // since the run started
};

inline constexpr const char* loss_names[8] = {"D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"};
inline constexpr const char* loss_log_header = "epoch,iteration,D_A,G_A,cycle_A,idt_A,D_B,G_B,cycle_B,idt_B,lr,seconds";

// One CSV row, in loss_log_header's order.
inline void write_row(std::ostream& out, const LossRecord& r) {
    out << r.epoch << "," << r.iteration;
    for (double l : r.losses) out << "," << l;
    out << "," << r.lr << "," << r.seconds << "\n";
}

CYCLEGAN_COMPILED_FUNCTION void append_loss_log(const std::filesystem::path& path, const LossRecord& r);
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION void append_loss_log(const std::filesystem::path& path, const LossRecord& r) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    const bool fresh = ec || size == 0;  // missing (or unreadable, and then refused below)
    std::ofstream out(path, std::ios::app);
    if (!out) throw std::runtime_error(printable(path.string()) + ": cannot open the loss log for writing");
    if (fresh) out << loss_log_header << "\n";
    write_row(out, r);
    if (!out) throw std::runtime_error(printable(path.string()) + ": writing the loss log failed");
}
#endif

CYCLEGAN_COMPILED_FUNCTION std::vector<LossRecord> read_loss_log(const std::filesystem::path& path);
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION std::vector<LossRecord> read_loss_log(const std::filesystem::path& path) {
    std::vector<LossRecord> out;
    std::ifstream in(path);
    if (!in) return out;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        std::stringstream ss(line);
        std::string cell;
        std::vector<double> v;
        while (std::getline(ss, cell, ',')) {
            try {
                v.push_back(std::stod(cell));
            } catch (const std::exception&) {
                v.push_back(std::nan(""));  // "nan" and "inf" rows of a failed run stay readable
            }
        }
        if (v.size() < 11) continue;  // a row cut by a crash
        LossRecord r;
        r.epoch = static_cast<int>(v[0]);
        r.iteration = static_cast<long>(v[1]);
        for (int k = 0; k < 8; ++k) r.losses[k] = v[2 + k];
        r.lr = v[10];
        r.seconds = v.size() > 11 ? v[11] : 0;
        out.push_back(r);
    }
    return out;
}
#endif

// Rows after `iteration` are dropped: a run resumed from an earlier checkpoint rewrites them.
CYCLEGAN_COMPILED_FUNCTION void truncate_loss_log(const std::filesystem::path& path, long iteration);
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION void truncate_loss_log(const std::filesystem::path& path, long iteration) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return;
    auto rows = read_loss_log(path);
    std::ofstream out(path, std::ios::trunc);
    out << loss_log_header << "\n";
    for (const auto& r : rows)
        if (r.iteration <= iteration) write_row(out, r);
}
#endif

}  // namespace cyclegan::report
