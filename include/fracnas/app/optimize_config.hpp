// The configuration of one `fracnas optimize` run: which synthetic function, which algorithm with
// which overrides, the stopping rules and the progress settings, and the one place they are
// checked. Filled option by option through the schema of optimize_options.hpp (the command line,
// src/cli/, only hands over the text); it runs nothing; standard library only. Errors are
// config_error whose field is the command-line option, e.g. "--dim".
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "fracnas/core/fractal_optimizer.hpp"
#include "fracnas/core/optimizer.hpp"
#include "fracnas/eval/objectives.hpp"

namespace fracnas::app {

/// One optimizer run on a synthetic objective; the defaults are the product's embedded default
/// job (rastrigin, d = 10, soo, 10000 evaluations, seed 1). Check with validate() before use.
struct optimize_config {
    std::string function = "rastrigin";                           ///< a base objective name (eval::objective_names(): a name, eval's)
    std::size_t dim = 10;                                         ///< coordinates, in [1, eval::max_objective_dim] (typical 2..100)
    std::string algorithm = "soo";                                ///< a preset name (core::preset_names(): a name, core's)
    std::uint64_t budget = 10000;                                 ///< evaluations at most, >= 1 (typical 1e3..1e6)
    std::uint64_t seed = 1;                                       ///< seeds the function's optimum, the optimizer and the completion order
    std::uint64_t outstanding = 1;                                ///< evaluations kept in flight, 1..1,000,000 (1: sequential)
    double time_limit = std::numeric_limits<double>::infinity();  ///< wall seconds, > 0
    std::optional<double> target;                                 ///< stop once best - f* <= target (finite, typical 1e-6)
    double noise = 0.0;                                           ///< > 0 wraps the function in noisy: with this sigma
    double failure_rate = 0.0;                                    ///< > 0 wraps the function in failing:, in [0, 1]

    // Overrides of the fractal preset (not allowed with "evolution" or "random"); empty keeps the
    // preset's value. The names were read into core's enums where the options are read.
    std::optional<core::geometry_kind> geometry;          ///< how a cell splits
    std::optional<core::search_kind> search;              ///< which open cell expands next
    std::optional<core::sampler_kind> sampler;            ///< how a new cell is sampled
    std::optional<core::scoring_kind> scoring;            ///< how samples score a cell
    std::optional<core::exploitation_kind> exploitation;  ///< what happens at max depth
    std::optional<std::size_t> max_depth;                 ///< deepest level, 1..100000 (typical 5..100)
    std::optional<std::size_t> sections;                  ///< k of the k-section, 2..1000 (typical 2..5)
    std::optional<std::size_t> samples_per_cell;          ///< latin-hypercube / random samplers, 1..100000 (typical 1..10)

    std::optional<std::uint64_t> progress_every;  ///< evaluations between progress lines, >= 1 (default budget/10)
    bool quiet = false;                           ///< no progress lines

    /// Throws config_error whose field is the offending option ("--dim", "--geometry", ...) and
    /// whose message is one sentence: the names and the ranges the schema declares
    /// (optimize_options()), then the other rules; the fractal configuration is checked too (see
    /// fractal()).
    void validate() const;

    /// True when any fractal override is set.
    bool has_overrides() const;

    /// The preset's fractal configuration for (dim, budget) with the overrides applied, checked by
    /// core::validate. Throws config_error naming the option; "--algorithm" for a baseline (evolution, random).
    core::fractal_config fractal() const;

    /// The name for eval::make_objective: function, wrapped in noisy: when noise > 0, then in
    /// failing: when failure_rate > 0 (e.g. "failing:noisy:sphere").
    std::string objective_name() const;

    /// The wrapper parameters for eval::make_objective.
    eval::objective_options objective_options() const;

    /// The stopping rules for an objective whose optimum value is optimum (target is an error).
    core::stopping stopping(double optimum) const;

    /// Evaluations between progress lines: progress_every, or max(1, budget / 10).
    std::uint64_t progress_interval() const;
};

/// The command-line option that sets a configuration field named by core or eval, e.g.
/// "max_depth" -> "--max-depth", "objective.name" -> "--function"; the field itself when no option
/// sets it (e.g. "inflation") or when it already is an option.
std::string option_for_field(const std::string& field);

}  // namespace fracnas::app
