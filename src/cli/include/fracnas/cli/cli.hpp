// The fracnas command line: subcommand dispatch, --help, --version, and the one place where
// errors become a one-line message and an exit code (2: bad input, 1: a failure while running).
// It holds no algorithm or objective logic; subcommands live in their own files of src/cli/.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace fracnas::cli {

/// The process entry point: run() on argv[1..] with std::cout and std::cerr.
int main(int argc, char** argv);

/// Runs the command line args (without the program name), writing results and progress to out
/// and errors to err. Never throws. Returns 0 on success; 2 for bad input (exactly one line
/// "fracnas: error: ..." on err, nothing on out) or no subcommand (a short usage on err); 1 when
/// a run fails after its input was accepted (the same one-line form).
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace fracnas::cli
