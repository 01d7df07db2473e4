// Summary statistics of repeated timings: median and interquartile range with the count, the
// form every latency in fracnas is reported in. Pure arithmetic: the timing itself is done by
// the evaluator (CUDA events on a GPU, a steady clock after synchronisation on a CPU).
#pragma once

#include <cstddef>
#include <vector>

namespace fracnas::eval {

/// Median, quartiles and extremes of repeated measurements, in milliseconds.
struct latency_stats {
    double median_ms = 0.0;
    double q1_ms = 0.0, q3_ms = 0.0;  ///< first and third quartiles (linear interpolation)
    double min_ms = 0.0, max_ms = 0.0;
    std::size_t repeats = 0;  ///< how many timings were summarised

    double iqr_ms() const noexcept { return q3_ms - q1_ms; }
};

/// Summarises samples (milliseconds). Throws config_error("samples") when empty or non-finite.
latency_stats summarise(std::vector<double> samples_ms);

}  // namespace fracnas::eval
