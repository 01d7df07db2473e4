// Optimizer overhead: the optimizer's own cost per evaluation (construction, every ask and tell, and
// destruction, divided by the evaluations), in microseconds, for each preset and random search at
// d = 10 with 1 and 256 evaluations in flight, on a zero-cost objective (value = sum of coordinates);
// a warm-up run, then repeats: median, IQR, min and max; and the peak resident memory of each cell.
// The driver (app::drive over the dry-run dispatcher, whose bookkeeping is included: 0.1-1 us per
// evaluation, docs/results/optimizer.md), statistics and machine header are bench_common.hpp's. It
// does not measure solution quality (optimizer_quality.cpp does), evaluations, real transports
// (mpi_dispatch.cpp does) or threads.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "fracnas/core/optimizer.hpp"
#include "fracnas/core/presets.hpp"

namespace {

using namespace fracnas;
using bench::usage;

struct options {
    std::vector<std::string> algorithms = core::preset_names();
    std::vector<std::uint64_t> sizes = {1000, 10000, 100000, 1000000};
    std::vector<std::size_t> outstanding = {1, 256};
    std::size_t dim = 10;
    std::size_t repeats = 5;
    double max_seconds = 60.0;  // a size whose run would take longer is skipped (predicted or measured)
    std::string json;
};

const char* const usage_text =
    "usage: optimizer_overhead [--algorithms a,b] [--sizes 1000,10000,100000,1000000]\n"
    "       [--outstanding 1,256] [--dim 10] [--repeats 5] [--max-seconds 60] [--json FILE]\n";

options parse(int argc, char** argv) {
    options opt;
    bench::for_each_flag(argc, argv, [&](const std::string& flag, const std::string& value) {
        if (flag == "--algorithms") {
            opt.algorithms = bench::split(value);
        } else if (flag == "--sizes") {
            opt.sizes.clear();
            for (const auto& s : bench::split(value)) opt.sizes.push_back(bench::to_u64(s, flag, 1));
        } else if (flag == "--outstanding") {
            opt.outstanding.clear();
            for (const auto& s : bench::split(value)) opt.outstanding.push_back(static_cast<std::size_t>(bench::to_u64(s, flag, 1)));
        } else if (flag == "--dim") {
            opt.dim = static_cast<std::size_t>(bench::to_u64(value, flag, 1));
        } else if (flag == "--repeats") {
            opt.repeats = static_cast<std::size_t>(bench::to_u64(value, flag, 1));
        } else if (flag == "--max-seconds") {
            opt.max_seconds = bench::to_double(value, flag, 1e-3, 1e6);
        } else if (flag == "--json") {
            opt.json = value;
        } else {
            usage("unknown option " + flag);
        }
    });
    if (opt.sizes.empty() || opt.outstanding.empty() || opt.algorithms.empty()) usage("empty list");
    std::sort(opt.sizes.begin(), opt.sizes.end());
    return opt;
}

long max_rss_kib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;  // KiB on Linux
}

// One timed run: construct, drive to done with `outstanding` in flight completed in a seeded
// random order (bench::drive), destroy. Returns seconds; `checksum` keeps the work observable.
double timed_run(const std::string& algorithm, std::size_t dim, std::uint64_t n, std::size_t outstanding, std::uint64_t seed,
                 double& checksum) {
    const auto start = bench::clock_type::now();
    {
        core::stopping stop;
        stop.budget = n;
        const auto opt = core::make_optimizer(algorithm, dim, seed, stop);
        bench::drive(
            *opt, outstanding, bench::order_seed(seed, outstanding),
            [](const core::task& t) {
                core::result r;
                r.id = t.id;
                for (const double v : t.x) r.value += v;  // the zero-cost objective
                return r;
            },
            [] {});
        if (opt->told() != n)
            throw std::runtime_error(algorithm + " stopped after " + std::to_string(opt->told()) + " of " + std::to_string(n) +
                                     " evaluations");
        checksum += opt->best()->value;
    }
    return bench::seconds_since(start);
}

struct cell {
    std::string algorithm;
    std::size_t outstanding = 0;
    std::uint64_t n = 0;
    std::string status = "ok";    // ok | slow (warm-up only) | skipped (predicted) | after (a smaller size stopped) | failed ...
    double warmup = 0.0;          // seconds of the warm-up run
    double predicted = 0.0;       // skipped: the seconds a run was predicted to take
    std::vector<double> seconds;  // the timed repeats
    long rss_before_kib = 0, rss_peak_kib = 0;
};

// Runs one cell in a child process, so that ru_maxrss is this cell's peak and a crash is reported.
cell measure(const options& opt, const std::string& algorithm, std::size_t outstanding, std::uint64_t n) {
    cell c{algorithm, outstanding, n, "ok", 0.0, 0.0, {}, 0, 0};
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        close(fds[0]);
        std::ostringstream msg;
        msg.precision(17);
        try {
            double checksum = 0.0;
            const long before = max_rss_kib();
            const double warm = timed_run(algorithm, opt.dim, n, outstanding, 1, checksum);
            msg << "ok " << before << " " << warm;
            if (warm <= opt.max_seconds)
                for (std::size_t r = 0; r < opt.repeats; ++r) msg << " " << timed_run(algorithm, opt.dim, n, outstanding, 2 + r, checksum);
            msg << " ; " << max_rss_kib() << " " << checksum;  // the checksum is sent, never read
        } catch (const std::exception& e) {
            msg.str("");
            msg << "failed " << e.what();
        }
        const std::string text = msg.str();
        std::size_t off = 0;
        while (off < text.size()) {
            const ssize_t w = write(fds[1], text.data() + off, text.size() - off);
            if (w <= 0) break;
            off += static_cast<std::size_t>(w);
        }
        close(fds[1]);
        _exit(0);  // not exit(): the child must not run the parent's atexit work or flush its stdio
    }
    close(fds[1]);
    std::string text;
    char buf[4096];
    ssize_t got = 0;
    while ((got = read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(got));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) {
        c.status = "failed: killed by signal " + std::to_string(WTERMSIG(status));
        return c;
    }
    std::istringstream in(text);
    std::string word;
    in >> word;
    if (word != "ok") {
        c.status = text.empty() ? "failed: no report" : text;
        return c;
    }
    in >> c.rss_before_kib >> c.warmup;
    while (in >> word && word != ";") c.seconds.push_back(std::stod(word));
    in >> c.rss_peak_kib;
    if (c.seconds.empty()) c.status = "slow";
    return c;
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    try {
        opt = parse(argc, argv);
    } catch (const std::exception& e) {  // usage_error, or a number std::sto* could not read
        return bench::usage_exit_code("optimizer_overhead", e, usage_text);
    }
    try {
        const auto start = bench::clock_type::now();
        bench::print_header(argc, argv);
        std::printf("load average at start: %s\n", bench::load_average().c_str());
        std::vector<cell> cells;
        for (const auto& algorithm : opt.algorithms)
            for (const std::size_t k : opt.outstanding) {
                double previous = 0.0;  // median seconds of the previous size
                std::uint64_t previous_n = 0;
                bool stop = false;
                for (const std::uint64_t n : opt.sizes) {
                    const double predicted = previous_n ? previous * static_cast<double>(n) / static_cast<double>(previous_n) : 0.0;
                    if (stop || predicted > opt.max_seconds) {
                        // Linear extrapolation from the previous size; larger sizes follow suit.
                        cell c{algorithm, k, n, stop ? "after" : "skipped", 0.0, predicted, {}, 0, 0};
                        cells.push_back(c);
                        std::fprintf(stderr, "[overhead] %-8s K=%-3zu n=%-8llu skipped (%s)\n", algorithm.c_str(), k,
                                     static_cast<unsigned long long>(n),
                                     stop ? "a smaller size failed or was too slow" : "predicted too slow");
                        stop = true;
                        continue;
                    }
                    cell c = measure(opt, algorithm, k, n);
                    std::fprintf(stderr, "[overhead] %-8s K=%-3zu n=%-8llu %s warm-up %.3f s\n", algorithm.c_str(), k,
                                 static_cast<unsigned long long>(n), c.status.c_str(), c.warmup);
                    if (c.status != "ok")
                        stop = true;
                    else
                        previous = bench::quantile(c.seconds, 0.5), previous_n = n;
                    cells.push_back(c);
                }
            }

        std::printf(
            "\n## Optimizer overhead per evaluation, d = %zu, microseconds (1 warm-up + %zu repeats)\n\n"
            "| algorithm | K | evaluations | median us/eval | IQR us/eval | min-max us/eval | s per run | "
            "peak RSS MiB | note |\n|---|---|---|---|---|---|---|---|---|\n",
            opt.dim, opt.repeats);
        for (const auto& c : cells) {
            std::printf("| %s | %zu | %llu |", c.algorithm.c_str(), c.outstanding, static_cast<unsigned long long>(c.n));
            if (c.status == "ok") {
                const double per = 1e6 / static_cast<double>(c.n);  // seconds per run -> us per evaluation
                auto q = [&](double at) { return bench::quantile(c.seconds, at); };
                std::printf(" %.3f | %.3f-%.3f | %.3f-%.3f | %.3f | %.1f | |\n", per * q(0.5), per * q(0.25), per * q(0.75), per * q(0.0),
                            per * q(1.0), q(0.5), static_cast<double>(c.rss_peak_kib) / 1024.0);
            } else if (c.status == "slow") {
                std::printf(" %.3f | - | - | %.1f | %.1f | warm-up only: over %.3g s |\n", 1e6 * c.warmup / static_cast<double>(c.n),
                            c.warmup, static_cast<double>(c.rss_peak_kib) / 1024.0, opt.max_seconds);
            } else if (c.status == "after") {
                std::printf(" - | - | - | - | - | skipped: a smaller size failed or was over %.3g s |\n", opt.max_seconds);
            } else if (c.status == "skipped") {
                std::printf(" - | - | - | - | - | skipped: predicted %.3g s per run (limit %.3g s) |\n", c.predicted, opt.max_seconds);
            } else {
                std::printf(" - | - | - | - | - | %s |\n", c.status.c_str());
            }
        }
        long baseline = 0;
        for (const auto& c : cells) baseline = std::max(baseline, c.rss_before_kib);
        std::printf("\npeak RSS includes the process baseline before any run: at most %.1f MiB\n", static_cast<double>(baseline) / 1024.0);
        std::printf("load average at end: %s\n", bench::load_average().c_str());

        if (!opt.json.empty()) {
            std::ofstream out(opt.json);
            if (!out) throw std::runtime_error("cannot write " + opt.json);
            out << "{\n  \"benchmark\": \"optimizer_overhead\",\n  \"compiler\": \"" << __VERSION__ << "\",\n  \"cpu\": \""
                << bench::cpu_model() << "\",\n  \"dim\": " << opt.dim << ",\n  \"cells\": [";
            for (std::size_t i = 0; i < cells.size(); ++i) {
                const auto& c = cells[i];
                out << (i ? "," : "") << "\n    {\"algorithm\": \"" << c.algorithm << "\", \"outstanding\": " << c.outstanding
                    << ", \"evaluations\": " << c.n << ", \"status\": \"" << c.status
                    << "\", \"warmup_seconds\": " << bench::json_number(c.warmup) << ", \"seconds\": [";
                for (std::size_t r = 0; r < c.seconds.size(); ++r) out << (r ? ", " : "") << bench::json_number(c.seconds[r]);
                out << "], \"peak_rss_kib\": " << c.rss_peak_kib << "}";
            }
            out << "\n  ]\n}\n";
        }
        std::printf("wall time: %.1f s\n", bench::seconds_since(start));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "optimizer_overhead: %s\n", e.what());
        return 1;
    }
    return 0;
}
