// Box and hypersphere splits and samplers for the fractal tree.
#include "fracnas/core/geometry.hpp"

#include <algorithm>
#include <cmath>

#include "fracnas/error.hpp"

namespace fracnas::core {

namespace {
double clip01(double v) {
    return std::fmin(1.0, std::fmax(0.0, v));
}
}  // namespace

point centre(const box& b) {
    point c(b.lo.size());
    for (std::size_t i = 0; i < c.size(); ++i) c[i] = 0.5 * (b.lo[i] + b.hi[i]);
    return c;
}

double half_diagonal(const box& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < b.lo.size(); ++i) s += (b.hi[i] - b.lo[i]) * (b.hi[i] - b.lo[i]);
    return 0.5 * std::sqrt(s);
}

double half_longest_side(const box& b) {
    double m = 0.0;
    for (std::size_t i = 0; i < b.lo.size(); ++i) m = std::fmax(m, b.hi[i] - b.lo[i]);
    return 0.5 * m;
}

bool contains(const box& b, const point& x) {
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (x[i] < b.lo[i]) return false;
        if (x[i] >= b.hi[i] && !(b.hi[i] >= 1.0 && x[i] <= 1.0)) return false;
    }
    return true;
}

std::vector<std::size_t> longest_dims(const box& b) {
    const double longest = 2.0 * half_longest_side(b);
    std::vector<std::size_t> dims;
    for (std::size_t i = 0; i < b.lo.size(); ++i)
        if (b.hi[i] - b.lo[i] >= longest * (1.0 - 1e-9)) dims.push_back(i);
    return dims;
}

std::vector<box> k_section(const box& b, std::size_t k) {
    if (k < 2) throw config_error("sections", "a k-section needs k >= 2 sections.");
    const std::size_t dim = longest_dims(b).front();
    const double lo = b.lo[dim], width = b.hi[dim] - b.lo[dim];
    std::vector<box> children(k, b);
    for (std::size_t j = 0; j < k; ++j) {
        children[j].lo[dim] = lo + width * static_cast<double>(j) / static_cast<double>(k);
        children[j].hi[dim] = j + 1 == k ? b.hi[dim] : lo + width * static_cast<double>(j + 1) / static_cast<double>(k);
    }
    return children;
}

std::vector<box> direct_trisection(const box& b, const std::vector<std::size_t>& dims) {
    std::vector<box> children;
    children.reserve(2 * dims.size() + 1);
    box middle = b;
    for (const std::size_t dim : dims) {
        const double lo = middle.lo[dim], hi = middle.hi[dim], third = (hi - lo) / 3.0;
        box lower = middle, upper = middle;
        lower.hi[dim] = lo + third;
        upper.lo[dim] = hi - third;
        middle.lo[dim] = lo + third;
        middle.hi[dim] = hi - third;
        children.push_back(std::move(lower));
        children.push_back(std::move(upper));
    }
    children.push_back(std::move(middle));
    return children;
}

std::vector<box> bisect_all(const box& b) {
    const std::size_t d = b.lo.size();
    if (d > 16) throw config_error("geometry", "2^d bisection is limited to d <= 16; use k-section.");
    const std::size_t n = std::size_t{1} << d;
    std::vector<box> children(n, b);
    for (std::size_t j = 0; j < n; ++j)
        for (std::size_t i = 0; i < d; ++i) {
            const double mid = 0.5 * (b.lo[i] + b.hi[i]);
            if ((j >> i) & 1U)
                children[j].lo[i] = mid;
            else
                children[j].hi[i] = mid;
        }
    return children;
}

std::vector<sphere> split_sphere(const sphere& s) {
    const double child_radius = s.radius / (1.0 + std::sqrt(2.0));
    const double offset = s.radius - child_radius;
    std::vector<sphere> children;
    children.reserve(2 * s.centre.size());
    for (std::size_t i = 0; i < s.centre.size(); ++i)
        for (const double sign : {-1.0, 1.0}) {
            sphere c{s.centre, child_radius};
            c.centre[i] += sign * offset;
            children.push_back(std::move(c));
        }
    return children;
}

std::vector<point> latin_hypercube(const box& b, std::size_t k, rng& random) {
    const std::size_t d = b.lo.size();
    std::vector<point> pts(k, point(d));
    std::vector<std::size_t> strata(k);
    for (std::size_t i = 0; i < d; ++i) {
        for (std::size_t j = 0; j < k; ++j) strata[j] = j;
        for (std::size_t j = k; j > 1; --j) std::swap(strata[j - 1], strata[random.below(j)]);
        const double width = (b.hi[i] - b.lo[i]) / static_cast<double>(k);
        for (std::size_t j = 0; j < k; ++j) pts[j][i] = b.lo[i] + width * (static_cast<double>(strata[j]) + random.uniform());
    }
    return pts;
}

point uniform_in(const box& b, rng& random) {
    point x(b.lo.size());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = b.lo[i] + (b.hi[i] - b.lo[i]) * random.uniform();
    return x;
}

point uniform_in(const sphere& s, rng& random) {
    // A Gaussian direction and a radius distributed as r * u^(1/d) give a uniform ball point.
    const std::size_t d = s.centre.size();
    point dir(d);
    double norm = 0.0;
    for (double& v : dir) {
        v = random.normal();
        norm += v * v;
    }
    norm = std::sqrt(norm);
    const double r = s.radius * std::pow(random.uniform(), 1.0 / static_cast<double>(d));
    point x(d);
    for (std::size_t i = 0; i < d; ++i) x[i] = clip01(s.centre[i] + (norm > 0 ? r * dir[i] / norm : 0.0));
    return x;
}

std::vector<point> phs_points(const sphere& s) {
    const double step = s.radius / std::sqrt(static_cast<double>(s.centre.size()));
    std::vector<point> pts(3, s.centre);
    for (std::size_t i = 0; i < s.centre.size(); ++i) {
        pts[0][i] = clip01(pts[0][i]);
        pts[1][i] = clip01(s.centre[i] + step);
        pts[2][i] = clip01(s.centre[i] - step);
    }
    return pts;
}

}  // namespace fracnas::core
