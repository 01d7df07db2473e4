// Stop signals for a long search: SIGTERM, SIGUSR1 (Slurm's warning before the time limit) and
// SIGINT are counted, never acted on inside the handler; the search driver polls the count
// (first: stop asking and drain; second: end at once); and whether the launcher leaves the
// master time to drain (Open MPI's mpirun, from the environment only). POSIX only; no other state.
#pragma once

#include <string>

namespace fracnas::cli {

/// Installs the counting handler for SIGTERM, SIGUSR1 and SIGINT, and ignores SIGXFSZ, so that a
/// write past the file-size limit fails with a reported error instead of killing the process
/// (idempotent).
void install_stop_signals();
/// Signals received since install_stop_signals().
int stop_signals();

/// Under Open MPI 4.x's mpirun (ORTE: OMPI_MCA_orte_hnp_uri in the environment), a SIGTERM or
/// SIGINT to mpirun reaches the ranks as SIGTERM after odls_base_sigkill_timeout seconds (default 1)
/// and as SIGKILL after twice that. Returns a one-line warning when that timeout, as
/// OMPI_MCA_odls_base_sigkill_timeout in this rank's environment says, is below grace_seconds + 5
/// (the drain, then the report); otherwise, or when not started by ORTE, an empty string.
std::string mpirun_kill_warning(double grace_seconds);

}  // namespace fracnas::cli
