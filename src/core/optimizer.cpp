// Shared ask/tell bookkeeping: ids, outstanding points, stopping rules, best result.
#include "fracnas/core/optimizer.hpp"

#include <cmath>
#include <string>

#include "fracnas/error.hpp"

namespace fracnas::core {

namespace {
constexpr std::uint8_t outstanding_state = 1;
constexpr std::uint8_t told_state = 2;
}  // namespace

optimizer::optimizer(std::size_t dim, stopping stop) : dim_(dim), stop_(stop) {
    if (dim == 0) throw config_error("dim", "the dimension must be at least 1.");
    if (stop.budget == 0) throw config_error("budget", "the evaluation budget must be at least 1.");
    if (std::isnan(stop.target)) throw config_error("target", "the target value must be a number.");
}

bool optimizer::stopped() const {
    if (asked_ >= stop_.budget) return true;
    return best_ && best_->value <= stop_.target;
}

bool optimizer::done() const {
    return stopped() && outstanding() == 0;
}

std::vector<task> optimizer::ask(std::size_t n) {
    std::vector<task> tasks;
    if (n == 0 || stopped()) return tasks;
    const auto room = stop_.budget - asked_;
    if (n > room) n = static_cast<std::size_t>(room);
    std::vector<point> points;
    points.reserve(n);
    propose(n, points);
    if (points.size() > n) points.resize(n);
    tasks.reserve(points.size());
    for (auto& x : points) {
        if (x.size() != dim_) throw protocol_error("internal: an algorithm proposed a point of the wrong dimension.");
        for (double& v : x) v = std::fmin(1.0, std::fmax(0.0, v));  // legal points only
        const std::uint64_t id = asked_++;
        points_.push_back(x);
        state_.push_back(outstanding_state);
        tasks.push_back(task{id, std::move(x)});
    }
    return tasks;
}

void optimizer::tell(const std::vector<result>& results) {
    // Validate the whole batch first so that a bad batch consumes nothing: ids are marked
    // tentatively (to catch an id twice in one batch in linear time) and unmarked on error.
    constexpr std::uint8_t tentative_state = 3;
    std::size_t marked = 0;
    auto reject = [&](std::uint64_t id, const char* problem) {
        for (std::size_t j = 0; j < marked; ++j) state_[results[j].id] = outstanding_state;
        throw protocol_error("result id " + std::to_string(id) + problem);
    };
    for (const auto& r : results) {
        if (r.id >= asked_) reject(r.id, " was never asked.");
        if (state_[r.id] == tentative_state) reject(r.id, " appears twice in one tell.");
        if (state_[r.id] != outstanding_state) reject(r.id, " was already told.");
        if (r.status == eval_status::ok && !std::isfinite(r.value))
            reject(r.id, " has status ok but a non-finite value; report it as failed.");
        state_[r.id] = tentative_state;
        ++marked;
    }
    for (const auto& r : results) {
        state_[r.id] = told_state;
        ++told_;
        point x = std::move(points_[r.id]);
        points_[r.id] = point{};
        const bool ok = r.status == eval_status::ok;
        if (!ok) ++failures_;
        const double value = ok ? r.value : std::numeric_limits<double>::infinity();
        if (ok && (!best_ || value < best_->value)) best_ = best_result{r.id, x, value};
        observe(r.id, x, value, r.status);
    }
}

}  // namespace fracnas::core
