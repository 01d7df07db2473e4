// The option schema of `fracnas optimize`: each option declared once (name, value, help, range,
// default, how its text is read into app::optimize_config), on the option record every command
// uses (option.hpp). The Boost table and the help (src/cli/optimize_command.cpp) and the range
// checks of optimize_config::validate are derived from it. Standard library only.
#pragma once

#include <string>
#include <vector>

#include "fracnas/app/optimize_config.hpp"
#include "fracnas/app/option.hpp"

namespace fracnas::app {

using optimize_option = option<optimize_config>;

/// Every option of `fracnas optimize` (but --help), in the order of its help.
const std::vector<optimize_option>& optimize_options();
/// The option of this name (without "--"), or nullptr.
const optimize_option* find_optimize_option(const std::string& name);

}  // namespace fracnas::app
