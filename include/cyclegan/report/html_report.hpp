#pragma once
// The pages a person looks at: the training report (loss curves, one grid of images per epoch)
// and the translation report (input beside output). Written as XHTML, so an XML parser can check
// them, with images referenced by relative paths next to the page. Text on a page (a title, a
// file's name, an option's value) is shown as printable() shows it (core/text.hpp), then
// XML-escaped; an image's path is percent-encoded (url_path), then XML-escaped, so that a file
// named "x#1.png" or "q?a.png" is the file the browser loads.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "../core/compiled.hpp"
#include "../core/text.hpp"
#include "../core/atomic_file.hpp"
#include "../image/image.hpp"
#include "svg_plot.hpp"
#include "training_log.hpp"

namespace cyclegan::report {

// A relative path as a URL path (RFC 3986): every byte but the unreserved ones (A-Z a-z 0-9 - . _ ~)
// and the separator '/' percent-encoded, so that '#', '?', '%', ':' and spaces in a file's name
// are read as part of the name, not as URL syntax; a name that is not UTF-8 keeps its bytes.
inline std::string url_path(std::string_view path) {
    std::string out;
    for (const char ch : path) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~' || c == '/') {
            out += ch;
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

// Text from outside (a file's name, a path, a recorded option) for a page: printable(), then
// XML-escaped.
inline std::string page_text(std::string_view s) { return xml_escape(printable(s)); }

// The src or href attribute's value for a relative path.
inline std::string page_link(std::string_view path) { return xml_escape(url_path(path)); }

// Images side by side in rows, `gap` pixels apart on white; everything shown as RGB.
CYCLEGAN_COMPILED_FUNCTION Image make_grid(const std::vector<std::vector<Image>>& rows, int gap = 4);
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION Image make_grid(const std::vector<std::vector<Image>>& rows, int gap) {
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
#endif

// The head and the title; a long title (a deep checkpoint path) wraps at any character rather
// than running off the page.
inline std::string page_start(const std::string& title) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n"
           "<html xmlns=\"http://www.w3.org/1999/xhtml\"><head><meta charset=\"UTF-8\"/><title>" +
           page_text(title) +
           "</title><style>body{font-family:sans-serif;margin:24px;color:#222;overflow-wrap:anywhere;word-break:break-word}"
           "table{border-collapse:collapse}td,th{padding:2px 8px;text-align:center;font-weight:normal}"
           "img{image-rendering:pixelated;max-width:100%}h2{margin-top:28px}</style></head><body>\n<h1>" +
           page_text(title) + "</h1>\n";
}

struct EpochImages {
    int epoch;
    std::string grid;  // path relative to the page, as on disk (encoded when written)
    int width = 0;     // the grid's width in pixels (0: unknown, shown as it is)
};

// The whole number of times a picture `width` pixels wide is shown enlarged on a page: as many as
// keep it within 768 pixels, at least 1 (the page draws the pixels as squares, not blurred, so the
// 64-pixel samples of a short run can be seen).
inline int display_scale(int width) { return width > 0 ? std::max(1, 768 / width) : 1; }

// <web_dir>/index.html: the run's options, two loss charts, and the epochs' grids, newest first.
CYCLEGAN_COMPILED_FUNCTION void write_training_report(const std::filesystem::path& web_dir, const std::string& name,
                                                      const std::vector<LossRecord>& log, std::vector<EpochImages> epochs,
                                                      const std::map<std::string, std::string>& options);
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION void write_training_report(const std::filesystem::path& web_dir, const std::string& name,
                                                      const std::vector<LossRecord>& log, std::vector<EpochImages> epochs,
                                                      const std::map<std::string, std::string>& options) {
    std::string html = page_start("CycleGAN: " + name);
    html += "<p>";
    for (const auto& [k, v] : options) html += page_text(k) + "=" + page_text(v) + " ";
    html += "</p>\n";
    static const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
    auto chart = [&](const std::string& title, std::initializer_list<int> which) {
        std::vector<Series> series;
        int c = 0;
        for (int k : which) {
            Series s{loss_names[k], colours[c++], {}, {}, smoothing_window(log.size())};
            for (const auto& r : log) s.x.push_back(double(r.iteration)), s.y.push_back(r.losses[k]);
            series.push_back(std::move(s));
        }
        return line_chart(title, series);
    };
    if (log.empty()) {
        html += "<p>No iterations logged yet.</p>\n";
    } else {
        html += "<h2>Losses</h2>\n";
        if (const std::size_t window = smoothing_window(log.size()))
            html += "<p>Faint: each logged iteration; solid: the mean of " + std::to_string(window) + " around it.</p>\n";
        html += "<div>" + chart("Adversarial losses by iteration", {0, 1, 4, 5}) + "</div>\n<div>" +
                chart("Cycle and identity losses by iteration", {2, 3, 6, 7}) + "</div>\n";
        html += "<p>Last iteration " + std::to_string(log.back().iteration) + ", epoch " + std::to_string(log.back().epoch) +
                ", learning rate " + detail::num(log.back().lr) + ".</p>\n";
    }
    std::sort(epochs.begin(), epochs.end(), [](const auto& a, const auto& b) { return a.epoch > b.epoch; });
    for (const auto& e : epochs) {
        html += "<h2>Epoch " + std::to_string(e.epoch) + "</h2>\n<table><tr><th>real</th><th>translated</th>"
                "<th>reconstructed</th><th>identity</th></tr>\n<tr><td colspan=\"4\"><img src=\"" + page_link(e.grid) + "\"" +
                (e.width > 0 ? " width=\"" + std::to_string(e.width * display_scale(e.width)) + "\"" : std::string()) +
                " alt=\"epoch " + std::to_string(e.epoch) +
                ": top row A, G_A(A), G_B(G_A(A)), G_B(A); bottom row B, G_B(B), G_A(G_B(B)), G_A(B)\"/></td></tr></table>\n";
    }
    html += "</body></html>\n";
    write_file_atomically(web_dir / "index.html", html);
}
#endif

struct TranslationPair {
    std::string input, output;  // paths relative to the page, as on disk (encoded when written)
    std::string label;          // shown as printable() shows it
};

CYCLEGAN_COMPILED_FUNCTION void write_translation_report(const std::filesystem::path& page, const std::string& title,
                                                         const std::vector<TranslationPair>& pairs);
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION void write_translation_report(const std::filesystem::path& page, const std::string& title,
                                                         const std::vector<TranslationPair>& pairs) {
    std::string html = page_start(title);
    html += "<table><tr><th>input</th><th>output</th><th></th></tr>\n";
    for (const auto& p : pairs)
        html += "<tr><td><img src=\"" + page_link(p.input) + "\" alt=\"input\"/></td><td><img src=\"" + page_link(p.output) +
                "\" alt=\"output\"/></td><td>" + page_text(p.label) + "</td></tr>\n";
    html += "</table></body></html>\n";
    write_file_atomically(page, html);
}
#endif

}  // namespace cyclegan::report
