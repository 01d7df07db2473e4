// Median and quartiles of timings.
#include "fracnas/eval/latency.hpp"

#include <algorithm>
#include <cmath>

#include "fracnas/error.hpp"

namespace fracnas::eval {

namespace {
// The q-quantile of sorted values, linear between order statistics (numpy's default).
double quantile(const std::vector<double>& sorted, double q) {
    const double pos = q * static_cast<double>(sorted.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}
}  // namespace

latency_stats summarise(std::vector<double> samples_ms) {
    if (samples_ms.empty()) throw config_error("samples", "there are no timings to summarise.");
    for (double v : samples_ms)
        if (!std::isfinite(v)) throw config_error("samples", "a timing is not a finite number.");
    std::sort(samples_ms.begin(), samples_ms.end());
    latency_stats s;
    s.median_ms = quantile(samples_ms, 0.5);
    s.q1_ms = quantile(samples_ms, 0.25);
    s.q3_ms = quantile(samples_ms, 0.75);
    s.min_ms = samples_ms.front();
    s.max_ms = samples_ms.back();
    s.repeats = samples_ms.size();
    return s;
}

}  // namespace fracnas::eval
