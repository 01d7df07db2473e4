// What every dispatcher shares: the names of worker events, the pool size, and the worker's
// calibration cadence (worker_session), which the in-process, dry-run and MPI workers all use.
#include "fracnas/transport/dispatcher.hpp"

#include <algorithm>

#include <cmath>

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

eval::outcome worker_session::run(const core::point& x, const std::string& spec, bool& recalibrated) {
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
    eval::outcome o = evaluator_.evaluate(x, spec);
    ++since_;
    o.reference_ms = reference_ms_;
    return o;
}

}  // namespace fracnas::transport
