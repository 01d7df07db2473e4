// The scheduling policy every dispatcher shares, written once: which worker takes a job (an idle
// one first, else one with room in its queue; round robin among equals), the slots, the deadline
// of each running task, the jobs of a worker that leaves re-queued before any new one, and what
// comes back when no worker is left. The in-process, dry-run and MPI dispatchers each keep one
// and only move the jobs (run them, simulate them, send them). It keeps no clock (times are the
// caller's) and checks nothing the dispatcher base checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "fracnas/transport/dispatcher.hpp"

namespace fracnas::transport {

class worker_pool {
public:
    /// A job handed to a worker, which the dispatcher now carries to it.
    struct assignment {
        std::size_t worker = 0;  ///< index into workers()
        std::uint64_t id = 0;
        bool starts = false;  ///< the worker was idle: the job runs from now (else it waits in its queue)
    };
    /// A job in flight, as the pool keeps it.
    struct flight {
        transport::job j;
        double dispatched = 0.0;                                        ///< when it was first submitted (kept when re-queued)
        std::size_t worker = 0;                                         ///< the worker it was given to last
        eval::outcome_status orphaned = eval::outcome_status::timeout;  ///< its status if no worker is left
        std::string why;                                                ///< why it was taken from its last worker
    };
    /// What finish() hands back: the finished job, and the one of that worker's queue that starts.
    struct finished {
        flight done;
        std::optional<std::uint64_t> starts;
    };

    /// slots per worker: 1 + policy.queued_per_worker. Throws config_error("queued_per_worker")
    /// when more than dispatch_policy::max_queued_per_worker jobs would wait behind a running one:
    /// the one rule of the in-process, dry-run and MPI dispatchers, which each build their pool here.
    explicit worker_pool(const dispatch_policy& policy);

    /// Adds the next worker (as it reported itself: in_pool, or left_reason): event joined, or
    /// left_device with the reason. Returns its index.
    std::size_t add(worker_info info, double now);
    const std::vector<worker_info>& workers() const noexcept { return infos_; }
    bool in_pool(std::size_t w) const { return infos_[w].in_pool; }
    std::size_t pool_size() const noexcept { return pool_; }
    /// Free slots over the workers in the pool, less the re-queued jobs that wait for one.
    std::size_t free_slots() const noexcept { return free_ > requeue_.size() ? free_ - requeue_.size() : 0; }
    std::size_t in_flight() const noexcept { return flights_.size(); }

    /// Gives re-queued jobs, then j, to workers with room (free_slots() > 0: the base checked).
    std::vector<assignment> submit(transport::job j, double now);
    /// Gives re-queued jobs to workers with room.
    std::vector<assignment> flush(double now);
    /// The jobs worker w holds, in the order it runs them (front: running).
    const std::deque<std::uint64_t>& assigned(std::size_t w) const { return states_[w].assigned; }
    const flight& find(std::uint64_t id) const;
    /// When w's running job started (on the caller's clock) and its deadline, seconds from then.
    double running_since(std::size_t w) const { return states_[w].running_since; }
    double deadline(std::size_t w) const { return states_[w].deadline; }
    /// Worker w (in the pool) answered id at now: the job leaves the pool, the task deadline learns
    /// its duration, and w's next queued job starts. Throws protocol_error when w was not given id.
    finished finish(std::size_t w, std::uint64_t id, double now);
    /// Workers in the pool whose running job is past its deadline at now.
    std::vector<std::size_t> past_deadline(double now) const;
    /// w leaves the pool (left_hung when hung, else left_device): its jobs wait, in its order and
    /// before every other, for another worker; if none is left they come back as `orphaned`.
    void leave(std::size_t w, bool hung, const std::string& reason, eval::outcome_status orphaned, double now);
    /// With no worker left, every job in flight as a failed result, in id order; none is kept.
    std::vector<job_result> orphans(double now);
    /// Drops every job in flight (a shutdown).
    void clear();

    /// Records an event of worker w (calibrated, late_result).
    void event(worker_event::kind k, std::size_t w, double now, double reference_ms, std::string message);
    std::vector<worker_event> take_events();

private:
    struct state {
        std::deque<std::uint64_t> assigned;
        double running_since = 0.0, deadline = 0.0;
    };
    std::optional<std::size_t> pick();       // an idle worker first, round robin
    double deadline_of(const job& j) const;  // the adaptive deadline, or j's own where longer
    void give(std::size_t w, std::uint64_t id, double now, std::vector<assignment>& out);
    void load_changed(std::size_t w, std::size_t before);

    std::size_t cap_;
    task_deadline deadlines_;
    std::vector<worker_info> infos_;
    std::vector<state> states_;
    std::vector<std::set<std::size_t>> room_;  // room_[k]: pool workers holding k < cap_ jobs
    std::unordered_map<std::uint64_t, flight> flights_;
    std::deque<std::uint64_t> requeue_;
    std::vector<worker_event> events_;
    std::size_t free_ = 0, pool_ = 0, cursor_ = 0;
};

}  // namespace fracnas::transport
