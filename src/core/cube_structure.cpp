// Level arithmetic of discrete coordinates and the structured section: cells split on the
// boundaries of decoded values, along the coordinate that has most left to decide.
#include "fracnas/core/cube_structure.hpp"

#include <cmath>

#include "fracnas/error.hpp"

namespace fracnas::core {

std::uint64_t level_of(double x, std::uint64_t n) {
    const double nd = static_cast<double>(n);
    std::uint64_t k = x <= 0.0 ? 0 : static_cast<std::uint64_t>(std::floor(x * nd));
    if (k > n - 1) k = n - 1;
    // x*n can land one ulp on the wrong side of an integer; the boundaries are the quotients
    while (k + 1 < n && static_cast<double>(k + 1) / nd <= x) ++k;
    while (k > 0 && static_cast<double>(k) / nd > x) --k;
    return k;
}

std::pair<std::uint64_t, std::uint64_t> level_span(double lo, double hi, std::uint64_t n) {
    const std::uint64_t first = level_of(lo, n);
    std::uint64_t last = level_of(hi, n);
    // [lo, hi) stops short of hi: when hi is a level's lower boundary, that level is outside
    if (hi < 1.0 && last > first && static_cast<double>(last) / static_cast<double>(n) >= hi) --last;
    return {first, last};
}

double split_priority(const box& b, std::size_t i, const cube_structure& s) {
    if (!s.active(i, b)) return 0.0;
    const std::uint64_t n = s.levels(i, b);
    double share = 0.0;
    if (n == 0) {
        share = b.hi[i] - b.lo[i];
    } else if (n > 1) {
        const auto [first, last] = level_span(b.lo[i], b.hi[i], n);
        share = static_cast<double>(last - first) / static_cast<double>(n - 1);
    }
    return share > 0.0 ? share * s.weight(i) : 0.0;
}

bool same_decoded(const box& b, const point& x, const point& y, const cube_structure& s) {
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (!s.active(i, b)) continue;
        const std::uint64_t n = s.levels(i, b);
        if (n == 0 ? x[i] != y[i] : level_of(x[i], n) != level_of(y[i], n)) return false;
    }
    return true;
}

std::vector<box> structured_section(const box& b, std::size_t k, const cube_structure& s) {
    if (k < 2) throw config_error("sections", "a section needs at least 2 slices.");
    std::size_t dim = b.lo.size();
    double best = 0.0;
    for (std::size_t i = 0; i < b.lo.size(); ++i) {
        const double p = split_priority(b, i, s);
        if (p > best) {
            best = p;
            dim = i;
        }
    }
    if (dim == b.lo.size()) return {};  // one decoded point: a leaf

    std::vector<double> faces;  // the inner faces, increasing
    const std::uint64_t n = s.levels(dim, b);
    if (n == 0) {
        for (std::size_t j = 1; j < k; ++j)
            faces.push_back(b.lo[dim] + (b.hi[dim] - b.lo[dim]) * static_cast<double>(j) / static_cast<double>(k));
    } else {
        const auto [first, last] = level_span(b.lo[dim], b.hi[dim], n);
        const std::uint64_t m = last - first + 1;  // levels in b, at least 2
        const std::uint64_t parts = m < k ? m : k;
        for (std::uint64_t j = 1; j < parts; ++j) {
            // level boundaries at first + round(j m / parts): distinct and increasing as m >= parts
            const std::uint64_t level = first + (2 * j * m + parts) / (2 * parts);
            faces.push_back(static_cast<double>(level) / static_cast<double>(n));
        }
    }
    std::vector<box> children;
    children.reserve(faces.size() + 1);
    for (std::size_t j = 0; j <= faces.size(); ++j) {
        box c = b;
        if (j > 0) c.lo[dim] = faces[j - 1];
        if (j < faces.size()) c.hi[dim] = faces[j];
        children.push_back(std::move(c));
    }
    return children;
}

}  // namespace fracnas::core
