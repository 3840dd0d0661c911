#pragma once
// Line charts as inline SVG, for the training report: no plotting library, no JavaScript, and
// well-formed XML (the report is checked by an XML parser in the tests).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>
#include "../core/compiled.hpp"

namespace cyclegan::report {

struct Series {
    std::string name;
    std::string colour;        // any CSS colour
    std::vector<double> x, y;  // same length
    // Above 1: the series is drawn faint as it is and, over it, as a centred moving average of this
    // many points (a per-iteration loss is mostly noise; its trend is what a person reads).
    std::size_t smoothing = 0;
};

// The number of points a moving average of a series of n points should span: about a thirtieth
// of it, odd (centred), none below 60 points.
inline std::size_t smoothing_window(std::size_t n) { return n < 60 ? 0 : n / 30 | 1; }

inline std::string xml_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default: out += c;
        }
    }
    return out;
}

namespace detail {

inline std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

// Averages consecutive points so that a long run draws at most `max_points` per series.
inline Series thin(const Series& s, std::size_t max_points) {
    if (s.x.size() <= max_points) return s;
    Series out{s.name, s.colour, {}, {}, s.smoothing};
    const std::size_t per = (s.x.size() + max_points - 1) / max_points;
    for (std::size_t i = 0; i < s.x.size(); i += per) {
        const std::size_t end = std::min(s.x.size(), i + per);
        double sx = 0, sy = 0;
        for (std::size_t k = i; k < end; ++k) sx += s.x[k], sy += s.y[k];
        out.x.push_back(sx / double(end - i));
        out.y.push_back(sy / double(end - i));
    }
    return out;
}

// y[i] replaced by the mean of the finite values among y[i - window / 2 .. i + window / 2] (fewer
// at the ends; NaN where none is finite).
inline std::vector<double> moving_average(const std::vector<double>& y, std::size_t window) {
    const std::size_t n = y.size(), half = window / 2;
    std::vector<double> sum(n + 1, 0.0), count(n + 1, 0.0);  // prefix sums of the finite values
    for (std::size_t i = 0; i < n; ++i) {
        const bool finite = std::isfinite(y[i]);
        sum[i + 1] = sum[i] + (finite ? y[i] : 0.0);
        count[i + 1] = count[i] + (finite ? 1 : 0);
    }
    std::vector<double> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t lo = i > half ? i - half : 0, hi = std::min(n, i + half + 1);
        const double c = count[hi] - count[lo];
        out[i] = c > 0 ? (sum[hi] - sum[lo]) / c : NAN;
    }
    return out;
}

// About `count` round tick values covering [lo, hi].
inline std::vector<double> ticks(double lo, double hi, int count) {
    const double span = hi - lo;
    if (!(span > 0)) return {lo};
    const double raw = span / count, mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (raw <= m * mag) { step = m * mag; break; }
    std::vector<double> out;
    for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) out.push_back(t);
    return out;
}

}  // namespace detail

// A chart of the series against a shared x axis, with axes, ticks and a legend; a series with
// `smoothing` drawn faint and its moving average over it.
CYCLEGAN_COMPILED_FUNCTION std::string line_chart(const std::string& title, const std::vector<Series>& input, int width = 640, int height = 280);
#if !CYCLEGAN_DETAIL_DECLARATIONS_ONLY
CYCLEGAN_COMPILED_FUNCTION std::string line_chart(const std::string& title, const std::vector<Series>& input, int width, int height) {
    using detail::num;
    // Each thinned to at most 600 points; a smoothed series' average too (empty for the others).
    std::vector<Series> series, smoothed(input.size());
    for (std::size_t k = 0; k < input.size(); ++k) {
        const Series& s = input[k];
        series.push_back(detail::thin(s, 600));
        if (s.smoothing > 1) smoothed[k] = detail::thin(Series{s.name, s.colour, s.x, detail::moving_average(s.y, s.smoothing), 0}, 600);
    }
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (const auto& s : series)
        for (std::size_t i = 0; i < s.x.size(); ++i) {
            if (!std::isfinite(s.y[i])) continue;
            x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
            y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
        }
    if (!(x0 <= x1)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    if (x1 == x0) x1 = x0 + 1;
    y0 = std::min(y0, 0.0);
    if (y1 <= y0) y1 = y0 + 1;
    const double left = 48, right = 120, top = 24, bottom = 28;
    const double pw = width - left - right, ph = height - top - bottom;
    auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
    auto py = [&](double y) { return top + (1 - (y - y0) / (y1 - y0)) * ph; };

    std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
                      std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
                      "\" font-family=\"sans-serif\" font-size=\"11\">\n";
    svg += "<title>" + xml_escape(title) + "</title>\n";
    svg += "<text x=\"" + num(left) + "\" y=\"15\" font-size=\"13\">" + xml_escape(title) + "</text>\n";
    svg += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(pw) + "\" height=\"" + num(ph) +
           "\" fill=\"none\" stroke=\"#999\"/>\n";
    for (double t : detail::ticks(y0, y1, 5))
        svg += "<line x1=\"" + num(left) + "\" x2=\"" + num(left + pw) + "\" y1=\"" + num(py(t)) + "\" y2=\"" + num(py(t)) +
               "\" stroke=\"#eee\"/><text x=\"" + num(left - 4) + "\" y=\"" + num(py(t) + 4) + "\" text-anchor=\"end\">" +
               num(t) + "</text>\n";
    for (double t : detail::ticks(x0, x1, 6))
        svg += "<text x=\"" + num(px(t)) + "\" y=\"" + num(top + ph + 16) + "\" text-anchor=\"middle\">" + num(t) + "</text>\n";
    for (std::size_t k = 0; k < series.size(); ++k) {
        const auto& s = series[k];
        auto polyline = [&](const Series& line, const std::string& style) {
            std::string points;
            for (std::size_t i = 0; i < line.x.size(); ++i)
                if (std::isfinite(line.y[i])) points += num(px(line.x[i])) + "," + num(py(line.y[i])) + " ";
            svg += "<polyline fill=\"none\" " + style + " stroke=\"" + xml_escape(s.colour) + "\" points=\"" + points + "\"/>\n";
        };
        if (s.smoothing > 1) {
            polyline(s, "stroke-width=\"1\" stroke-opacity=\"0.25\"");
            polyline(smoothed[k], "stroke-width=\"2\"");
        } else {
            polyline(s, "stroke-width=\"1.5\"");
        }
        const double ly = top + 12 + 16.0 * k;
        svg += "<line x1=\"" + num(left + pw + 10) + "\" x2=\"" + num(left + pw + 28) + "\" y1=\"" + num(ly - 4) + "\" y2=\"" +
               num(ly - 4) + "\" stroke=\"" + xml_escape(s.colour) + "\" stroke-width=\"2\"/><text x=\"" + num(left + pw + 32) +
               "\" y=\"" + num(ly) + "\">" + xml_escape(s.name) + "</text>\n";
    }
    svg += "</svg>\n";
    return svg;
}
#endif

}  // namespace cyclegan::report
