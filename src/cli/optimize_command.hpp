// `fracnas optimize`: its options (the Boost table of app::optimize_options(), for parsing and for
// --help), the reading of a command line into an app::optimize_config, and the in-process run with
// progress lines and a summary.
// It does not catch errors or choose exit codes (cli.cpp does) and has no Boost in this header.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "fracnas/app/optimize_config.hpp"

namespace fracnas::cli {

/// What an optimize command line asked for; config is filled but not yet validated.
struct optimize_request {
    bool help = false;  ///< --help was given: print print_optimize_options() and run nothing
    app::optimize_config config;
};

/// Parses the arguments after "optimize" through app::optimize_options(). Throws
/// boost::program_options::error for an unknown option, a missing value or an option given twice,
/// and config_error (field: the option) for a malformed number, an unknown name or a stray
/// positional argument. Does not call config.validate() (which checks the ranges).
optimize_request parse_optimize_args(const std::vector<std::string>& args);

/// Prints every optimize option, one line each, with typical values and the valid names.
void print_optimize_options(std::ostream& out);

/// Runs a validated config in-process: keeps config.outstanding evaluations in flight and
/// completes them in a seeded random order, prints progress lines unless quiet, then the summary.
/// Throws fracnas::error when the run cannot proceed (config_error for a bad configuration).
void run_optimize(const app::optimize_config& config, std::ostream& out);

}  // namespace fracnas::cli
