// Test support: drive an optimizer against a function, sequentially or with K evaluations in
// flight completed in a seeded random order (simulated asynchronous workers).
#pragma once

#include <algorithm>
#include <functional>
#include <vector>

#include "fracnas/core/optimizer.hpp"
#include "fracnas/core/rng.hpp"

namespace fracnas::test {

using objective_fn = std::function<double(const core::point&)>;

/// Runs until done(); returns the number of asks that came back empty while fewer than
/// `outstanding` points were in flight and the optimizer was not stopped (starvation).
inline std::size_t drive(core::optimizer& opt, const objective_fn& f, std::size_t outstanding = 1,
                         std::uint64_t order_seed = 1) {
    core::rng order(order_seed);
    std::vector<core::task> flight;
    std::size_t starved = 0;
    while (!opt.done()) {
        if (flight.size() < outstanding && !opt.stopped()) {
            auto tasks = opt.ask(outstanding - flight.size());
            if (tasks.empty()) ++starved;
            for (auto& t : tasks) flight.push_back(std::move(t));
        }
        if (flight.empty()) break;
        const std::size_t pick = outstanding == 1 ? 0 : static_cast<std::size_t>(order.below(flight.size()));
        const core::task t = std::move(flight[pick]);
        flight.erase(flight.begin() + static_cast<std::ptrdiff_t>(pick));
        opt.tell({core::result{t.id, f(t.x)}});
    }
    return starved;
}

}  // namespace fracnas::test
