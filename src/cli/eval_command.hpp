// `fracnas eval`: measure one architecture (a canonical string or a reference preset) with the
// LibTorch evaluator and print a table or JSON. Only in builds with LibTorch.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace fracnas::cli {

/// Parses and runs `fracnas eval` args (without "eval"). Throws config_error for bad input
/// (exit 2 in cli.cpp) and fracnas::error when the evaluation fails (its status and message).
void run_eval(const std::vector<std::string>& args, std::ostream& out);

}  // namespace fracnas::cli
