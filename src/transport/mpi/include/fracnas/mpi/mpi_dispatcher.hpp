// The MPI adapter: rank 0 is the master, ranks 1..N-1 are workers. mpi_dispatcher is the
// master's transport::dispatcher (non-blocking sends, a probe loop over every worker, a deadline
// per task); serve() is a worker's loop. Messages are transport::wire's (docs/protocol.md).
// This header does not include mpi.h; only src/transport/mpi/ does.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fracnas/transport/dispatcher.hpp"

namespace fracnas::mpi {

/// True when this process was started by mpirun/mpiexec/srun (their environment variables).
bool launched_by_mpi();

/// MPI_Init_thread on construction (MPI_THREAD_FUNNELED), MPI_Finalize on destruction or at
/// finalize(). Errors are returned (MPI_ERRORS_RETURN) and thrown as mpi_error.
/// MPI_Finalize is collective in practice (Open MPI waits for every rank in it), so an environment
/// destroyed while an exception unwinds (more std::uncaught_exceptions() than at its construction)
/// does not finalize: this rank exits without MPI_Finalize, which is how the launcher (mpirun,
/// srun) learns that it failed and ends the other ranks, instead of this rank waiting forever for
/// ranks that wait for it. An ending that every rank agreed on calls finalize() first.
class environment {
public:
    environment(int& argc, char**& argv);
    ~environment();
    /// MPI_Finalize now, when every rank ends in agreement; idempotent; never throws.
    void finalize() noexcept;
    /// Whether destroying it now would call MPI_Finalize (not finalized, and not unwinding from an
    /// exception thrown after its construction).
    bool finalizes_on_destruction() const noexcept;
    environment(const environment&) = delete;
    environment& operator=(const environment&) = delete;
    int rank() const noexcept { return rank_; }
    int size() const noexcept { return size_; }
    /// This rank's place among the ranks of its node (MPI_COMM_TYPE_SHARED), in world-rank order:
    /// what picks a worker's GPU. MPI's own answer, not a launcher's variable: under `mpirun`
    /// inside a Slurm allocation every rank inherits the batch step's SLURM_LOCALID=0.
    int node_rank() const noexcept { return node_rank_; }
    /// Every rank learns rank 0's verdict (0: go on); collective.
    int broadcast_verdict(int verdict) const;
    /// Every rank gets rank 0's text (the effective configuration); collective. Defined in
    /// broadcast_text.cpp.
    std::string broadcast_text(const std::string& text) const;
    /// Every rank's host name, in rank order; collective.
    std::vector<std::string> hosts() const;
    /// Ends the job at once (MPI_Abort) with code: for a master that cannot wait for a hung worker.
    [[noreturn]] void abort(int code) const noexcept;

private:
    int rank_ = 0, size_ = 1, node_rank_ = 0;
    int uncaught_ = 0;  // std::uncaught_exceptions() at construction
};

/// Ends this process (exit status 1, after a sentence on stderr naming `what` and the limit) unless
/// disarm() is called within `seconds` of construction: MPI_Init and the start-up collectives
/// wait for every rank, so a rank that never starts, or stalls in MPI_Init, would hold the job
/// forever; a rank that exits makes the launcher end the job. It runs a thread that makes no MPI
/// call (MPI_THREAD_FUNNELED holds). An infinite `seconds` arms nothing.
class startup_watchdog {
public:
    startup_watchdog(double seconds, std::string what);
    ~startup_watchdog();
    startup_watchdog(const startup_watchdog&) = delete;
    startup_watchdog& operator=(const startup_watchdog&) = delete;
    void disarm() noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// The master's side. The constructor waits up to join_seconds for every worker's hello (a
/// worker that reports a failure, or none at all, is not in the pool; no worker at all throws
/// error). Results, deadlines and re-queueing as transport::dispatcher says.
class mpi_dispatcher final : public transport::dispatcher {
public:
    mpi_dispatcher(const environment& env, transport::dispatch_policy policy, double join_seconds);
    ~mpi_dispatcher() override;
    const std::vector<transport::worker_info>& workers() const override;
    std::size_t free_slots() const override;
    std::vector<transport::worker_event> take_events() override;
    double now() const override;
    /// Sends stop to every worker and waits up to grace_seconds for their bye (a worker already
    /// dropped as hung, past its task deadline: at most 2 s); returns false when some worker did not
    /// answer (hung: the caller may then abort the job). Jobs in flight are dropped.
    bool stop_workers(double grace_seconds) noexcept;

    struct impl;

private:
    void do_submit(transport::job j) override;
    std::vector<transport::job_result> do_wait(double max_seconds) override;
    void do_shutdown() noexcept override { stop_workers(5.0); }

    std::unique_ptr<impl> impl_;
};

/// A worker's loop: sends hello (binding and the first reference timing), then evaluates each
/// task it receives and sends the result, until the master sends stop. make_evaluator runs once,
/// after binding; when it throws, hello carries the reason and the worker waits for stop.
void serve(const environment& env, const std::function<std::unique_ptr<eval::job_evaluator>()>& make_evaluator,
           std::uint64_t calibrate_every);

}  // namespace fracnas::mpi
