// One search, start to end, on an execution context: the single entry point that the CLI, the
// tests and the benchmarks call. On the master it opens (or resumes) the archive, prints the
// plan and the workers, runs app::search_driver over the context's dispatcher, prints the
// report, exports the JSON lines, and closes the context (stopping the workers); on an MPI worker
// it does nothing (its work was done inside the context). It parses no options and knows nothing
// of MPI, LibTorch or HDF5: the archive's file is opened through the callbacks of search_io.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "fracnas/app/search_config.hpp"
#include "fracnas/app/search_driver.hpp"
#include "fracnas/storage/archive.hpp"
#include "fracnas/transport/context.hpp"

namespace fracnas::app {

/// What the caller gives a search besides its configuration.
struct search_io {
    /// The header's fields that only the caller knows (fracnas_version, git_commit, command_line);
    /// run_search fills in config, dim, ranks, hosts and created.
    storage::run_header header;
    /// Opens the run's archive: a new one for header, or, with cfg.resume, the resumed one, whose
    /// contents it fills in (they are then replayed). Null, or a null result: the records are kept
    /// in memory only (a storage::memory_archive).
    std::function<std::unique_ptr<storage::archive_sink>(const storage::run_header& header, storage::archive_contents& resumed)>
        open_archive;
    /// Reads the closed archive back for the report (what is on disk). Null: the driver's contents.
    std::function<storage::archive_contents()> read_archive;
    /// Stop signals received so far (SIGTERM, SIGUSR1...): the driver drains on the first and ends
    /// on the second. Null: none ever.
    std::function<int()> signals;
    std::string restored;               ///< what --resume's check repaired in the archive, for the plan ("": nothing)
    std::vector<std::string> warnings;  ///< printed after the workers, one "warning" line each
};

/// How a search ended, with what its report was made from.
struct search_result {
    search_outcome outcome;
    storage::archive_contents archive;  ///< what the report read: the file read back, or the driver's contents
};

/// Runs one search with cfg (valid: validate()) on ctx; prints to out. On an MPI worker context
/// returns at once, an empty result. At the end it closes the context, waiting cfg.grace for the
/// workers (2 s at most after a second stop signal); when some worker does not stop it says so and
/// ends the job (ctx.abort(0): the archive is complete). When the search throws, the workers are
/// stopped (at most 10 s) before the exception goes on, and the job is aborted (1) when they do
/// not stop. Throws what the driver and the archive throw, and storage_error when the JSON lines
/// cannot be written.
search_result run_search(const search_config& cfg, transport::context& ctx, const search_io& io, std::ostream& out);

/// The worker table: each rank, host, device, reference timing, and why it left the pool.
void print_workers(const transport::dispatcher& d, std::ostream& out);

}  // namespace fracnas::app
