// The plain ask/dispatch/tell loop for an optimizer whose points are evaluated as they are (the
// synthetic functions of `fracnas optimize`, the tests and the benchmarks): whenever a worker
// slot is free, ask for that many points; tell each result as it arrives. With a dry-run
// dispatcher of K workers and exponential task costs this is "K evaluations in flight, the next
// to finish drawn uniformly" on a simulated clock. The GPT search has its own driver
// (search_driver.hpp) because it decodes, caches and archives.
#pragma once

#include <cstddef>
#include <functional>
#include <limits>
#include <memory>

#include "fracnas/core/optimizer.hpp"
#include "fracnas/eval/outcome.hpp"
#include "fracnas/transport/dispatcher.hpp"

namespace fracnas::app {

/// How a drive() ended.
struct drive_result {
    std::size_t starved = 0;  ///< asks that came back empty while slots were free and the run went on
    bool stalled = false;     ///< it ended early: nothing offered while nothing was in flight
};

/// Runs opt until done() through d, or until wall_seconds of real time have passed (then it stops
/// asking and waits for what is in flight), or until it stalls; on_told (may be empty) runs after
/// each tell.
drive_result drive(core::optimizer& opt, transport::dispatcher& d, const std::function<void(const transport::job_result&)>& on_told = {},
                   double wall_seconds = std::numeric_limits<double>::infinity());

/// A job evaluator over any function of the point (tests, benchmarks); a throw or a non-finite
/// value is a failed evaluation.
std::unique_ptr<eval::job_evaluator> function_of(std::function<double(const core::point&)> f);

/// The simulated workers of the optimizer studies: `outstanding` dry-run workers, exponential
/// task costs (fixed when outstanding is 1), completion order seeded by order_seed.
std::unique_ptr<transport::dispatcher> simulated_workers(eval::job_evaluator& evaluator, std::size_t outstanding, std::uint64_t order_seed);

}  // namespace fracnas::app
