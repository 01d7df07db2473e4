// `fracnas search`: reads the command line and an optional INI config file into
// app::search_config (the command line wins; a resumed archive's configuration fills the rest),
// checks every input before any file is written, picks the dispatcher (in-process, dry run, or
// MPI master and workers), opens the HDF5 archive, runs app::search_driver and prints the
// report from the archive. Parsing, wiring and printing only; the search is app/'s.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "fracnas/app/search_config.hpp"

namespace fracnas::cli {

/// Parses `fracnas search` args (without "search"): the command line over --config FILE over
/// (with --resume) the archive's configuration. Sets help when --help was given. With --resume
/// (on the master) the archive is checked first (held, unwritable or damaged: refused) and an
/// end a failed write cut is restored; what was restored is written to `restored` when given.
/// Throws config_error naming the option, or for a config file its path, line and key.
app::search_config parse_search_args(const std::vector<std::string>& args, bool& help, std::string* restored = nullptr);

/// Parses and runs. Throws config_error for bad input (nothing written), error for a failure.
void run_search(const std::vector<std::string>& args, std::ostream& out);

}  // namespace fracnas::cli
