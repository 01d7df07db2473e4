// `fracnas train`: train one architecture (a canonical string or a reference preset) on the
// prepared corpus with recipe A and print its validation perplexity at each checkpoint, as a
// table or JSON. Only in builds with LibTorch; its options are train_options.hpp's.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace fracnas::cli {

/// Parses and runs `fracnas train` args (without "train"). Throws config_error for bad input,
/// a missing or corrupt corpus included (exit 2 in cli.cpp), and fracnas::error when the training
/// fails (out of memory, diverged), after printing what it did until then.
void run_train(const std::vector<std::string>& args, std::ostream& out);

}  // namespace fracnas::cli
