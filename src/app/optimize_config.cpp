// Checks an optimize_config once, at the boundary (the ranges through its option schema,
// optimize_options.hpp), and derives what the run needs from it (the fractal configuration, the
// objective name, the stopping rules). Every error names the command-line option. It builds no
// optimizer or objective and prints nothing.
#include "fracnas/app/optimize_config.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "fracnas/app/optimize_options.hpp"
#include "fracnas/core/presets.hpp"
#include "fracnas/error.hpp"

namespace fracnas::app {

namespace {

// Runs f; a config_error escaping it is rethrown with its field mapped to the option.
template <class F>
auto as_option_error(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const config_error& e) {
        throw config_error(option_for_field(e.field()), e.what());
    }
}

}  // namespace

std::string option_for_field(const std::string& field) {
    struct mapping {
        const char* field;
        const char* option;
    };
    static const mapping table[] = {
        {"objective.name", "--function"},
        {"objective.dim", "--dim"},
        {"dim", "--dim"},
        {"objective_options.noise_sigma", "--noise"},
        {"objective_options.failure_probability", "--failure-rate"},
        {"algorithm", "--algorithm"},
        {"budget", "--budget"},
        {"wall_seconds", "--time-limit"},
        {"target", "--target"},
        {"geometry", "--geometry"},
        {"search", "--search"},
        {"sampler", "--sampler"},
        {"scoring", "--scoring"},
        {"exploitation", "--exploitation"},
        {"max_depth", "--max-depth"},
        {"sections", "--sections"},
        {"samples_per_cell", "--samples-per-cell"},
    };
    for (const auto& m : table)
        if (field == m.field) return m.option;
    return field;
}

bool optimize_config::has_overrides() const {
    return geometry || search || sampler || scoring || exploitation || max_depth || sections || samples_per_cell;
}

core::fractal_config optimize_config::fractal() const {
    if (!core::is_fractal_preset(algorithm))
        throw config_error("--algorithm", "'" + algorithm +
                                              "' is not a fractal algorithm, so --geometry, --search, --sampler, "
                                              "--scoring, --exploitation, --max-depth, --sections and --samples-per-cell "
                                              "do not apply to it.");
    return as_option_error([&] {
        core::fractal_config cfg = core::preset_config(algorithm, dim, budget);
        if (geometry) cfg.geometry = *geometry;
        if (search) cfg.search = *search;
        if (cfg.search != core::search_kind::soo) {  // SOO's asynchronous form (docs/core.md)
            cfg.depth_quota = 0;
            cfg.exploit_idle = false;
        }
        if (sampler) cfg.sampler = *sampler;
        if (scoring) cfg.scoring = *scoring;
        if (exploitation) cfg.exploitation = *exploitation;
        if (max_depth) cfg.max_depth = *max_depth;
        if (sections) cfg.sections = *sections;
        if (samples_per_cell) cfg.samples_per_cell = *samples_per_cell;
        core::validate(cfg, dim);
        return cfg;
    });
}

void optimize_config::validate() const {
    // the names are checked when read; function and algorithm are names that a struct filled in
    // code may get wrong, so they are checked again as their options would
    optimize_config scratch;
    for (const char* name : {"function", "algorithm"}) {
        const auto* o = find_optimize_option(name);
        o->set(scratch, o->get(*this));
    }
    // the ranges the schema declares (--dim, --budget, --outstanding, --noise, ...), in its order,
    // then the rules of another form
    check_ranges(optimize_options(), *this);
    if (!(time_limit > 0.0) || std::isnan(time_limit))
        throw config_error("--time-limit", "the time limit must be a positive number of seconds.");
    if (target && !std::isfinite(*target)) throw config_error("--target", "the target error must be a finite number.");
    if (progress_every && *progress_every < 1)
        throw config_error("--progress-every", "progress lines need at least 1 evaluation between them; use --quiet to turn them off.");
    if (core::is_fractal_preset(algorithm) || has_overrides()) (void)fractal();
}

std::string optimize_config::objective_name() const {
    std::string name = function;
    if (noise > 0.0) name = "noisy:" + name;
    if (failure_rate > 0.0) name = "failing:" + name;
    return name;
}

eval::objective_options optimize_config::objective_options() const {
    eval::objective_options options;
    if (noise > 0.0) options.noise_sigma = noise;
    if (failure_rate > 0.0) options.failure_probability = failure_rate;
    return options;
}

core::stopping optimize_config::stopping(double optimum) const {
    core::stopping stop;
    stop.budget = budget;
    if (target) stop.target = optimum + *target;
    return stop;
}

std::uint64_t optimize_config::progress_interval() const {
    if (progress_every) return *progress_every;
    return std::max<std::uint64_t>(1, budget / 10);
}

}  // namespace fracnas::app
