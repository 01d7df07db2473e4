// What every dispatcher shares: the checks of every submit and result and the ledger of jobs in
// flight, the names of worker events, the pool size, and the worker's calibration cadence
// (worker_session), which the in-process, dry-run and MPI workers all use.
#include "fracnas/transport/dispatcher.hpp"

#include <algorithm>

#include <cmath>
#include <string>
#include <utility>

#include "fracnas/error.hpp"

namespace fracnas::transport {

const char* to_string(worker_event::kind k) {
    switch (k) {
        case worker_event::kind::joined:
            return "joined";
        case worker_event::kind::calibrated:
            return "calibrated";
        case worker_event::kind::left_hung:
            return "left_hung";
        case worker_event::kind::left_device:
            return "left_device";
        case worker_event::kind::late_result:
            return "late_result";
    }
    return "unknown";
}

void task_deadline::finished(double seconds) noexcept {
    if (seconds >= 0.0 && seconds > longest_) longest_ = seconds;
}

double task_deadline::seconds() const noexcept {
    if (!policy_.adaptive_deadline || longest_ < 0.0) return policy_.task_deadline_seconds;
    return std::min(policy_.task_deadline_seconds, std::max(policy_.adaptive_floor_seconds, policy_.adaptive_factor * longest_));
}

void dispatcher::submit(job j) {
    if (free_slots() == 0) throw protocol_error("submit: no worker has a free slot (call wait() until free_slots() > 0).");
    if (in_flight_.count(j.id) != 0) throw protocol_error("submit: job " + std::to_string(j.id) + " is already in flight.");
    for (double v : j.x)
        if (!(v >= 0.0 && v <= 1.0))  // NaN too
            throw protocol_error("submit: job " + std::to_string(j.id) + " has a coordinate outside the unit cube.");
    if (j.kind != eval::task_kind::time && j.kind != eval::task_kind::train)
        throw protocol_error("submit: job " + std::to_string(j.id) + " has an unknown task kind.");
    if (j.kind == eval::task_kind::train && j.train.tokens == 0)
        throw protocol_error("submit: job " + std::to_string(j.id) + " is a training without a budget (0 tokens).");
    if (!(j.deadline_seconds >= 0.0))  // NaN too; infinity: no deadline
        throw protocol_error("submit: job " + std::to_string(j.id) + " has a negative deadline.");
    const std::uint64_t id = j.id;
    do_submit(std::move(j));
    in_flight_.insert(id);  // only once the dispatcher took it
}

std::vector<job_result> dispatcher::wait(double max_seconds) {
    std::vector<job_result> out = do_wait(max_seconds);
    // the whole batch is checked before the ledger changes, as core::optimizer::tell does
    std::unordered_set<std::uint64_t> seen;
    for (const auto& r : out) {
        const std::string job = "internal: the dispatcher returned job " + std::to_string(r.id);
        if (in_flight_.count(r.id) == 0) throw protocol_error(job + ", which was not in flight.");
        if (!seen.insert(r.id).second) throw protocol_error(job + " twice in one batch.");
        if (!std::isfinite(r.dispatched) || !std::isfinite(r.started) || !std::isfinite(r.ended) || r.ended < r.started)
            throw protocol_error(job + " with times that are not finite or end before they start.");
    }
    for (const auto& r : out) in_flight_.erase(r.id);
    return out;
}

void dispatcher::shutdown() noexcept {
    do_shutdown();
    in_flight_.clear();
}

std::size_t dispatcher::pool_size() const {
    std::size_t n = 0;
    for (const auto& w : workers())
        if (w.in_pool) ++n;
    return n;
}

worker_session::worker_session(eval::job_evaluator& evaluator, std::uint64_t calibrate_every)
    : evaluator_(evaluator), every_(calibrate_every) {}

eval::outcome worker_session::start() {
    eval::outcome o = evaluator_.time_reference();
    if (o.status == eval::outcome_status::ok) reference_ms_ = o.reference_ms;
    since_ = 0;
    return o;
}

eval::outcome run_job(eval::job_evaluator& evaluator, const job& j) {
    return j.kind == eval::task_kind::train ? evaluator.train(j.x, j.spec, j.train) : evaluator.evaluate(j.x, j.spec);
}

eval::outcome worker_session::run(const job& j, bool& recalibrated) {
    recalibrated = false;
    if (every_ > 0 && since_ >= every_) {
        const eval::outcome ref = evaluator_.time_reference();
        // a failed re-timing keeps the last good one; a lost device shows in the job's own outcome
        if (ref.status == eval::outcome_status::ok && std::isfinite(ref.reference_ms)) {
            reference_ms_ = ref.reference_ms;
            recalibrated = true;
        }
        since_ = 0;
    }
    eval::outcome o = run_job(evaluator_, j);
    ++since_;
    o.reference_ms = reference_ms_;
    return o;
}

}  // namespace fracnas::transport
