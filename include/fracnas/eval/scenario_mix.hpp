// A serving mix as one objective (issue 25): a candidate timed in several serving scenarios (a
// decode step at batch B and C cached tokens, a prefill of B x P tokens), each by its own
// evaluator, and judged by the weighted mean of its latency ratios to the reference timed in the
// same scenarios by the same worker. Standard C++ only: the scenarios' evaluators are given.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fracnas/eval/outcome.hpp"

namespace fracnas::eval {

/// One scenario of a mix: the evaluator that times it (the candidate and the reference alike) and
/// its weight (> 0).
struct mix_part {
    std::unique_ptr<job_evaluator> evaluator;
    double weight = 1.0;
};

/// A job_evaluator over several scenarios. time_reference() times the reference in every scenario
/// (r_s; a failure in one is the timing's failure, and the last good timings stay); evaluate()
/// times the candidate in every scenario (t_s; the first failure is the outcome, naming the
/// scenario) and answers value = R x sum_s w_s (t_s / r_s) / sum_s w_s with reference_ms = R =
/// sum_s w_s r_s / sum_s w_s, so that value / reference_ms, the ratio the search minimises, is
/// the weighted mean of the scenarios' ratios, each calibrated by its own reference timing;
/// scenario_ms and scenario_reference_ms keep t and r. The first scenario's decode and prefill
/// fields are the outcome's; the wall time is the sum, the peak the largest. Training goes to
/// the first scenario's evaluator, the binding is its. Throws config_error for no parts, a
/// missing evaluator or a weight that is not positive and finite.
std::unique_ptr<job_evaluator> make_scenario_mix(std::vector<mix_part> parts);

/// A mix's outcome scenario by scenario: t_s / r_s (empty for one scenario; NaN where either is
/// not a positive latency).
std::vector<double> scenario_ratios(const outcome& o);

/// " (scenarios x0.520 x0.310 x0.600)" for the reports' lines, "" for one scenario.
std::string scenario_ratio_text(const outcome& o);

}  // namespace fracnas::eval
