// The in-process dispatcher: one slot, the job runs inside wait() on the master's own evaluator.
#include "fracnas/transport/local_dispatcher.hpp"

namespace fracnas::transport {

local_dispatcher::local_dispatcher(eval::job_evaluator& evaluator, dispatch_policy policy, std::string host)
    : session_(evaluator, policy.calibrate_every), start_(std::chrono::steady_clock::now()), pool_(policy) {
    worker_info w;
    w.rank = 0;
    w.host = std::move(host);
    w.device = evaluator.binding();
    const eval::outcome ref = session_.start();
    w.reference_ms = session_.reference_ms();
    if (ref.status != eval::outcome_status::ok) {
        w.in_pool = false;
        w.left_reason = "the reference could not be measured: " + ref.message;
    }
    pool_.add(std::move(w), now());
}

double local_dispatcher::now() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void local_dispatcher::do_submit(job j) {
    pool_.submit(std::move(j), now());  // it runs in wait(); slots and ids were checked by dispatcher::submit
}

std::vector<job_result> local_dispatcher::do_wait(double) {
    std::vector<job_result> out;
    if (pool_.in_flight() == 0 || pool_.pool_size() == 0) return out;
    const std::uint64_t id = pool_.assigned(0).front();
    job_result r;
    r.id = id;
    r.worker = 0;
    r.started = now();
    bool recalibrated = false;
    {
        const job& j = pool_.find(id).j;
        r.out = session_.run(j, recalibrated);
    }
    r.ended = now();
    r.dispatched = pool_.finish(0, id, r.ended).done.dispatched;
    if (recalibrated) pool_.event(worker_event::kind::calibrated, 0, r.started, session_.reference_ms(), "");
    out.push_back(std::move(r));
    if (out.front().out.status == eval::outcome_status::device_lost) {
        const double ended = out.front().ended;
        pool_.leave(0, false, out.front().out.message, eval::outcome_status::device_lost, ended);
        for (auto& lost : pool_.orphans(ended)) out.push_back(std::move(lost));  // nobody is left to run them
    }
    return out;
}

}  // namespace fracnas::transport
