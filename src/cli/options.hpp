// Strict Boost.Program_options parsing shared by the subcommands: no abbreviations, no
// positional arguments, no option swallowed as another option's value.
#pragma once

#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace fracnas::cli {

/// Parses args against options. Throws config_error for a positional argument (naming
/// `example`, e.g. "--dim 10") or an option whose value is another option; Boost's own errors
/// (unknown option, missing or repeated value) propagate.
boost::program_options::variables_map parse_options(const std::vector<std::string>& args,
                                                    const boost::program_options::options_description& options,
                                                    const std::string& subcommand, const std::string& example);

}  // namespace fracnas::cli
