// The dry-run dispatcher: N simulated workers on a simulated clock. Each job's cost is drawn
// from a distribution, its value comes from a job evaluator that needs no device (a synthetic
// function or the analytic latency model), and wait() advances the clock to the next completion,
// without sleeping, so that scheduling at thousands of workers is studied on a laptop.
// It simulates hangs (a task that never ends) so that deadlines are exercised; not MPI. Which
// worker takes a job, queues, deadlines and re-queueing are transport::worker_pool's, the MPI
// master's policy: the dry run models that master.
#pragma once

#include <cstdint>
#include <queue>
#include <string>
#include <vector>

#include "fracnas/core/rng.hpp"
#include "fracnas/transport/dispatcher.hpp"
#include "fracnas/transport/worker_pool.hpp"

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
    /// A training task's mean cost per million tokens of its budget (seconds, > 0), drawn from the
    /// same distribution relative to its mean: a training of B tokens costs B / 1e6 times this
    /// where a timing costs cost_mean_seconds.
    double train_seconds_per_mtoken = 1.0;
    double failure_rate = 0.0;      ///< each task fails (status error) with this probability
    double hang_rate = 0.0;         ///< each task never ends with this probability (needs a finite deadline)
    double dispatch_seconds = 0.0;  ///< simulated master-to-worker latency added to each task
    std::uint64_t seed = 1;         ///< costs, failures and hangs
    /// Checks the ranges above; throws config_error naming the field.
    void validate() const;
};

class dry_run_dispatcher final : public dispatcher {
public:
    /// evaluator gives each job's value; its reference timing becomes every worker's.
    dry_run_dispatcher(eval::job_evaluator& evaluator, dry_run_config cfg, dispatch_policy policy);
    const std::vector<worker_info>& workers() const override { return pool_.workers(); }
    std::size_t free_slots() const override { return pool_.free_slots(); }
    std::vector<worker_event> take_events() override { return pool_.take_events(); }
    double now() const override { return now_; }
    /// Simulated seconds each worker spent running tasks (for utilisation).
    const std::vector<double>& busy_seconds() const noexcept { return busy_; }

private:
    void do_submit(job j) override;
    std::vector<job_result> do_wait(double max_seconds) override;
    void do_shutdown() noexcept override;
    // The simulation of a worker's running job (which job, and its queue, are the pool's).
    struct worker_state {
        double started = 0.0, cost = 0.0;  // of the running job
        std::uint64_t generation = 0;      // bumps when the running job changes: stale heap entries are skipped
        bool failed = false;               // the running job's failure draw
    };
    struct timed {  // a completion or a deadline of one worker's running job
        double at;
        std::size_t worker;
        std::uint64_t generation;
        bool operator>(const timed& o) const { return at != o.at ? at > o.at : worker > o.worker; }
    };
    using min_heap = std::priority_queue<timed, std::vector<timed>, std::greater<timed>>;
    void start(const std::vector<worker_pool::assignment>& given);  // the jobs that start now
    void start_front(std::size_t w);                                // the pool's running job of w starts now

    eval::job_evaluator& evaluator_;
    dry_run_config cfg_;
    worker_pool pool_;
    core::rng rng_;
    double now_ = 0.0;
    std::vector<double> busy_;
    std::vector<worker_state> state_;
    min_heap ends_, deadlines_;
};

}  // namespace fracnas::transport
