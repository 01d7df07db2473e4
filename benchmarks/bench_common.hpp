// What the benchmarks share: the command-line helpers, the machine/version header every run prints
// first, timing and order statistics, JSON numbers, and the simulated workers (K evaluations always
// in flight on the dry-run dispatcher, completed in a seeded uniformly random order; K = 1 is the
// sequential loop).
// Header-only (each benchmarks/*.cpp is its own executable); standard library and fracnas headers
// only. It measures nothing by itself and models no evaluation time, noise or failure.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fracnas/app/optimizer_loop.hpp"
#include "fracnas/core/optimizer.hpp"
#include "fracnas/core/rng.hpp"

namespace fracnas::bench {

inline constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();

// ---- command line ------------------------------------------------------------------------

/// A bad command line (or "help"); main() prints it with the usage text (see usage_exit_code).
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] inline void usage(const std::string& problem) {
    throw usage_error(problem);
}

/// "a,b,,c" -> a b c (empty parts dropped).
inline std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> parts;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, ','))
        if (!part.empty()) parts.push_back(part);
    return parts;
}

/// A decimal integer of at least `min`; throws usage_error naming the flag otherwise.
inline std::uint64_t to_u64(const std::string& text, const std::string& flag, std::uint64_t min = 0) {
    if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos)
        usage(flag + " wants integers of at least " + std::to_string(min) + ", got '" + text + "'");
    const std::uint64_t v = std::stoull(text);
    if (v < min) usage(flag + " values must be at least " + std::to_string(min));
    return v;
}

/// A decimal integer in [min, max] that fits 32 bits; throws usage_error naming the flag otherwise.
inline std::uint32_t to_u32(const std::string& text, const std::string& flag, std::uint64_t min, std::uint64_t max) {
    const std::uint64_t v = to_u64(text, flag, min);
    if (v > max || v > UINT32_MAX) usage(flag + " must be at most " + std::to_string(std::min<std::uint64_t>(max, UINT32_MAX)));
    return static_cast<std::uint32_t>(v);
}

/// Calls handle(flag, value) for each "--flag value" pair of the command line; -h and --help
/// throw usage_error("help"), a flag without a value throws naming it.
template <class Handle>
void for_each_flag(int argc, char** argv, Handle&& handle) {
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "-h" || flag == "--help") usage("help");
        if (i + 1 >= argc) usage(flag + " needs a value");
        handle(flag, std::string(argv[++i]));
    }
}

/// "1,2,5-8" -> 1 2 5 6 7 8; throws usage_error naming the flag for a bad or empty list.
inline std::vector<std::uint64_t> integers(const std::string& text, const std::string& flag) {
    std::vector<std::uint64_t> values;
    for (const auto& part : bench::split(text)) {
        const auto dash = part.find('-');
        if (dash == std::string::npos) {
            values.push_back(bench::to_u64(part, flag));
            continue;
        }
        const std::uint64_t lo = bench::to_u64(part.substr(0, dash), flag);
        const std::uint64_t hi = bench::to_u64(part.substr(dash + 1), flag);
        if (hi < lo || hi - lo > 100000) usage(flag + ": bad range '" + part + "'");
        for (std::uint64_t v = lo; v <= hi; ++v) values.push_back(v);
    }
    if (values.empty()) usage(flag + " is empty");
    return values;
}

/// A finite number in [lo, hi]; throws usage_error naming the flag otherwise.
inline double to_double(const std::string& text, const std::string& flag, double lo, double hi) {
    std::size_t used = 0;
    double v = nan_value;
    try {
        v = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size() || !(v >= lo && v <= hi)) {
        char range[64];
        std::snprintf(range, sizeof range, "[%g, %g]", lo, hi);
        usage(flag + " wants a number in " + range + ", got '" + text + "'");
    }
    return v;
}

/// The exit code for a failed parse: 0 and the usage on stdout for --help, else the problem and the
/// usage on stderr and 2.
inline int usage_exit_code(const char* program, const std::exception& e, const char* usage_text) {
    const bool help = std::string(e.what()) == "help";
    if (!help) std::fprintf(stderr, "%s: %s\n", program, e.what());
    std::fprintf(help ? stdout : stderr, "%s", usage_text);
    return help ? 0 : 2;
}

// ---- machine and versions ----------------------------------------------------------------

inline std::string first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

inline std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

/// /proc/loadavg: the 1, 5 and 15-minute load averages, runnable/total tasks, last pid.
inline std::string load_average() {
    return first_line("/proc/loadavg");
}

/// Prints "machine: host | cpu | cores | compiler (optimized?, NDEBUG?) | date" and the command line:
/// the first two lines of every benchmark's output.
inline void print_header(int argc, char** argv) {
    char date[64];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
#ifdef NDEBUG
    const char* asserts = "NDEBUG";
#else
    const char* asserts = "assertions ON (not a release build)";
#endif
#ifdef __OPTIMIZE__
    const char* optimized = "optimized";
#else
    const char* optimized = "NOT optimized";
#endif
    std::printf("machine: host %s | cpu %s | %u online cores | compiler %s (%s, %s) | %s\n",
                first_line("/proc/sys/kernel/hostname").c_str(), cpu_model().c_str(), std::thread::hardware_concurrency(), __VERSION__,
                optimized, asserts, date);
    std::printf("command:");
    for (int i = 0; i < argc; ++i) std::printf(" %s", argv[i]);
    std::printf("\n");
}

// ---- timing and statistics ---------------------------------------------------------------

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// The q-quantile (0..1) of v by linear interpolation between order statistics; NaN when v is empty.
inline double quantile(std::vector<double> v, double q) {
    if (v.empty()) return nan_value;
    std::sort(v.begin(), v.end());
    const double pos = q * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

struct summary {
    double median = nan_value, min = nan_value, max = nan_value;
    double stdev = nan_value;  ///< the sample standard deviation (NaN below 2 values)
};

/// Median, min, max and standard deviation of the non-NaN values (all NaN when there are none).
inline summary summarise(std::vector<double> v) {
    v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
    summary s;
    if (v.empty()) return s;
    s.median = quantile(v, 0.5);
    s.min = *std::min_element(v.begin(), v.end());
    s.max = *std::max_element(v.begin(), v.end());
    if (v.size() >= 2) {
        double mean = 0.0, sq = 0.0;
        for (const double x : v) mean += x;
        mean /= static_cast<double>(v.size());
        for (const double x : v) sq += (x - mean) * (x - mean);
        s.stdev = std::sqrt(sq / static_cast<double>(v.size() - 1));
    }
    return s;
}

/// "%.2e", or "-" for NaN.
inline std::string number(double x) {
    if (std::isnan(x)) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2e", x);
    return buf;
}

/// A JSON number that reads back exactly, or null when not finite.
inline std::string json_number(double x) {
    if (!std::isfinite(x)) return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", x);
    return buf;
}

// ---- simulated workers -------------------------------------------------------------------

/// The seed of the completion order of a run: distinct from the optimizer's and the objective's
/// streams, and from one K to another.
inline std::uint64_t order_seed(std::uint64_t seed, std::size_t outstanding) {
    return seed * 0x9e3779b97f4a7c15ULL + 0x5851f42d4c957f2dULL * (outstanding + 1);
}

/// Drives opt to done() with `outstanding` evaluations kept in flight on simulated workers
/// (app::drive over app::simulated_workers: a dry-run dispatcher with exponential task costs, so
/// the next to finish is drawn uniformly among those in flight, from a stream seeded by `order`):
/// whenever fewer are in flight and the run has not stopped, it asks for the difference; each
/// result is told, then after_tell() runs. evaluate(task) gives the result (a failed status is
/// told as a failure). Returns the asks that came back empty (starved). Stops early, without
/// throwing, when nothing is offered and nothing is in flight.
template <class Evaluate, class AfterTell>
std::size_t drive(core::optimizer& opt, std::size_t outstanding, std::uint64_t order, Evaluate&& evaluate, AfterTell&& after_tell) {
    const auto evaluator = app::function_of([&](const core::point& x) {
        const core::result r = evaluate(core::task{0, x});
        if (r.status != core::eval_status::ok) throw std::runtime_error("the evaluation failed");
        return r.value;
    });
    const auto workers = app::simulated_workers(*evaluator, outstanding, order);
    return app::drive(opt, *workers, [&](const transport::job_result&) { after_tell(); }).starved;
}

}  // namespace fracnas::bench
