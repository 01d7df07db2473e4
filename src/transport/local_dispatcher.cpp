// The in-process dispatcher: one slot, the job runs inside wait() on the master's own evaluator.
#include "fracnas/transport/local_dispatcher.hpp"

namespace fracnas::transport {

local_dispatcher::local_dispatcher(eval::job_evaluator& evaluator, dispatch_policy policy, std::string host)
    : session_(evaluator, policy.calibrate_every), policy_(policy), start_(std::chrono::steady_clock::now()) {
    worker_info w;
    w.rank = 0;
    w.host = std::move(host);
    w.device = evaluator.binding();
    const eval::outcome ref = session_.start();
    w.reference_ms = session_.reference_ms();
    if (ref.status != eval::outcome_status::ok) {
        w.in_pool = false;
        w.left_reason = "the reference could not be measured: " + ref.message;
        events_.push_back({worker_event::kind::left_device, 0, now(), w.reference_ms, w.left_reason});
    } else {
        events_.push_back({worker_event::kind::joined, 0, now(), w.reference_ms, ""});
    }
    workers_.push_back(std::move(w));
}

double local_dispatcher::now() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::size_t local_dispatcher::free_slots() const {
    if (!workers_[0].in_pool) return 0;
    const std::size_t slots = 1 + policy_.queued_per_worker;
    return pending_.size() >= slots ? 0 : slots - pending_.size();
}

void local_dispatcher::do_submit(job j) {
    pending_.emplace_back(std::move(j), now());  // slots and ids were checked by dispatcher::submit
}

std::vector<job_result> local_dispatcher::do_wait(double) {
    std::vector<job_result> out;
    if (pending_.empty()) return out;
    auto [j, dispatched] = std::move(pending_.front());
    pending_.erase(pending_.begin());
    job_result r;
    r.id = j.id;
    r.worker = 0;
    r.dispatched = dispatched;
    r.started = now();
    bool recalibrated = false;
    r.out = session_.run(j.x, j.spec, recalibrated);
    r.ended = now();
    if (recalibrated) events_.push_back({worker_event::kind::calibrated, 0, r.started, session_.reference_ms(), ""});
    if (r.out.status == eval::outcome_status::device_lost) {
        workers_[0].in_pool = false;
        workers_[0].left_reason = r.out.message;
        events_.push_back({worker_event::kind::left_device, 0, r.ended, eval::outcome::none, r.out.message});
        for (auto& [queued, at] : pending_) {  // nobody is left to run them
            job_result lost;
            lost.id = queued.id;
            lost.dispatched = at;
            lost.started = lost.ended = r.ended;
            lost.out.status = eval::outcome_status::device_lost;
            lost.out.message = "no worker is left to run this job.";
            out.push_back(std::move(lost));
        }
        pending_.clear();
    }
    out.insert(out.begin(), std::move(r));
    return out;
}

std::vector<worker_event> local_dispatcher::take_events() {
    std::vector<worker_event> e;
    e.swap(events_);
    return e;
}

}  // namespace fracnas::transport
