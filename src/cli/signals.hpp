// Stop signals for a long search: SIGTERM, SIGUSR1 (Slurm's warning before the time limit) and
// SIGINT are counted, never acted on inside the handler; the search driver polls the count
// (first: stop asking and drain; second: end at once). POSIX only; no other state.
#pragma once

namespace fracnas::cli {

/// Installs the counting handler for SIGTERM, SIGUSR1 and SIGINT (idempotent).
void install_stop_signals();
/// Signals received since install_stop_signals().
int stop_signals();

}  // namespace fracnas::cli
