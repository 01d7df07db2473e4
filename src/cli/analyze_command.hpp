// `fracnas analyze`: read one or more search archives (also while a run still writes them) and
// print what ran and what it found; export CSV and JSON. Only in builds with HDF5.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace fracnas::cli {

/// Parses and runs `fracnas analyze` args (without "analyze"). Throws config_error for bad input,
/// a missing, foreign or damaged archive included (exit 2 in cli.cpp), and error when an export
/// cannot be written.
void run_analyze(const std::vector<std::string>& args, std::ostream& out);

}  // namespace fracnas::cli
