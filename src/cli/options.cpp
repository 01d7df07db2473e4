// Strict option parsing for the subcommands.
#include "cli/options.hpp"

#include "fracnas/error.hpp"

namespace fracnas::cli {

namespace po = boost::program_options;

po::variables_map parse_options(const std::vector<std::string>& args, const po::options_description& options,
                                const std::string& subcommand, const std::string& example) {
    // No guessing: "--dim" must not also answer to "--di".
    const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    const po::parsed_options parsed = po::command_line_parser(args).options(options).style(style).run();
    // Boost keeps positional tokens in parsed and store() drops them silently: reject them here.
    // It also takes "--budget" as the value of "--dim --budget 5"; report the missing value.
    for (const auto& o : parsed.options) {
        if (o.position_key >= 0)
            throw config_error("", "unexpected argument '" + o.value.front() + "'; every " + subcommand +
                                       " setting is an option such as " + example + ".");
        if (!o.value.empty() && o.value.front().rfind("--", 0) == 0)
            throw config_error("--" + o.string_key, "missing value (got the option '" + o.value.front() + "' instead).");
    }
    po::variables_map vm;
    po::store(parsed, vm);
    po::notify(vm);
    return vm;
}

}  // namespace fracnas::cli
