// Where a search runs, as arbor's execution context says it: how many ranks, on which hosts, and,
// on the master, the dispatcher that reaches the workers. An in-process context (one rank: the
// local or the dry-run dispatcher) is made here; the MPI one by mpi::make_context, which also
// starts MPI, splits the ranks and serves on the workers. No MPI here, and nothing of searches.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "fracnas/transport/dispatcher.hpp"

namespace fracnas::transport {

/// How long close() waits for the bye of a worker already dropped as hung (past a task deadline):
/// without a bound of its own, one hung worker made every end cost the whole grace.
inline constexpr double hung_stop_seconds = 2.0;

class context {
public:
    virtual ~context() = default;
    /// False on an MPI worker rank: its work was done (served, then stopped) inside make_context.
    virtual bool is_master() const noexcept = 0;
    /// The master's dispatcher. Throws error on a worker, and on an MPI master after close() (an
    /// in-process one keeps it, for its clock and counters).
    virtual dispatcher& dispatch() = 0;
    /// Processes in the run: 1 in process (the dry run's simulated workers are not ranks).
    virtual std::uint32_t ranks() const noexcept = 0;
    /// The distinct host names in rank order, comma-separated.
    virtual const std::string& hosts() const noexcept = 0;
    /// Tells every worker to stop and waits up to grace_seconds for each (at most
    /// hung_stop_seconds for one that left the pool as hung); true when every one answered (an MPI
    /// run then ends MPI in agreement). Idempotent: a second call returns the first verdict. Never
    /// throws.
    virtual bool close(double grace_seconds) noexcept = 0;
    /// Ends the whole job at once with code: for a master whose close() returned false (a worker
    /// hung in a task would otherwise hold the job). In process close() never fails, so it aborts.
    [[noreturn]] virtual void abort(int code) noexcept = 0;
};

/// One process: the master's dispatcher runs in it (local_dispatcher, dry_run_dispatcher) with the
/// evaluator it measures with, which the context keeps alive for the dispatcher's lifetime.
class process_context final : public context {
public:
    /// dispatch must not be null; evaluator may be (the dispatcher then needs none of the context).
    process_context(std::unique_ptr<dispatcher> dispatch, std::string host, std::unique_ptr<eval::job_evaluator> evaluator = nullptr);
    ~process_context() override;
    bool is_master() const noexcept override { return true; }
    dispatcher& dispatch() override;
    std::uint32_t ranks() const noexcept override { return 1; }
    const std::string& hosts() const noexcept override { return host_; }
    bool close(double grace_seconds) noexcept override;
    [[noreturn]] void abort(int code) noexcept override;

private:
    std::unique_ptr<eval::job_evaluator> evaluator_;  // declared first: destroyed after the dispatcher
    std::unique_ptr<dispatcher> dispatch_;
    std::string host_;
    bool closed_ = false;
};

/// The in-process context: one local_dispatcher measuring with evaluator (the reference is timed
/// now; a failure leaves the pool empty, with its reason in workers()).
std::unique_ptr<process_context> make_local_context(std::unique_ptr<eval::job_evaluator> evaluator, const dispatch_policy& policy,
                                                    const std::string& host);

struct dry_run_config;
/// The dry-run context: cfg.workers simulated workers on a simulated clock (dry_run_dispatcher).
std::unique_ptr<process_context> make_dry_run_context(std::unique_ptr<eval::job_evaluator> evaluator, const dry_run_config& cfg,
                                                      const dispatch_policy& policy, const std::string& host);

}  // namespace fracnas::transport
