// Strict Boost.Program_options parsing shared by the subcommands: no abbreviations, no
// positional arguments, no option swallowed as another option's value; and the Boost table of a
// command's option schema (app/option.hpp) with the reading of its values through that schema.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "fracnas/app/search_config.hpp"
#include "fracnas/nas/architecture.hpp"

namespace fracnas::cli {

/// Parses args against options. Throws config_error for a positional argument (naming
/// `example`, e.g. "--dim 10") or an option whose value is another option; Boost's own errors
/// (unknown option, missing or repeated value) propagate. With a `positional` name, positional
/// arguments are accepted instead and stored under it, as a std::vector<std::string>.
boost::program_options::variables_map parse_options(const std::vector<std::string>& args,
                                                    const boost::program_options::options_description& options,
                                                    const std::string& subcommand, const std::string& example,
                                                    const std::string& positional = "");
/// parse_options for a subcommand that prints its options on --help: then writes `options` to
/// out and returns nothing, and the subcommand returns. `check` (where given) reads and checks
/// the values first, with or without --help: a bad value is refused even beside --help, as the
/// search refuses it.
std::optional<boost::program_options::variables_map> parse_or_print_help(
    const std::vector<std::string>& args, const boost::program_options::options_description& options, const std::string& subcommand,
    const std::string& example, std::ostream& out, const std::string& positional = "",
    const std::function<void(const boost::program_options::variables_map&)>& check = {});
/// The Boost table of a command's option schema: --help first, then each option in the table's
/// order with its help line (range and default included), a switch without a value. Every value is
/// read as a string: the schema parses it (Boost would wrap "-5" into a huge unsigned).
template <class O>
boost::program_options::options_description boost_table(const std::string& caption, const std::vector<O>& schema, unsigned line_length = 80,
                                                        unsigned min_description_length = 40) {
    namespace po = boost::program_options;
    po::options_description o(caption, line_length, min_description_length);
    o.add_options()("help,h", "print this help and exit");
    for (const auto& spec : schema) {
        const std::string help = spec.help_line();
        if (spec.is_switch())
            o.add_options()(spec.name.c_str(), help.c_str());
        else
            o.add_options()(spec.name.c_str(), po::value<std::string>()->value_name(spec.value_name), help.c_str());
    }
    return o;
}

/// Reads every option of the schema that vm holds into c, in the schema's order, through its set
/// (a switch given is set with ""). Throws config_error naming the option.
template <class O>
void read_options(const boost::program_options::variables_map& vm, const std::vector<O>& schema, typename O::config_type& c) {
    for (const auto& spec : schema)
        if (vm.count(spec.name)) spec.set(c, spec.is_switch() ? std::string() : vm[spec.name].template as<std::string>());
}

/// True in a process that an MPI launcher (mpirun, srun) started with a rank other than 0, read
/// from the launcher's environment before MPI starts: a worker prints no input error (rank 0
/// prints it) and never reads a resumed archive (the master sends it the configuration).
bool launched_as_worker();
/// The number of ranks an MPI launcher started (OMPI_COMM_WORLD_SIZE, PMIX/PMI_SIZE,
/// SLURM_NTASKS), or 1 when none says: `--dispatcher auto` uses MPI only for 2 or more.
int launched_ranks();

/// True when paths a and b name one file: the same device and inode when both exist, else the
/// same path once the existing folder is resolved (".", "..", symbolic links). POSIX calls, not
/// std::filesystem, whose operations may resolve to libtorch.so's copies (its remove_all crashes).
bool same_file(const std::string& a, const std::string& b);

/// Refuses, before any work, an output file whose folder does not exist, is not a folder or is not
/// writable: config_error(option) "OPTION: cannot write 'PATH': its folder 'F' does not exist."
/// With made_if_missing (the writer makes missing folders), the nearest existing one is checked.
void check_output_folder(const std::string& option, const std::string& path, bool made_if_missing = false);

/// `text` whole when it has at most `limit` characters, else its first and last parts around a
/// note of how many were left out: what an error line echoes of the user's input stays readable
/// (a 100 kB --arch is not printed back whole).
std::string bounded(const std::string& text, std::size_t limit = 200);

/// The text of option `name` (without "--"), or nullptr when it was not given.
const std::string* option_text(const boost::program_options::variables_map& vm, const char* name);

/// The architecture of --arch (canonical text) or --preset (a reference model, read by the
/// command's schema): exactly one of them. Throws config_error naming the option.
nas::architecture read_architecture(const std::optional<std::string>& arch, const std::optional<app::reference_kind>& preset);

/// What eval and train check before anything else, --help included: every value read into the
/// request through the schema, the schema's ranges, and the architecture named by --arch or
/// --preset where one is. For parse_or_print_help's `check`.
template <class O>
std::function<void(const boost::program_options::variables_map&)> request_check(const std::vector<O>& schema,
                                                                                typename O::config_type& request) {
    return [&schema, &request](const boost::program_options::variables_map& vm) {
        read_options(vm, schema, request);
        app::check_ranges(schema, request);
        if (request.arch || request.preset) read_architecture(request.arch, request.preset);
    };
}

}  // namespace fracnas::cli
