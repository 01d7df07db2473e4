// The option schema of `fracnas search`: each option declared once (name, value, help, range,
// default, where it may be given, how its text is read into app::search_config and written back),
// on the option record every command uses (option.hpp). The command-line table, the config file's
// keys, search_config::to_ini and problem_keys and the range checks of search_config::validate are
// derived from it. Standard library only: the Boost table is built from it in src/cli/, which
// parses nothing itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fracnas/app/option.hpp"
#include "fracnas/app/search_config.hpp"

namespace fracnas::app {

/// Where an option may be given, and whether a resume may change it.
enum class option_scope : std::uint8_t {
    problem,       ///< defines the search: command line or config file; a resume refuses a change
    run,           ///< how the search runs: command line or config file; a resume may change it
    command_line,  ///< names this run's files, or is a switch: the command line only
};

/// One `fracnas search` option: the record every command's table uses (option.hpp), and where it
/// may be given.
struct search_option : option<search_config> {
    option_scope scope = option_scope::run;

    /// Whether a config file (and the archived configuration) may set it. What it may set is
    /// written back (get), the command line's files and switches are not.
    bool config_file() const { return scope != option_scope::command_line; }
};

/// Every option of `fracnas search` (but --help), in the order of its help.
const std::vector<search_option>& search_options();
/// The option of this name (without "--"), or nullptr.
const search_option* find_search_option(const std::string& name);

}  // namespace fracnas::app
