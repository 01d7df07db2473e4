// The one interface through which a search reaches its evaluators, wherever they run: in this
// process (local_dispatcher), on simulated workers with a simulated clock (dry_run_dispatcher),
// or on MPI ranks each bound to one GPU (the MPI adapter). The driver submits jobs when slots are
// free and waits for results; the dispatcher owns the workers, deadlines and re-queueing.
// It knows nothing of optimizers, caches or archives (app/ does), and nothing of MPI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "fracnas/core/optimizer.hpp"
#include "fracnas/eval/outcome.hpp"

namespace fracnas::transport {

/// One evaluation to run on some worker: a timing, or a training to a budget.
struct job {
    std::uint64_t id = 0;  ///< unique within a run (the driver's evaluation id)
    core::point x;         ///< the point of the unit cube
    std::string spec;      ///< what to build: a canonical architecture (NAS) or empty (synthetic)
    eval::task_kind kind = eval::task_kind::time;
    eval::train_task train;  ///< with kind train: the budget, seed and rung
    /// Seconds the task may run before its worker counts as hung, where it is longer than the
    /// policy's (a training's deadline scales with its budget); 0: the policy's alone.
    double deadline_seconds = 0.0;
};

/// A timing job of x (and spec, the architecture to build, or empty for a synthetic function).
inline job timing(std::uint64_t id, core::point x, std::string spec = {}) {
    job j;
    j.id = id;
    j.x = std::move(x);
    j.spec = std::move(spec);
    return j;
}

/// Runs j on evaluator: evaluate() for a timing, train() for a training.
eval::outcome run_job(eval::job_evaluator& evaluator, const job& j);

/// One evaluation's answer with where and when it ran. Times are seconds on the dispatcher's
/// clock (now()): dispatched when the master sent it, started/ended as the worker saw them.
struct job_result {
    std::uint64_t id = 0;
    eval::outcome out;
    int worker = 0;  ///< the rank that measured it (0: the master itself)
    double dispatched = 0.0, started = 0.0, ended = 0.0;
};

/// A worker as it reported itself when it joined.
struct worker_info {
    int rank = 0;
    std::string host;
    eval::device_binding device;
    double reference_ms = eval::outcome::none;  ///< its first timing of the reference model
    bool in_pool = true;                        ///< false once it hung, lost its device or failed to start
    std::string left_reason;                    ///< why it left, one sentence
};

/// What happened to the workers, for the archive and the progress line.
struct worker_event {
    enum class kind : std::uint8_t {
        joined = 0,       ///< bound to its device and calibrated (reference_ms)
        calibrated = 1,   ///< re-timed the reference (reference_ms)
        left_hung = 2,    ///< missed a task deadline: its task was re-queued, it gets no more work
        left_device = 3,  ///< its device is unusable (or it could not start): it left the pool
        late_result = 4,  ///< a result arrived after its deadline and was ignored
    };
    kind what = kind::joined;
    int worker = 0;
    double time = 0.0;
    double reference_ms = eval::outcome::none;
    std::string message;
};
const char* to_string(worker_event::kind k);

/// How jobs are handed out; the same for every dispatcher.
struct dispatch_policy {
    /// 0: one task in flight per worker; 1: one more waits on it. At most max_queued_per_worker:
    /// every dispatcher's worker_pool refuses more (config_error "queued_per_worker").
    std::size_t queued_per_worker = 0;
    static constexpr std::size_t max_queued_per_worker = 1;
    double task_deadline_seconds = std::numeric_limits<double>::infinity();  ///< per task, from its start
    std::uint64_t calibrate_every = 50;  ///< a worker re-times the reference after this many jobs (0: at start only)
    /// With it, task_deadline_seconds is the deadline until a task has finished, and then its cap:
    /// a task starting later gets max(adaptive_floor_seconds, adaptive_factor x the longest task
    /// finished so far), at most task_deadline_seconds (task_deadline).
    bool adaptive_deadline = false;
    double adaptive_floor_seconds = 60.0;
    double adaptive_factor = 10.0;
};

/// The deadline of a task that starts now under a dispatch_policy, from the durations of the
/// tasks finished so far (every dispatcher keeps one: the same rule for all).
class task_deadline {
public:
    explicit task_deadline(const dispatch_policy& policy) noexcept : policy_(policy) {}
    /// A task finished after `seconds` (from its start to its result).
    void finished(double seconds) noexcept;
    /// Seconds a task starting now may run (infinity: no deadline).
    double seconds() const noexcept;

private:
    dispatch_policy policy_;
    double longest_ = -1.0;  // no task finished yet
};

/// The contract every dispatcher keeps, checked here and not in each one (as core::optimizer
/// checks ask and tell): submit() refuses a job without a free slot, a job whose id is in flight,
/// a point that is not in the unit cube, a training without a budget and a negative deadline,
/// before the dispatcher sees it; wait() returns each
/// submitted job once, with finite times, or throws. The base keeps the ledger of jobs in flight.
class dispatcher {
public:
    virtual ~dispatcher() = default;
    /// Every worker that ever joined (in_pool tells who still takes work).
    virtual const std::vector<worker_info>& workers() const = 0;
    /// How many jobs submit() takes now: free slots over the workers in the pool.
    virtual std::size_t free_slots() const = 0;
    /// Jobs submitted and not yet returned by wait().
    std::size_t in_flight() const noexcept { return in_flight_.size(); }
    /// Hands a job to a worker (or its queue). Throws protocol_error, submitting nothing, when
    /// free_slots() == 0, the id is already in flight, or a coordinate of j.x is not in [0, 1].
    void submit(job j);
    /// Returns the results that arrived, waiting up to max_seconds for the first one (0: poll).
    /// A task whose deadline passed is re-queued on another worker and not returned; when no
    /// worker is left in the pool, every job still in flight comes back with status timeout or
    /// device_lost. Never returns a job twice: a dispatcher that would (a result for a job not in
    /// flight, twice in one batch, or with times that are not finite or end before they start)
    /// makes it throw protocol_error.
    std::vector<job_result> wait(double max_seconds);
    /// Worker events since the last call, in the order they happened.
    virtual std::vector<worker_event> take_events() = 0;
    /// Seconds since the dispatcher started, on its clock (simulated for a dry run).
    virtual double now() const = 0;
    /// Tells every worker to stop; jobs in flight are dropped. Idempotent; never throws.
    void shutdown() noexcept;
    /// Number of workers still taking work.
    std::size_t pool_size() const;

protected:
    /// submit() once the job passed the checks.
    virtual void do_submit(job j) = 0;
    /// wait() before its results are checked.
    virtual std::vector<job_result> do_wait(double max_seconds) = 0;
    /// shutdown() before the ledger is cleared.
    virtual void do_shutdown() noexcept = 0;
    /// For a dispatcher that dropped every job in flight by itself (stopping its workers).
    void forget_in_flight() noexcept { in_flight_.clear(); }

private:
    std::unordered_set<std::uint64_t> in_flight_;
};

/// A worker's side of calibration: times the reference at start and again after every
/// `calibrate_every` jobs, and stamps each outcome with the latest reference timing.
class worker_session {
public:
    worker_session(eval::job_evaluator& evaluator, std::uint64_t calibrate_every);
    /// The first timing of the reference (its outcome: ok, or why the worker cannot start).
    eval::outcome start();
    /// Runs one job (run_job); re-times the reference first when due (recalibrated is then true
    /// and reference_ms() the new timing).
    eval::outcome run(const job& j, bool& recalibrated);
    double reference_ms() const noexcept { return reference_ms_; }
    eval::job_evaluator& evaluator() noexcept { return evaluator_; }

private:
    eval::job_evaluator& evaluator_;
    std::uint64_t every_, since_ = 0;
    double reference_ms_ = eval::outcome::none;
};

}  // namespace fracnas::transport
