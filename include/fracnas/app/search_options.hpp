// The option schema of `fracnas search`: each option declared once (name, value, help, range,
// default, where it may be given, how its text is read into app::search_config and written back).
// The command-line table, the config file's keys, search_config::to_ini and problem_keys and the
// range checks of search_config::validate are derived from it. Standard library only: the Boost
// table is built from it in src/cli/, which parses nothing itself.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fracnas/app/search_config.hpp"

namespace fracnas::app {

/// Where an option may be given, and whether a resume may change it.
enum class option_scope : std::uint8_t {
    problem,       ///< defines the search: command line or config file; a resume refuses a change
    run,           ///< how the search runs: command line or config file; a resume may change it
    command_line,  ///< names this run's files, or is a switch: the command line only
};

/// One `fracnas search` option.
struct search_option {
    std::string name;        ///< the long option without "--": also its config-file and INI key
    std::string value_name;  ///< the value's name in the help ("N", "NAME"); empty: a switch
    std::string help;        ///< what it sets; help_line() adds the range and the default
    option_scope scope = option_scope::run;
    /// The range a number must lie in, checked by search_config::validate ("--NAME must be in
    /// LO..HI.") and shown in the help; none where the rule is another (a multiple of 64, ...).
    std::optional<std::pair<double, double>> range;
    /// The valid values of an enum-like option (its text is parsed into an enum, or a preset name,
    /// once, when read: a bad one is refused naming the option and these); empty otherwise.
    std::vector<std::string> choices;
    /// The default the help shows, where the default configuration's INI value would not say it
    /// (an empty list that means the preset floors, 0 that means "budget/10"); else empty.
    std::string default_note;
    /// Reads the option's text into the configuration; throws config_error("--NAME") with one
    /// sentence (an enum-like value: the valid names). Empty for --config, which the command reads.
    std::function<void(search_config&, const std::string&)> set;
    /// The value as the option reads it back; empty for command-line-only options (not archived).
    std::function<std::string(const search_config&)> get;
    /// The number the range applies to; empty without a range.
    std::function<double(const search_config&)> number;

    /// Whether a config file (and the archived configuration) may set it.
    bool config_file() const { return scope != option_scope::command_line; }
    /// The help sentence: help, ", LO..HI" with a range, " (default X)" with a default.
    std::string help_line() const;
    /// Throws config_error("--NAME") when the configuration's value is out of range.
    void check_range(const search_config& c) const;
};

/// Every option of `fracnas search` (but --help), in the order of its help.
const std::vector<search_option>& search_options();
/// The option of this name (without "--"), or nullptr.
const search_option* find_search_option(const std::string& name);

}  // namespace fracnas::app
