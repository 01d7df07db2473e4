// Dominance, non-dominated sorting and the exact hypervolume in 1-3 objectives.
#include "fracnas/core/pareto.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace fracnas::core {

namespace {

void check_lengths(const std::vector<std::vector<double>>& points, std::size_t m) {
    for (const auto& p : points)
        if (p.size() != m) throw std::invalid_argument("pareto: objective vectors differ in length");
}

// Area dominated by 2-d points (already strictly inside the reference) up to (rx, ry).
double area(std::vector<std::pair<double, double>> pts, double rx, double ry) {
    std::sort(pts.begin(), pts.end());
    double total = 0.0, lowest = ry;
    for (const auto& [x, y] : pts) {
        if (y >= lowest) continue;  // dominated by an earlier point (smaller or equal x, lower y)
        total += (rx - x) * (lowest - y);
        lowest = y;
    }
    return total;
}

}  // namespace

bool dominates(const std::vector<double>& a, const std::vector<double>& b) {
    bool better = false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i] > b[i]) return false;
        if (a[i] < b[i]) better = true;
    }
    return better;
}

std::vector<std::size_t> pareto_ranks(const std::vector<std::vector<double>>& points) {
    const std::size_t n = points.size();
    if (n == 0) return {};
    check_lengths(points, points[0].size());
    std::vector<std::vector<std::size_t>> dominated(n);  // the points each one dominates
    std::vector<std::size_t> count(n, 0), rank(n, 0), current;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i + 1; j < n; ++j) {
            if (dominates(points[i], points[j])) {
                dominated[i].push_back(j);
                ++count[j];
            } else if (dominates(points[j], points[i])) {
                dominated[j].push_back(i);
                ++count[i];
            }
        }
    for (std::size_t i = 0; i < n; ++i)
        if (count[i] == 0) current.push_back(i);
    for (std::size_t front = 0; !current.empty(); ++front) {
        std::vector<std::size_t> next;
        for (const auto i : current) {
            rank[i] = front;
            for (const auto j : dominated[i])
                if (--count[j] == 0) next.push_back(j);
        }
        current = std::move(next);
    }
    return rank;
}

std::vector<std::size_t> pareto_front(const std::vector<std::vector<double>>& points) {
    const auto rank = pareto_ranks(points);
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < rank.size(); ++i)
        if (rank[i] == 0) out.push_back(i);
    return out;
}

double hypervolume(const std::vector<std::vector<double>>& points, const std::vector<double>& reference) {
    const std::size_t m = reference.size();
    if (m < 1 || m > 3) throw std::invalid_argument("hypervolume: 1, 2 or 3 objectives, not " + std::to_string(m));
    check_lengths(points, m);
    std::vector<std::vector<double>> inside;
    for (const auto& p : points) {
        bool below = true;
        for (std::size_t i = 0; i < m; ++i) below = below && p[i] < reference[i];
        if (below) inside.push_back(p);
    }
    if (inside.empty()) return 0.0;
    if (m == 1) {
        double best = reference[0];
        for (const auto& p : inside) best = std::min(best, p[0]);
        return reference[0] - best;
    }
    if (m == 2) {
        std::vector<std::pair<double, double>> pts;
        for (const auto& p : inside) pts.emplace_back(p[0], p[1]);
        return area(std::move(pts), reference[0], reference[1]);
    }
    // 3 objectives: sweep the third upwards; between two consecutive levels the dominated slice
    // is the 2-d area of every point at or below the lower level
    std::sort(inside.begin(), inside.end(), [](const auto& a, const auto& b) { return a[2] < b[2]; });
    double total = 0.0;
    std::vector<std::pair<double, double>> below;
    for (std::size_t i = 0; i < inside.size(); ++i) {
        below.emplace_back(inside[i][0], inside[i][1]);
        const double top = i + 1 < inside.size() ? inside[i + 1][2] : reference[2];
        if (top > inside[i][2]) total += area(below, reference[0], reference[1]) * (top - inside[i][2]);
    }
    return total;
}

}  // namespace fracnas::core
