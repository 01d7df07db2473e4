// The in-process dispatcher: the master measures each job itself, one at a time, when wait() is
// called (a single-rank run, or a laptop). Deadlines cannot interrupt a job run in-process, so a
// slow job is simply late; it never re-queues. Its slots and queue are transport::worker_pool's.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "fracnas/transport/dispatcher.hpp"
#include "fracnas/transport/worker_pool.hpp"

namespace fracnas::transport {

class local_dispatcher final : public dispatcher {
public:
    /// Times the reference at construction (the worker joins or, on failure, is out of the pool
    /// with its reason). host names the machine in the worker table.
    local_dispatcher(eval::job_evaluator& evaluator, dispatch_policy policy, std::string host);
    const std::vector<worker_info>& workers() const override { return pool_.workers(); }
    std::size_t free_slots() const override { return pool_.free_slots(); }
    std::vector<worker_event> take_events() override { return pool_.take_events(); }
    double now() const override;

private:
    void do_submit(job j) override;
    std::vector<job_result> do_wait(double max_seconds) override;
    void do_shutdown() noexcept override { pool_.clear(); }

    worker_session session_;
    std::chrono::steady_clock::time_point start_;
    worker_pool pool_;  // one worker, rank 0: slots and queue as every dispatcher has them
};

}  // namespace fracnas::transport
