#pragma once
// The pages a person looks at: the training report (loss curves, one grid of images per epoch)
// and the translation report (input beside output). Written as XHTML, so an XML parser can check
// them, with images referenced by relative paths next to the page.
#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "../io/atomic_file.hpp"
#include "../io/image.hpp"
#include "svg_plot.hpp"
#include "training_log.hpp"

namespace cyclegan::report {

// Images side by side in rows, `gap` pixels apart on white; everything shown as RGB.
inline Image make_grid(const std::vector<std::vector<Image>>& rows, int gap = 4) {
    int width = 0, height = gap;
    for (const auto& row : rows) {
        int w = gap, h = 0;
        for (const auto& img : row) w += img.width + gap, h = std::max(h, img.height);
        width = std::max(width, w);
        height += h + gap;
    }
    Image grid(width, height, 3, 255);
    int y = gap;
    for (const auto& row : rows) {
        int x = gap, h = 0;
        for (const auto& img : row) {
            for (int r = 0; r < img.height; ++r)
                for (int c = 0; c < img.width; ++c)
                    for (int k = 0; k < 3; ++k) {
                        const int src = img.channels >= 3 ? k : 0;  // gray shows as gray, alpha is dropped
                        grid.pixels[(static_cast<std::size_t>(y + r) * width + x + c) * 3 + k] =
                            img.pixels[(static_cast<std::size_t>(r) * img.width + c) * img.channels + src];
                    }
            x += img.width + gap;
            h = std::max(h, img.height);
        }
        y += h + gap;
    }
    return grid;
}

inline std::string page_start(const std::string& title) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n"
           "<html xmlns=\"http://www.w3.org/1999/xhtml\"><head><meta charset=\"UTF-8\"/><title>" +
           xml_escape(title) +
           "</title><style>body{font-family:sans-serif;margin:24px;color:#222}"
           "table{border-collapse:collapse}td,th{padding:2px 8px;text-align:center;font-weight:normal}"
           "img{image-rendering:pixelated;max-width:100%}h2{margin-top:28px}</style></head><body>\n<h1>" +
           xml_escape(title) + "</h1>\n";
}

struct EpochImages {
    int epoch;
    std::string grid;  // path relative to the page
};

// <web_dir>/index.html: the run's options, two loss charts, and the epochs' grids, newest first.
inline void write_training_report(const std::filesystem::path& web_dir, const std::string& name,
                                  const std::vector<LossRecord>& log, std::vector<EpochImages> epochs,
                                  const std::map<std::string, std::string>& options) {
    std::string html = page_start("CycleGAN: " + name);
    html += "<p>";
    for (const auto& [k, v] : options) html += xml_escape(k) + "=" + xml_escape(v) + " ";
    html += "</p>\n";
    static const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
    auto chart = [&](const std::string& title, std::initializer_list<int> which) {
        std::vector<Series> series;
        int c = 0;
        for (int k : which) {
            Series s{loss_names[k], colours[c++], {}, {}};
            for (const auto& r : log) s.x.push_back(double(r.iteration)), s.y.push_back(r.losses[k]);
            series.push_back(std::move(s));
        }
        return line_chart(title, series);
    };
    if (log.empty()) {
        html += "<p>No iterations logged yet.</p>\n";
    } else {
        html += "<h2>Losses</h2>\n<div>" + chart("Adversarial losses by iteration", {0, 1, 4, 5}) + "</div>\n<div>" +
                chart("Cycle and identity losses by iteration", {2, 3, 6, 7}) + "</div>\n";
        html += "<p>Last iteration " + std::to_string(log.back().iteration) + ", epoch " + std::to_string(log.back().epoch) +
                ", learning rate " + detail::num(log.back().lr) + ".</p>\n";
    }
    std::sort(epochs.begin(), epochs.end(), [](const auto& a, const auto& b) { return a.epoch > b.epoch; });
    for (const auto& e : epochs) {
        html += "<h2>Epoch " + std::to_string(e.epoch) + "</h2>\n<table><tr><th>real</th><th>translated</th>"
                "<th>reconstructed</th><th>identity</th></tr>\n<tr><td colspan=\"4\"><img src=\"" + xml_escape(e.grid) +
                "\" alt=\"epoch " + std::to_string(e.epoch) +
                ": top row A, G_A(A), G_B(G_A(A)), G_B(A); bottom row B, G_B(B), G_A(G_B(B)), G_A(B)\"/></td></tr></table>\n";
    }
    html += "</body></html>\n";
    write_file_atomically(web_dir / "index.html", html);
}

struct TranslationPair {
    std::string input, output;  // paths relative to the page
    std::string label;
};

inline void write_translation_report(const std::filesystem::path& page, const std::string& title,
                                     const std::vector<TranslationPair>& pairs) {
    std::string html = page_start(title);
    html += "<table><tr><th>input</th><th>output</th><th></th></tr>\n";
    for (const auto& p : pairs)
        html += "<tr><td><img src=\"" + xml_escape(p.input) + "\" alt=\"input\"/></td><td><img src=\"" + xml_escape(p.output) +
                "\" alt=\"output\"/></td><td>" + xml_escape(p.label) + "</td></tr>\n";
    html += "</table></body></html>\n";
    write_file_atomically(page, html);
}

}  // namespace cyclegan::report
