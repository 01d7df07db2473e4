// The MPI execution context: make_context starts MPI (bounded by a watchdog), splits the ranks
// into the master (rank 0) and the workers, lets the master refuse the run before any worker
// measures, sends every worker the master's configuration text, and then either returns the
// master's dispatcher or serves on a worker until the master stops it. It knows nothing of
// searches or of the configuration's content (app/ and cli/ do). This header does not include mpi.h.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "fracnas/mpi/mpi_dispatcher.hpp"
#include "fracnas/transport/context.hpp"

namespace fracnas::mpi {

/// What make_context needs from its caller; every rank passes the same except where noted.
struct context_config {
    transport::dispatch_policy policy;  ///< the master's; its calibrate_every is sent to every worker
    /// MPI start-up (MPI_Init and the host table) on every rank, then the master's wait for every
    /// worker's hello, seconds (typically 900; infinity: no limit).
    double join_seconds = 900.0;
    /// Master: the text every worker receives (the effective configuration). Ignored on a worker.
    std::string shared_text;
    /// Master: called once MPI started and before any worker builds its evaluator; throwing refuses
    /// the run: every worker then ends without work, MPI ends in agreement, and the exception comes
    /// out of make_context on the master. Null: nothing to check.
    std::function<void()> check;
    /// Worker: builds its evaluator from the master's text, its own rank and its node rank
    /// (environment::node_rank(), which picks its GPU); when it throws, its hello carries the
    /// reason and the master leaves it out of the pool.
    std::function<std::unique_ptr<eval::job_evaluator>(const std::string& shared_text, int rank, int node_rank)> make_evaluator;
    /// Every rank, right after MPI_Init: e.g. re-install signal handlers the MPI library replaced.
    std::function<void()> after_init;
};

/// Starts MPI (MPI_THREAD_FUNNELED) and returns this rank's context: the master's holds an
/// mpi_dispatcher whose workers have all joined (or failed to, within join_seconds); a worker's
/// returns once the master stopped it, is_master() false. The context owns MPI: close() on the
/// master, when every worker said bye, ends MPI in agreement (MPI_Finalize); otherwise MPI ends
/// when the context is destroyed, and not at all while an exception unwinds (environment).
/// Throws config_error("--dispatcher") on every rank when there are fewer than 2 ranks; mpi_error
/// when an MPI call fails; whatever check() throws, on the master.
std::unique_ptr<transport::context> make_context(const context_config& cfg);

/// The same on an MPI that env already started (tests, benchmarks that run several contexts in
/// one job): env must outlive the context, and close() never ends MPI.
std::unique_ptr<transport::context> make_context(const environment& env, const context_config& cfg);

}  // namespace fracnas::mpi
