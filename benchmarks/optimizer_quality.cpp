// Optimizer quality: the best error (best value - optimum) that each preset and random search reach
// on the synthetic functions at 1,000 and 10,000 evaluations, sequentially and with 16 or 256
// evaluations always in flight (completed in a seeded random order), and the share of idle-fill points.
// --mode offer measures how many points each fractal preset offers by itself (fill_idle off);
// --mode ils compares ILS presets (fda) with their step expansion set to each of --ils-expansions.
// It times nothing (optimizer_overhead.cpp does) and models no evaluation cost, noise or failure.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "bench_common.hpp"
#include "fracnas/core/fractal_optimizer.hpp"
#include "fracnas/core/optimizer.hpp"
#include "fracnas/core/presets.hpp"
#include "fracnas/eval/objectives.hpp"

namespace {

using namespace fracnas;
using bench::nan_value;
using bench::number;
using bench::summary;
using bench::usage;

// ---- command line ------------------------------------------------------------------------

struct options {
    std::string mode = "quality";  // quality | offer | ils | all (= quality and offer)
    std::vector<std::string> algorithms = core::preset_names();
    bool algorithms_given = false;
    std::vector<std::string> functions = {"sphere", "ellipsoid", "rosenbrock", "rastrigin", "ackley", "griewank"};
    bool functions_given = false;
    std::vector<std::size_t> dims = {2, 10, 30};
    bool dims_given = false;
    std::vector<std::uint64_t> seeds = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    std::vector<std::uint64_t> budgets = {1000, 10000};  // checkpoints of one run of the largest
    std::vector<std::size_t> outstanding = {1, 16, 256};
    std::vector<double> ils_expansions = {1.0, 2.0};  // --mode ils: the first is compared with the last
    std::size_t large_seeds = 0;                      // > 0: only this many seeds where K >= 256 or d >= 30
    std::string json;
};

const char* const usage_text =
    "usage: optimizer_quality [--mode quality|offer|ils|all] [--algorithms a,b] [--functions f,g]\n"
    "       [--schwefel] [--dims 2,10,30] [--seeds 1-10 | 1,2,3] [--budgets 1000,10000]\n"
    "       [--outstanding 1,16,256] [--ils-expansions 1,2] [--large-seeds N] [--json FILE]\n"
    "  --mode all runs quality and offer; --mode ils defaults to the ILS presets (fda) at --dims 10\n";

std::vector<std::size_t> sizes(const std::string& text, const std::string& flag) {
    std::vector<std::size_t> values;
    for (const auto v : bench::integers(text, flag)) {
        if (v == 0) usage(flag + " values must be at least 1");
        values.push_back(static_cast<std::size_t>(v));
    }
    return values;
}

bool uses_ils(const std::string& algorithm) {
    return algorithm != "random" && core::preset_config(algorithm, 10, 10000).exploitation == core::exploitation_kind::ils;
}

options parse(int argc, char** argv) {
    options opt;
    bool schwefel = false;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--schwefel") {
            schwefel = true;
            continue;
        }
        if (flag == "-h" || flag == "--help") usage("help");
        if (i + 1 >= argc) usage(flag + " needs a value");
        const std::string value = argv[++i];
        if (flag == "--mode")
            opt.mode = value;
        else if (flag == "--algorithms")
            opt.algorithms = bench::split(value), opt.algorithms_given = true;
        else if (flag == "--functions")
            opt.functions = bench::split(value), opt.functions_given = true;
        else if (flag == "--dims")
            opt.dims = sizes(value, flag), opt.dims_given = true;
        else if (flag == "--seeds")
            opt.seeds = bench::integers(value, flag);
        else if (flag == "--budgets")
            opt.budgets = bench::integers(value, flag);
        else if (flag == "--outstanding")
            opt.outstanding = sizes(value, flag);
        else if (flag == "--large-seeds")
            opt.large_seeds = static_cast<std::size_t>(bench::to_u64(value, flag));
        else if (flag == "--json")
            opt.json = value;
        else if (flag == "--ils-expansions") {
            opt.ils_expansions.clear();
            for (const auto& part : bench::split(value)) opt.ils_expansions.push_back(bench::to_double(part, flag, 1.0, 10.0));
            if (opt.ils_expansions.empty()) usage(flag + " is empty");
        } else
            usage("unknown option " + flag);
    }
    if (opt.mode != "quality" && opt.mode != "offer" && opt.mode != "ils" && opt.mode != "all")
        usage("--mode is quality, offer, ils or all");
    if (opt.algorithms.empty() || opt.functions.empty()) usage("empty list");
    const auto names = core::preset_names();
    for (const auto& a : opt.algorithms)
        if (std::find(names.begin(), names.end(), a) == names.end()) usage("unknown algorithm " + a);
    if (schwefel && std::find(opt.functions.begin(), opt.functions.end(), "schwefel") == opt.functions.end())
        opt.functions.push_back("schwefel");
    std::sort(opt.budgets.begin(), opt.budgets.end());
    opt.budgets.erase(std::unique(opt.budgets.begin(), opt.budgets.end()), opt.budgets.end());
    if (opt.budgets.front() == 0) usage("--budgets values must be at least 1");
    if (opt.mode == "ils") {
        if (!opt.dims_given) opt.dims = {10};
        if (!opt.algorithms_given) {
            opt.algorithms.clear();
            for (const auto& a : names)
                if (uses_ils(a)) opt.algorithms.push_back(a);
        }
        for (const auto& a : opt.algorithms)
            if (!uses_ils(a)) usage("--mode ils: " + a + " has no ILS exploitation");
    }
    return opt;
}

// ---- quality ------------------------------------------------------------------------------

// One column of the tables: a preset, possibly with its ILS step expansion overridden.
struct variant {
    std::string algorithm;
    double ils_expansion = nan_value;  // NaN: the preset's own
    std::string label;                 // "fda", or "fda x1" with the expansion overridden to 1
};

variant preset_variant(const std::string& algorithm) {
    return {algorithm, nan_value, algorithm};
}

variant expansion_variant(const std::string& algorithm, double expansion) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s x%g", algorithm.c_str(), expansion);
    return {algorithm, expansion, buf};
}

std::unique_ptr<core::optimizer> make(const variant& v, std::size_t dim, std::uint64_t seed, const core::stopping& stop) {
    if (std::isnan(v.ils_expansion)) return core::make_optimizer(v.algorithm, dim, seed, stop);
    core::fractal_config cfg = core::preset_config(v.algorithm, dim, stop.budget);
    cfg.ils_expansion = v.ils_expansion;
    return std::make_unique<core::fractal_optimizer>(dim, cfg, seed, stop, v.algorithm);
}

struct quality_run {
    std::vector<double> error;  // per checkpoint: best - optimum after that many results; NaN if never
    std::uint64_t told = 0;
    double fill_fraction = nan_value;  // fractal: idle-fill points / told
    double ils_fraction = nan_value;   // fractal: exploitation points / told
    std::size_t starved = 0;           // asks that returned nothing while < K in flight, not stopped
};

// The objective gets the same seed as the optimizer, as in `fracnas optimize --seed`: the objective
// draws its optimum from a salted stream (objectives.hpp), not from the optimizer's.
quality_run run_quality(const variant& v, const std::string& function, std::size_t dim, std::uint64_t seed, std::size_t outstanding,
                        const std::vector<std::uint64_t>& checkpoints) {
    const auto f = eval::make_objective(function, dim, seed);
    core::stopping stop;
    stop.budget = checkpoints.back();
    const auto opt = make(v, dim, seed, stop);
    quality_run run;
    run.error.assign(checkpoints.size(), nan_value);
    std::size_t next = 0;
    run.starved = bench::drive(
        *opt, outstanding, bench::order_seed(seed, outstanding), [&](const core::task& t) { return eval::evaluate(*f, t); },
        [&] {
            while (next < checkpoints.size() && opt->told() >= checkpoints[next]) {
                if (opt->best()) run.error[next] = opt->best()->value - f->optimum_value();
                ++next;
            }
        });
    run.told = opt->told();
    if (const auto* fractal = dynamic_cast<const core::fractal_optimizer*>(opt.get())) {
        const auto st = fractal->stats();
        const double told = static_cast<double>(std::max<std::uint64_t>(1, run.told));
        run.fill_fraction = static_cast<double>(st.fill_points) / told;
        run.ils_fraction = static_cast<double>(st.ils_points) / told;
    }
    return run;
}

struct quality_cell {
    variant v;
    std::string function;
    std::size_t dim = 0, outstanding = 0;
    std::vector<std::uint64_t> seeds;
    std::vector<quality_run> runs;
    std::vector<summary> error;  // per checkpoint
    summary fill, ils;
    std::size_t starved = 0, short_runs = 0;
    double seconds = 0.0;
};

std::vector<std::uint64_t> seeds_for(const options& opt, std::size_t dim, std::size_t outstanding) {
    if (opt.large_seeds == 0 || (outstanding < 256 && dim < 30) || opt.large_seeds >= opt.seeds.size()) return opt.seeds;
    return {opt.seeds.begin(), opt.seeds.begin() + static_cast<std::ptrdiff_t>(opt.large_seeds)};
}

quality_cell run_cell(const options& opt, const variant& v, const std::string& function, std::size_t dim, std::size_t k) {
    quality_cell cell;
    cell.v = v;
    cell.function = function;
    cell.dim = dim;
    cell.outstanding = k;
    cell.seeds = seeds_for(opt, dim, k);
    const auto start = bench::clock_type::now();
    for (const auto seed : cell.seeds) cell.runs.push_back(run_quality(v, function, dim, seed, k, opt.budgets));
    cell.seconds = bench::seconds_since(start);
    for (std::size_t c = 0; c < opt.budgets.size(); ++c) {
        std::vector<double> e;
        for (const auto& r : cell.runs) e.push_back(r.error[c]);
        cell.error.push_back(bench::summarise(e));
    }
    std::vector<double> fill, ils;
    for (const auto& r : cell.runs) {
        fill.push_back(r.fill_fraction);
        ils.push_back(r.ils_fraction);
        cell.starved += r.starved;
        if (r.told < opt.budgets.back()) ++cell.short_runs;
    }
    cell.fill = bench::summarise(fill);
    cell.ils = bench::summarise(ils);
    std::fprintf(stderr, "[quality] %-10s %-10s d=%-3zu K=%-3zu %zu seeds %7.2f s\n", v.label.c_str(), function.c_str(), dim, k,
                 cell.seeds.size(), cell.seconds);
    return cell;
}

// The columns of the quality tables: the presets, or in ils mode each ILS preset at each expansion.
std::vector<variant> columns(const options& opt, bool ils_mode) {
    std::vector<variant> out;
    for (const auto& a : opt.algorithms) {
        if (!ils_mode)
            out.push_back(preset_variant(a));
        else
            for (const double e : opt.ils_expansions) out.push_back(expansion_variant(a, e));
    }
    return out;
}

std::vector<quality_cell> run_quality_grid(const options& opt, const std::vector<variant>& cols) {
    std::vector<quality_cell> cells;
    for (const auto& function : opt.functions)
        for (const std::size_t dim : opt.dims)
            for (const auto& v : cols)
                for (const std::size_t k : opt.outstanding) cells.push_back(run_cell(opt, v, function, dim, k));
    return cells;
}

// ---- quality tables -----------------------------------------------------------------------

// Medians within 1% of the row's best, or both under floor_error, tie; geometric means count
// errors under floor_error as floor_error.
constexpr double floor_error = 1e-8;

class quality_index {
public:
    explicit quality_index(const std::vector<quality_cell>& cells) {
        for (const auto& c : cells) index_[{c.v.label, c.function, c.dim, c.outstanding}] = &c;
    }
    // The median error at checkpoint b, NaN if the cell was not run.
    double median(const std::string& label, const std::string& f, std::size_t d, std::size_t k, std::size_t b) const {
        const auto it = index_.find({label, f, d, k});
        return it == index_.end() ? nan_value : it->second->error[b].median;
    }

private:
    std::map<std::tuple<std::string, std::string, std::size_t, std::size_t>, const quality_cell*> index_;
};

bool ties(double m, double best) {
    return !std::isnan(m) && std::max(m, floor_error) <= 1.01 * std::max(best, floor_error);
}

// Geometric mean over function x d of median(label a, K = ka) / median(label b, K = kb).
double geometric_ratio(const options& opt, const quality_index& ix, std::size_t b, const std::string& a, std::size_t ka,
                       const std::string& base, std::size_t kb) {
    double log_sum = 0.0;
    int n = 0;
    for (const auto& f : opt.functions)
        for (const std::size_t d : opt.dims) {
            const double x = ix.median(a, f, d, ka, b), y = ix.median(base, f, d, kb, b);
            if (std::isnan(x) || std::isnan(y)) continue;
            log_sum += std::log(std::max(x, floor_error)) - std::log(std::max(y, floor_error));
            ++n;
        }
    return n ? std::exp(log_sum / n) : nan_value;
}

void print_full(const options& opt, const std::vector<quality_cell>& cells) {
    std::printf("\n## Quality: best - optimum, median [min, max] over seeds\n\n");
    std::printf("| algorithm | function | d | K |");
    for (const auto b : opt.budgets) std::printf(" error @ %llu |", static_cast<unsigned long long>(b));
    std::printf(" fill %% (median) | ILS %% (median) | seeds |\n|---|---|---|---|");
    for (std::size_t c = 0; c < opt.budgets.size(); ++c) std::printf("---|");
    std::printf("---|---|---|\n");
    auto percent = [](double x) {
        if (std::isnan(x)) return std::string("-");
        char buf[16];
        std::snprintf(buf, sizeof buf, "%.1f", 100.0 * x);
        return std::string(buf);
    };
    for (const auto& cell : cells) {
        std::printf("| %s | %s | %zu | %zu |", cell.v.label.c_str(), cell.function.c_str(), cell.dim, cell.outstanding);
        for (const auto& e : cell.error)
            std::printf(" %s [%s, %s] |", number(e.median).c_str(), number(e.min).c_str(), number(e.max).c_str());
        std::printf(" %s | %s | %zu |", percent(cell.fill.median).c_str(), percent(cell.ils.median).c_str(), cell.seeds.size());
        if (cell.starved > 0) std::printf(" STARVED %zu asks", cell.starved);
        if (cell.short_runs > 0) std::printf(" ENDED EARLY %zu runs", cell.short_runs);
        std::printf("\n");
    }
}

// Compact views, one per budget: the median error per column, K = each outstanding; then the price
// of asynchrony (each column against itself at the first K); in ils mode also each column against
// the last expansion of its preset at the same K.
void print_compact(const options& opt, const std::vector<variant>& cols, const std::vector<quality_cell>& cells, bool ils_mode) {
    const quality_index ix(cells);
    for (std::size_t b = 0; b < opt.budgets.size(); ++b) {
        const auto budget = static_cast<unsigned long long>(opt.budgets[b]);
        std::printf("\n## Median error @ %llu; each cell: K=", budget);
        for (std::size_t i = 0; i < opt.outstanding.size(); ++i) std::printf("%s%zu", i ? " / " : "", opt.outstanding[i]);
        std::printf(" (* = best of the row for that K, within 1%% or both under %.0e)\n\n| function | d |", floor_error);
        for (const auto& c : cols) std::printf(" %s |", c.label.c_str());
        std::printf("\n|---|---|");
        for (std::size_t i = 0; i < cols.size(); ++i) std::printf("---|");
        std::printf("\n");
        std::map<std::pair<std::string, std::size_t>, int> wins;  // (label, K) -> rows won
        for (const auto& f : opt.functions)
            for (const std::size_t d : opt.dims) {
                std::printf("| %s | %zu |", f.c_str(), d);
                std::vector<double> best(opt.outstanding.size(), std::numeric_limits<double>::infinity());
                for (std::size_t i = 0; i < opt.outstanding.size(); ++i)
                    for (const auto& c : cols) {
                        const double m = ix.median(c.label, f, d, opt.outstanding[i], b);
                        if (!std::isnan(m)) best[i] = std::min(best[i], m);
                    }
                for (const auto& c : cols) {
                    std::printf(" ");
                    for (std::size_t i = 0; i < opt.outstanding.size(); ++i) {
                        const double m = ix.median(c.label, f, d, opt.outstanding[i], b);
                        const bool won = ties(m, best[i]);
                        if (won) ++wins[{c.label, opt.outstanding[i]}];
                        std::printf("%s%s%s", i ? " / " : "", number(m).c_str(), won ? "*" : "");
                    }
                    std::printf(" |");
                }
                std::printf("\n");
            }

        std::printf(
            "\n## Asynchrony @ %llu: geometric mean over function x d of median error at K over median error "
            "at K=%zu (errors under %.0e count as %.0e); rows won (* above)\n\n| algorithm |",
            budget, opt.outstanding.front(), floor_error, floor_error);
        // Issue 11's measure of asynchrony: the loss at K (log10 of the ratio above) as a share of
        // the gap between random search and the column at K=1 (log10 of their geometric ratio).
        const bool gap = std::find_if(cols.begin(), cols.end(), [](const variant& v) { return v.label == "random"; }) != cols.end();
        for (const std::size_t k : opt.outstanding) std::printf(" ratio K=%zu | wins K=%zu |%s", k, k, gap ? " loss / gap |" : "");
        std::printf("\n|---|");
        for (std::size_t i = 0; i < opt.outstanding.size(); ++i) std::printf(gap ? "---|---|---|" : "---|---|");
        std::printf("\n");
        for (const auto& c : cols) {
            std::printf("| %s |", c.label.c_str());
            const std::size_t k1 = opt.outstanding.front();
            const double random_gap = std::log(geometric_ratio(opt, ix, b, "random", k1, c.label, k1));
            for (const std::size_t k : opt.outstanding) {
                const double ratio = geometric_ratio(opt, ix, b, c.label, k, c.label, k1);
                std::printf(" %s | %d |", number(ratio).c_str(), wins[{c.label, k}]);
                if (gap) {
                    char share[32];
                    std::snprintf(share, sizeof share, "%.1f%%", 100.0 * std::log(ratio) / random_gap);
                    std::printf(" %s |", c.label == "random" || !(random_gap > 0.0) ? "-" : share);
                }
            }
            std::printf("\n");
        }

        if (!ils_mode || opt.ils_expansions.size() < 2) continue;
        const double reference = opt.ils_expansions.back();
        std::printf(
            "\n## ILS expansion @ %llu: geometric mean over function x d of median error at each expansion over "
            "median error at x%g, same K (errors under %.0e count as %.0e); rows better / worse by more "
            "than 1%%\n\n| algorithm |",
            budget, reference, floor_error, floor_error);
        for (const std::size_t k : opt.outstanding) std::printf(" ratio K=%zu | better / worse K=%zu |", k, k);
        std::printf("\n|---|");
        for (std::size_t i = 0; i < opt.outstanding.size(); ++i) std::printf("---|---|");
        std::printf("\n");
        for (const auto& c : cols) {
            const std::string base = expansion_variant(c.algorithm, reference).label;
            std::printf("| %s |", c.label.c_str());
            for (const std::size_t k : opt.outstanding) {
                int better = 0, worse = 0;
                for (const auto& f : opt.functions)
                    for (const std::size_t d : opt.dims) {
                        const double x = ix.median(c.label, f, d, k, b), y = ix.median(base, f, d, k, b);
                        if (std::isnan(x) || std::isnan(y)) continue;
                        if (!ties(x, y))
                            ++worse;
                        else if (!ties(y, x))
                            ++better;
                    }
                std::printf(" %s | %d / %d |", number(geometric_ratio(opt, ix, b, c.label, k, base, k)).c_str(), better, worse);
            }
            std::printf("\n");
        }
    }
}

// The price of asynchrony in points: the share of idle-fill (and ILS) points per run, pooled over
// functions and seeds, per column, d and K.
void print_fill(const options& opt, const std::vector<variant>& cols, const std::vector<quality_cell>& cells) {
    std::printf(
        "\n## Idle-fill points / told per run, pooled over functions and seeds: median (max); ILS points / told: median\n\n"
        "| algorithm | d |");
    for (const std::size_t k : opt.outstanding) std::printf(" fill K=%zu | ILS K=%zu |", k, k);
    std::printf("\n|---|---|");
    for (std::size_t i = 0; i < opt.outstanding.size(); ++i) std::printf("---|---|");
    std::printf("\n");
    for (const auto& c : cols) {
        if (c.algorithm == "random") continue;  // not a fractal: no fill and no ILS
        for (const std::size_t d : opt.dims) {
            std::printf("| %s | %zu |", c.label.c_str(), d);
            for (const std::size_t k : opt.outstanding) {
                std::vector<double> fill, ils;
                for (const auto& cell : cells)
                    if (cell.v.label == c.label && cell.dim == d && cell.outstanding == k)
                        for (const auto& r : cell.runs) fill.push_back(r.fill_fraction), ils.push_back(r.ils_fraction);
                const summary f = bench::summarise(fill), l = bench::summarise(ils);
                if (std::isnan(f.median))
                    std::printf(" - | - |");
                else
                    std::printf(" %.1f%% (%.1f%%) | %.1f%% |", 100.0 * f.median, 100.0 * f.max, 100.0 * l.median);
            }
            std::printf("\n");
        }
    }
}

// ---- parallelism offered ------------------------------------------------------------------

// In-flight counts are sampled after every refill (one sample per result). The plain mean weighs
// every result alike; the time-weighted mean assumes evaluations of equal, memoryless duration
// (which is what completing a uniformly random in-flight task models): with n in flight the next
// result comes after 1/n time units, so the time average is the harmonic mean of the samples, and
// divided by N it is the share of N workers kept busy.
struct offer_run {
    double inflight_sum = 0.0, inverse_sum = 0.0;
    std::uint64_t inflight_samples = 0, inflight_max = 0;
    std::uint64_t asks = 0, short_asks = 0, points = 0;
    std::uint64_t told = 0;
    bool stalled = false;  // nothing offered and nothing in flight before the budget
    double error = nan_value;
};

offer_run run_offer(const std::string& algorithm, const std::string& function, std::size_t dim, std::uint64_t seed, std::size_t desired,
                    std::uint64_t budget) {
    const auto f = eval::make_objective(function, dim, seed);
    core::stopping stop;
    stop.budget = budget;
    core::fractal_config cfg = core::preset_config(algorithm, dim, budget);
    cfg.fill_idle = false;
    core::fractal_optimizer opt(dim, cfg, seed, stop, algorithm);
    // `desired` simulated workers (the dry-run dispatcher, exponential costs: the next result is a
    // uniformly random one of those in flight)
    const auto evaluator = app::function_of([&](const core::point& x) {
        const core::result r = eval::evaluate(*f, core::task{0, x});
        if (r.status != core::eval_status::ok) throw std::runtime_error("the evaluation failed");
        return r.value;
    });
    const auto pool = app::simulated_workers(*evaluator, desired, bench::order_seed(seed, desired));
    offer_run run;
    while (!opt.done()) {
        if (!opt.stopped() && pool->free_slots() > 0) {
            // Ask only for what the budget still allows, so the last asks do not count as short.
            const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(pool->free_slots(), budget - opt.asked()));
            const auto tasks = opt.ask(want);
            ++run.asks;
            run.points += tasks.size();
            if (tasks.size() < want) ++run.short_asks;
            for (const auto& t : tasks) pool->submit(transport::timing(t.id, t.x));
            const std::size_t flying = pool->in_flight();
            run.inflight_sum += static_cast<double>(flying);
            if (flying > 0) run.inverse_sum += 1.0 / static_cast<double>(flying);
            ++run.inflight_samples;
            run.inflight_max = std::max<std::uint64_t>(run.inflight_max, flying);
        }
        if (pool->in_flight() == 0) {
            run.stalled = !opt.stopped();
            break;
        }
        for (const auto& r : pool->wait(1e9)) {
            const bool ok = r.out.status == eval::outcome_status::ok;
            opt.tell({core::result{r.id, ok ? r.out.value : 0.0, ok ? core::eval_status::ok : core::eval_status::failed}});
        }
    }
    run.told = opt.told();
    if (opt.best()) run.error = opt.best()->value - f->optimum_value();
    return run;
}

struct offer_cell {
    std::string algorithm, function;
    std::size_t dim = 0, desired = 0, seeds = 0;
    double mean_inflight = 0.0, time_inflight = 0.0, short_fraction = 0.0, points_per_ask = 0.0;
    std::uint64_t max_inflight = 0, stalled = 0, min_told = 0;
    summary error;
};

std::vector<offer_cell> run_offer_grid(const options& opt) {
    std::vector<std::string> functions = opt.functions_given ? opt.functions : std::vector<std::string>{"rastrigin"};
    std::vector<offer_cell> cells;
    const std::uint64_t budget = opt.budgets.back();
    for (const auto& function : functions)
        for (const std::size_t dim : opt.dims)
            for (const auto& algorithm : opt.algorithms) {
                if (algorithm == "random") continue;  // offers anything it is asked for
                for (const std::size_t n : opt.outstanding) {
                    offer_cell cell;
                    cell.algorithm = algorithm;
                    cell.function = function;
                    cell.dim = dim;
                    cell.desired = n;
                    cell.min_told = budget;
                    double sum = 0.0, inverse = 0.0, samples = 0.0, asks = 0.0, short_asks = 0.0, points = 0.0;
                    std::vector<double> errors;
                    const auto start = bench::clock_type::now();
                    for (const auto seed : seeds_for(opt, dim, n)) {
                        const offer_run r = run_offer(algorithm, function, dim, seed, n, budget);
                        ++cell.seeds;
                        sum += r.inflight_sum;
                        inverse += r.inverse_sum;
                        samples += static_cast<double>(r.inflight_samples);
                        asks += static_cast<double>(r.asks);
                        short_asks += static_cast<double>(r.short_asks);
                        points += static_cast<double>(r.points);
                        cell.max_inflight = std::max(cell.max_inflight, r.inflight_max);
                        cell.stalled += r.stalled ? 1 : 0;
                        cell.min_told = std::min(cell.min_told, r.told);
                        errors.push_back(r.error);
                    }
                    cell.mean_inflight = samples > 0 ? sum / samples : 0.0;
                    cell.time_inflight = inverse > 0 ? samples / inverse : 0.0;
                    cell.short_fraction = asks > 0 ? short_asks / asks : 0.0;
                    cell.points_per_ask = asks > 0 ? points / asks : 0.0;
                    cell.error = bench::summarise(errors);
                    std::fprintf(stderr, "[offer] %-8s %-10s d=%-3zu N=%-3zu %7.2f s\n", algorithm.c_str(), function.c_str(), dim, n,
                                 bench::seconds_since(start));
                    cells.push_back(std::move(cell));
                }
            }
    return cells;
}

void print_offer(const options& opt, const std::vector<offer_cell>& cells) {
    std::printf(
        "\n## Parallelism offered (fill_idle = false, budget %llu): after every result, ask(N - in flight)\n\n"
        "| algorithm | function | d | N | mean in flight (per result) | time-weighted mean in flight | busy "
        "workers | max in flight | short asks | points per ask | stalled runs (fewest told) | median error | "
        "seeds |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        static_cast<unsigned long long>(opt.budgets.back()));
    for (const auto& c : cells) {
        std::string stalled = std::to_string(c.stalled);
        if (c.stalled > 0) stalled += " (" + std::to_string(c.min_told) + ")";
        std::printf("| %s | %s | %zu | %zu | %.1f | %.1f | %.1f%% | %llu | %.1f%% | %.2f | %s | %s | %zu |\n", c.algorithm.c_str(),
                    c.function.c_str(), c.dim, c.desired, c.mean_inflight, c.time_inflight,
                    100.0 * c.time_inflight / static_cast<double>(c.desired), static_cast<unsigned long long>(c.max_inflight),
                    100.0 * c.short_fraction, c.points_per_ask, stalled.c_str(), number(c.error.median).c_str(), c.seeds);
    }
}

// ---- JSON ---------------------------------------------------------------------------------

void write_json(const options& opt, const std::vector<quality_cell>& quality, const std::vector<offer_cell>& offer) {
    using bench::json_number;
    std::ofstream out(opt.json);
    if (!out) throw std::runtime_error("cannot write " + opt.json);
    out << "{\n  \"benchmark\": \"optimizer_quality\",\n  \"mode\": \"" << opt.mode << "\",\n  \"compiler\": \"" << __VERSION__
        << "\",\n  \"cpu\": \"" << bench::cpu_model() << "\",\n  \"budgets\": [";
    for (std::size_t i = 0; i < opt.budgets.size(); ++i) out << (i ? ", " : "") << opt.budgets[i];
    out << "],\n  \"quality\": [";
    for (std::size_t i = 0; i < quality.size(); ++i) {
        const auto& c = quality[i];
        out << (i ? "," : "") << "\n    {\"algorithm\": \"" << c.v.algorithm << "\", \"ils_expansion\": " << json_number(c.v.ils_expansion)
            << ", \"function\": \"" << c.function << "\", \"dim\": " << c.dim << ", \"outstanding\": " << c.outstanding << ", \"seeds\": [";
        for (std::size_t s = 0; s < c.seeds.size(); ++s) out << (s ? ", " : "") << c.seeds[s];
        out << "], \"error\": [";
        for (std::size_t s = 0; s < c.runs.size(); ++s) {
            out << (s ? ", " : "") << "[";
            for (std::size_t b = 0; b < c.runs[s].error.size(); ++b) out << (b ? ", " : "") << json_number(c.runs[s].error[b]);
            out << "]";
        }
        out << "], \"fill_fraction\": [";
        for (std::size_t s = 0; s < c.runs.size(); ++s) out << (s ? ", " : "") << json_number(c.runs[s].fill_fraction);
        out << "], \"ils_fraction\": [";
        for (std::size_t s = 0; s < c.runs.size(); ++s) out << (s ? ", " : "") << json_number(c.runs[s].ils_fraction);
        out << "], \"starved_asks\": " << c.starved << ", \"seconds\": " << json_number(c.seconds) << "}";
    }
    out << "\n  ],\n  \"offer\": [";
    for (std::size_t i = 0; i < offer.size(); ++i) {
        const auto& c = offer[i];
        out << (i ? "," : "") << "\n    {\"algorithm\": \"" << c.algorithm << "\", \"function\": \"" << c.function
            << "\", \"dim\": " << c.dim << ", \"desired\": " << c.desired << ", \"seeds\": " << c.seeds
            << ", \"mean_inflight\": " << json_number(c.mean_inflight) << ", \"time_weighted_inflight\": " << json_number(c.time_inflight)
            << ", \"max_inflight\": " << c.max_inflight << ", \"short_ask_fraction\": " << json_number(c.short_fraction)
            << ", \"points_per_ask\": " << json_number(c.points_per_ask) << ", \"stalled_runs\": " << c.stalled
            << ", \"median_error\": " << json_number(c.error.median) << "}";
    }
    out << "\n  ]\n}\n";
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    try {
        opt = parse(argc, argv);
    } catch (const std::exception& e) {  // usage_error, a number std::sto* could not read, config_error
        return bench::usage_exit_code("optimizer_quality", e, usage_text);
    }
    try {
        const auto start = bench::clock_type::now();
        bench::print_header(argc, argv);
        std::vector<quality_cell> quality;
        std::vector<offer_cell> offer;
        if (opt.mode != "offer") {
            const bool ils_mode = opt.mode == "ils";
            const auto cols = columns(opt, ils_mode);
            quality = run_quality_grid(opt, cols);
            print_full(opt, quality);
            print_compact(opt, cols, quality, ils_mode);
            print_fill(opt, cols, quality);
        }
        if (opt.mode == "offer" || opt.mode == "all") {
            offer = run_offer_grid(opt);
            print_offer(opt, offer);
        }
        if (!opt.json.empty()) write_json(opt, quality, offer);
        std::printf("\nwall time: %.1f s\n", bench::seconds_since(start));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "optimizer_quality: %s\n", e.what());
        return 1;
    }
    return 0;
}
