// The dry-run dispatcher: N simulated workers on a simulated clock. Each job's cost is drawn
// from a distribution, its value comes from a job evaluator that needs no device (a synthetic
// function or the analytic latency model), and wait() advances the clock to the next completion,
// without sleeping, so that scheduling at thousands of workers is studied on a laptop.
// It simulates hangs (a task that never ends) so that deadlines are exercised; not MPI.
#pragma once

#include <cstdint>
#include <queue>
#include <string>
#include <vector>

#include "fracnas/core/rng.hpp"
#include "fracnas/transport/dispatcher.hpp"

namespace fracnas::transport {

/// Task-cost distributions, seconds of simulated time.
enum class cost_kind : std::uint8_t {
    fixed,        ///< always mean
    uniform,      ///< uniform on [mean (1 - spread), mean (1 + spread)]
    exponential,  ///< exponential with this mean (memoryless: completion order uniformly random)
    lognormal,    ///< median mean, log-standard deviation spread
};
const char* to_string(cost_kind k);
/// fixed, uniform, exponential or lognormal; throws config_error("cost") otherwise.
cost_kind parse_cost_kind(const std::string& name);

struct dry_run_config {
    std::size_t workers = 4;  ///< simulated workers, 1..1,000,000
    cost_kind cost = cost_kind::fixed;
    double cost_mean_seconds = 1.0;  ///< > 0
    double cost_spread = 0.0;        ///< uniform: relative half-width in [0,1); lognormal: sigma >= 0
    double failure_rate = 0.0;       ///< each task fails (status error) with this probability
    double hang_rate = 0.0;          ///< each task never ends with this probability (needs a finite deadline)
    double dispatch_seconds = 0.0;   ///< simulated master-to-worker latency added to each task
    std::uint64_t seed = 1;          ///< costs, failures and hangs
    /// Checks the ranges above; throws config_error naming the field.
    void validate() const;
};

class dry_run_dispatcher final : public dispatcher {
public:
    /// evaluator gives each job's value; its reference timing becomes every worker's.
    dry_run_dispatcher(eval::job_evaluator& evaluator, dry_run_config cfg, dispatch_policy policy);
    const std::vector<worker_info>& workers() const override { return workers_; }
    std::size_t free_slots() const override;
    std::vector<worker_event> take_events() override;
    double now() const override { return now_; }
    /// Simulated seconds each worker spent running tasks (for utilisation).
    const std::vector<double>& busy_seconds() const noexcept { return busy_; }

private:
    void do_submit(job j) override;
    std::vector<job_result> do_wait(double max_seconds) override;
    void do_shutdown() noexcept override;
    struct worker_state {
        std::vector<std::pair<job, double>> jobs;  // (job, dispatched); jobs[0] runs
        double started = 0.0, cost = 0.0;          // of jobs[0]
        double deadline = 0.0;                     // jobs[0]'s, seconds from its start
        std::uint64_t generation = 0;              // bumps when jobs[0] changes: stale heap entries are skipped
        bool failed = false;                       // jobs[0]'s failure draw
    };
    struct timed {  // a completion or a deadline of one worker's running job
        double at;
        std::size_t worker;
        std::uint64_t generation;
        bool operator>(const timed& o) const { return at != o.at ? at > o.at : worker > o.worker; }
    };
    using min_heap = std::priority_queue<timed, std::vector<timed>, std::greater<timed>>;
    std::size_t capacity() const { return 1 + policy_.queued_per_worker; }
    void place(job j, double dispatched);  // on the least-loaded pool worker (idle first)
    void start_front(std::size_t w);       // jobs[0] of w starts now
    void leave(std::size_t w, worker_event::kind why, const std::string& message);
    job_result unanswered(job j, double dispatched, eval::outcome_status why);  // when no worker is left

    eval::job_evaluator& evaluator_;
    dry_run_config cfg_;
    dispatch_policy policy_;
    task_deadline deadline_{policy_};
    core::rng rng_;
    double now_ = 0.0;
    std::vector<worker_info> workers_;
    std::vector<worker_event> events_;
    std::vector<double> busy_;
    std::vector<worker_state> state_;
    std::vector<std::size_t> idle_, half_;  // pool workers with 0 / 1 job (checked lazily when popped)
    min_heap ends_, deadlines_;
    std::vector<std::pair<job, double>> requeue_;  // jobs of workers that left, waiting for a slot
    std::size_t in_flight_ = 0, pool_ = 0;
};

}  // namespace fracnas::transport
