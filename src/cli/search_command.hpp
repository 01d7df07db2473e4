// `fracnas search`: the fractal optimizer over the GPT search space with in-process evaluation,
// the constrained objective (minimise latency subject to decoder parameters >= the reference's)
// or the Pareto one (a constrained search per parameter floor), a cache by canonical hash, the
// reference re-timed periodically, one JSON line per evaluation, and a closing report. MPI workers and
// the HDF5 archive will sit behind the same loop (DESIGN sections 3 and 5). LibTorch builds only.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace fracnas::cli {

/// Parses and runs `fracnas search` args (without "search"). Throws config_error for bad input.
void run_search(const std::vector<std::string>& args, std::ostream& out);

}  // namespace fracnas::cli
