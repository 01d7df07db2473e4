// Test support: drive an optimizer against a function, sequentially or with K evaluations in
// flight on simulated workers (app::drive over a dry-run dispatcher: exponential task costs, so
// the next to finish is drawn uniformly, seeded).
#pragma once

#include <functional>

#include "fracnas/app/optimizer_loop.hpp"
#include "fracnas/core/optimizer.hpp"

namespace fracnas::test {

using objective_fn = std::function<double(const core::point&)>;

/// Runs until done(); returns the number of asks that came back empty while fewer than
/// `outstanding` points were in flight and the optimizer was not stopped (starvation).
inline std::size_t drive(core::optimizer& opt, const objective_fn& f, std::size_t outstanding = 1, std::uint64_t order_seed = 1) {
    const auto evaluator = app::function_of(f);
    const auto workers = app::simulated_workers(*evaluator, outstanding, order_seed);
    return app::drive(opt, *workers).starved;
}

}  // namespace fracnas::test
