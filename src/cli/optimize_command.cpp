// `fracnas optimize`: Boost.Program_options declarations, strict number parsing (every value is
// read as a string, because Boost wraps "-5" into a huge unsigned), and the simulated
// asynchronous loop around the ask/tell optimizer. It neither validates the config (the app does)
// nor decides exit codes (cli.cpp does).
#include "optimize_command.hpp"

#include "options.hpp"
#include "parse.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <iomanip>
#include <limits>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/program_options.hpp>

#include "fracnas/app/optimizer_loop.hpp"
#include "fracnas/core/fractal_optimizer.hpp"
#include "fracnas/core/presets.hpp"
#include "fracnas/core/rng.hpp"
#include "fracnas/error.hpp"
#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/eval/objectives.hpp"

namespace fracnas::cli {

namespace po = boost::program_options;

namespace {

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

// The names of an enum, from the enumerators the public header declares, printed by to_string
// (so the help cannot drift from what the parse_* functions accept).
template <class E>
std::string names_of(std::initializer_list<E> kinds) {
    std::vector<std::string> names;
    for (E kind : kinds) names.push_back(core::to_string(kind));
    return join(names);
}

po::options_description optimize_options() {
    using core::exploitation_kind;
    using core::geometry_kind;
    using core::sampler_kind;
    using core::scoring_kind;
    using core::search_kind;
    const auto text = [](const char* name) { return po::value<std::string>()->value_name(name); };
    const std::string geometries =
        names_of({geometry_kind::k_section, geometry_kind::direct, geometry_kind::bisection, geometry_kind::hypersphere});
    const std::string searches = names_of({search_kind::breadth_first, search_kind::depth_first, search_kind::best_first,
                                           search_kind::cyclic_best_first, search_kind::beam, search_kind::epsilon_greedy,
                                           search_kind::move_up, search_kind::soo, search_kind::direct, search_kind::direct_local});
    const std::string samplers = names_of({sampler_kind::centre, sampler_kind::latin_hypercube, sampler_kind::random, sampler_kind::phs});
    const std::string scorings =
        names_of({scoring_kind::best, scoring_kind::mean, scoring_kind::median, scoring_kind::distance_to_best, scoring_kind::belief});
    const std::string exploitations = names_of({exploitation_kind::none, exploitation_kind::ils});
    const std::string max_dim = std::to_string(eval::max_objective_dim);
    const std::string functions = "function to minimise: " + join(eval::objective_names()) + " (default rastrigin)";
    const std::string algorithms = "algorithm: " + join(core::preset_names()) + " (default soo)";
    const std::string dims = "dimension, 1.." + max_dim + " (typical 2..100; default 10)";
    const std::string geometry_help = "fractal override, how a cell splits: " + geometries;
    const std::string search_help = "fractal override, which open cell expands next: " + searches;
    const std::string sampler_help = "fractal override, how a new cell is sampled: " + samplers;
    const std::string scoring_help = "fractal override, how samples score a cell: " + scorings;
    const std::string exploitation_help = "fractal override, what happens at max depth: " + exploitations;

    // A wide line so that every option, valid names included, stays on one line.
    po::options_description options("fracnas optimize options", 1000, 500);
    options.add_options()("help,h", "print this help and exit")("function", text("NAME"), functions.c_str())(
        "dim", text("D"), dims.c_str())("algorithm", text("NAME"), algorithms.c_str())(
        "budget", text("N"), "evaluations at most, >= 1 (typical 1000..1000000; default 10000)")(
        "seed", text("S"), "seeds the function's optimum, the algorithm and the completion order (default 1)")(
        "outstanding", text("K"),
        "evaluations kept in flight, completed in a seeded random order (1: sequential; typical 1..64; default 1)")(
        "time-limit", text("SECONDS"), "stop after this wall time, > 0 (typical 10..3600; default none)")(
        "target", text("VALUE"), "stop once the best error (best - f*) <= VALUE (typical 1e-6; default none)")(
        "noise", text("SIGMA"), "add SIGMA * N(0,1) to every value, the noisy: wrapper (typical 0.01..1; default 0: off)")(
        "failure-rate", text("P"), "fail each point with probability P in [0,1], the failing: wrapper (typical 0.05; default 0: off)")(
        "geometry", text("NAME"), geometry_help.c_str())("search", text("NAME"), search_help.c_str())(
        "sampler", text("NAME"), sampler_help.c_str())("scoring", text("NAME"), scoring_help.c_str())(
        "exploitation", text("NAME"), exploitation_help.c_str())("max-depth", text("N"),
                                                                 "fractal override, the deepest level, 1..100000 (typical 5..100)")(
        "sections", text("K"), "fractal override, k of the k-section, 2..1000 (typical 3)")(
        "samples-per-cell", text("N"),
        "fractal override, points per new cell of the latin-hypercube and random samplers, 1..100000 (typical 4)")(
        "progress-every", text("N"), "print a progress line every N evaluations (default budget/10)")(
        "quiet", "print no progress lines, only the summary");
    return options;
}

std::string format_general(double v, int digits) {
    std::ostringstream s;
    s << std::setprecision(digits) << v;
    return s.str();
}

std::string format_value(double v) {
    return format_general(v, 10);
}

std::string format_fixed(double v, int digits) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << v;
    return s.str();
}

std::string format_point(const core::point& x) {
    constexpr std::size_t shown = 10;
    std::ostringstream s;
    s << std::setprecision(6) << '[';
    for (std::size_t i = 0; i < x.size() && i < shown; ++i) s << (i ? ", " : "") << x[i];
    if (x.size() > shown) s << ", ...";
    s << ']';
    return s.str();
}

}  // namespace

optimize_request parse_optimize_args(const std::vector<std::string>& args) {
    const po::variables_map vm = parse_options(args, optimize_options(), "optimize", "--dim 10");

    optimize_request request;
    request.help = vm.count("help") > 0;
    app::optimize_config& c = request.config;
    const auto get = [&](const char* name) { return option_text(vm, name); };
    const auto option = [](const char* name) { return std::string("--") + name; };
    if (const auto* v = get("function")) c.function = *v;
    if (const auto* v = get("dim")) c.dim = parse_size(option("dim"), *v);
    if (const auto* v = get("algorithm")) c.algorithm = *v;
    if (const auto* v = get("budget")) c.budget = parse_count(option("budget"), *v);
    if (const auto* v = get("seed")) c.seed = parse_count(option("seed"), *v);
    if (const auto* v = get("outstanding")) c.outstanding = parse_count(option("outstanding"), *v);
    if (const auto* v = get("time-limit")) c.time_limit = parse_real(option("time-limit"), *v);
    if (const auto* v = get("target")) c.target = parse_real(option("target"), *v);
    if (const auto* v = get("noise")) c.noise = parse_real(option("noise"), *v);
    if (const auto* v = get("failure-rate")) c.failure_rate = parse_real(option("failure-rate"), *v);
    if (const auto* v = get("geometry")) c.geometry = *v;
    if (const auto* v = get("search")) c.search = *v;
    if (const auto* v = get("sampler")) c.sampler = *v;
    if (const auto* v = get("scoring")) c.scoring = *v;
    if (const auto* v = get("exploitation")) c.exploitation = *v;
    if (const auto* v = get("max-depth")) c.max_depth = parse_size(option("max-depth"), *v);
    if (const auto* v = get("sections")) c.sections = parse_size(option("sections"), *v);
    if (const auto* v = get("samples-per-cell")) c.samples_per_cell = parse_size(option("samples-per-cell"), *v);
    if (const auto* v = get("progress-every")) c.progress_every = parse_count(option("progress-every"), *v);
    c.quiet = vm.count("quiet") > 0;
    return request;
}

void print_optimize_options(std::ostream& out) {
    out << optimize_options();
}

void run_optimize(const app::optimize_config& config, std::ostream& out) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const auto seconds_since_start = [&] { return std::chrono::duration<double>(clock::now() - start).count(); };

    // Everything that can reject the configuration runs before the first line is printed.
    auto objective_owner = eval::make_objective(config.objective_name(), config.dim, config.seed, config.objective_options());
    const eval::objective& objective = *objective_owner;
    const double optimum = objective.optimum_value();
    const core::stopping stop = config.stopping(optimum);
    std::unique_ptr<core::optimizer> optimizer;
    if (!core::is_fractal_preset(config.algorithm) || !config.has_overrides())
        optimizer = core::make_optimizer(config.algorithm, config.dim, config.seed, stop);
    else  // an empty name makes the optimizer describe its overridden configuration
        optimizer = std::make_unique<core::fractal_optimizer>(config.dim, config.fractal(), config.seed, stop);

    const std::uint64_t every = config.progress_interval();
    // Simulated workers: `outstanding` in flight, the next to finish drawn uniformly from a stream
    // of its own, so that it does not perturb the optimizer's or the objective's use of the seed.
    eval::function_evaluator evaluator(std::shared_ptr<const eval::objective>(std::move(objective_owner)));
    const auto workers =
        app::simulated_workers(evaluator, static_cast<std::size_t>(config.outstanding), config.seed ^ 0x9e3779b97f4a7c15ULL);
    const auto drove = app::drive(
        *optimizer, *workers,
        [&](const transport::job_result&) {
            if (config.quiet || optimizer->told() % every != 0) return;
            const double elapsed = seconds_since_start();
            const auto& best = optimizer->best();
            out << "progress  " << optimizer->told() << "/" << config.budget << " evaluations  "
                << format_fixed(elapsed > 0.0 ? static_cast<double>(optimizer->told()) / elapsed : 0.0, 0) << " eval/s  best "
                << (best ? format_value(best->value) : "none") << "  error " << (best ? format_value(best->value - optimum) : "none")
                << "  outstanding " << optimizer->outstanding() << "  failures " << optimizer->failures() << '\n';
        },
        config.time_limit);
    if (drove.stalled) throw error("the algorithm " + optimizer->name() + " offered no point while no evaluation was in flight.");

    const double wall = seconds_since_start();
    const auto& best = optimizer->best();
    std::string reason = "time limit";
    if (best && best->value <= stop.target)
        reason = "target";
    else if (optimizer->asked() >= stop.budget)
        reason = "budget";

    out << "algorithm    " << optimizer->name() << '\n'
        << "function     " << objective.name() << '\n'
        << "dim          " << config.dim << '\n'
        << "evaluations  " << optimizer->told() << '\n'
        << "failures     " << optimizer->failures() << '\n'
        << "stopped by   " << reason << '\n'
        << "best value   " << (best ? format_value(best->value) : "none (every evaluation failed)") << '\n'
        << "best error   " << (best ? format_value(best->value - optimum) : "none") << '\n'
        << "wall time    " << format_general(wall, 3) << " s\n"
        << "best point   " << (best ? format_point(best->x) : "none") << '\n'
        << "optimum      " << format_point(objective.optimum()) << '\n';
}

}  // namespace fracnas::cli
