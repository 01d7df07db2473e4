// `fracnas optimize`: the Boost table of its option schema (app::optimize_options(), which reads
// every value strictly and names into enums), and the simulated asynchronous loop around the
// ask/tell optimizer. It neither validates the config (the app does) nor decides exit codes
// (cli.cpp does).
#include "optimize_command.hpp"

#include "options.hpp"

#include <chrono>
#include <cstdint>
#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <boost/program_options.hpp>

#include "fracnas/app/optimize_options.hpp"
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

// The Boost table of app::optimize_options(); a wide line so that every option, valid names
// included, stays on one line.
po::options_description optimize_options() {
    return boost_table("fracnas optimize options", app::optimize_options(), 1000, 500);
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
    read_options(vm, app::optimize_options(), request.config);
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
