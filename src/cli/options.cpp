// Strict option parsing for the subcommands, and the checks of their inputs they share.
#include "options.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "fracnas/app/search_config.hpp"
#include "fracnas/error.hpp"

namespace fracnas::cli {

namespace po = boost::program_options;

po::variables_map parse_options(const std::vector<std::string>& args, const po::options_description& options, const std::string& subcommand,
                                const std::string& example, const std::string& positional) {
    // No guessing: "--dim" must not also answer to "--di".
    const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::options_description all;
    all.add(options);
    po::positional_options_description where;
    if (!positional.empty()) {
        all.add_options()(positional.c_str(), po::value<std::vector<std::string>>(), "");
        where.add(positional.c_str(), -1);
    }
    po::command_line_parser parser(args);
    parser.options(all).style(style);
    if (!positional.empty()) parser.positional(where);  // an empty one would refuse every positional token
    const po::parsed_options parsed = parser.run();
    // Without a positional name, Boost keeps positional tokens in parsed and store() drops them
    // silently: reject them here. It also takes "--budget" as the value of "--dim --budget 5";
    // report the missing value.
    for (const auto& o : parsed.options) {
        if (o.position_key >= 0) {
            if (positional.empty())
                throw config_error("", "unexpected argument '" + o.value.front() + "'; every " + subcommand +
                                           " setting is an option such as " + example + ".");
            continue;
        }
        if (!o.value.empty() && o.value.front().rfind("--", 0) == 0)
            throw config_error("--" + o.string_key, "missing value (got the option '" + o.value.front() + "' instead).");
    }
    // --help with valid options prints the help; with an argument (analyze's archives) the command
    // line is not what the user meant
    const auto is_help = [](const po::option& o) { return o.position_key < 0 && o.string_key == "help"; };
    if (std::any_of(parsed.options.begin(), parsed.options.end(), is_help))
        for (const auto& o : parsed.options)
            if (o.position_key >= 0)
                throw config_error(
                    "", "--help takes no argument; got '" + bounded(o.value.empty() ? o.string_key : o.value.front()) + "' as well.");
    po::variables_map vm;
    po::store(parsed, vm);
    po::notify(vm);
    return vm;
}

std::optional<po::variables_map> parse_or_print_help(const std::vector<std::string>& args, const po::options_description& options,
                                                     const std::string& subcommand, const std::string& example, std::ostream& out,
                                                     const std::string& positional,
                                                     const std::function<void(const po::variables_map&)>& check) {
    po::variables_map vm = parse_options(args, options, subcommand, example, positional);
    if (check) check(vm);
    if (vm.count("help")) {
        out << options;
        return std::nullopt;
    }
    return vm;
}

bool launched_as_worker() {
    for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"}) {
        const char* v = std::getenv(name);
        if (v != nullptr && *v != '\0') return std::string(v) != "0";
    }
    return false;
}

int launched_ranks() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"}) {
        const char* v = std::getenv(name);
        if (v == nullptr || *v == '\0' || std::string(v).find_first_not_of("0123456789") != std::string::npos) continue;
        if (std::string(v).size() > 9) return 1;
        return std::max(1, std::stoi(v));
    }
    return 1;
}

const std::string* option_text(const po::variables_map& vm, const char* name) {
    return vm.count(name) ? &vm[name].as<std::string>() : nullptr;
}

nas::architecture read_architecture(const std::optional<std::string>& arch, const std::optional<app::reference_kind>& preset) {
    if (arch.has_value() == preset.has_value()) throw config_error("--arch", "give exactly one of --arch and --preset.");
    if (preset) return app::reference_architecture(*preset);
    try {
        return nas::parse_architecture(*arch);
    } catch (const config_error& e) {
        throw config_error("--arch", e.what());
    }
}

namespace {

// `path` with its folder resolved, or as given when the folder does not exist.
std::string resolved(const std::string& path) {
    const auto slash = path.rfind('/');
    const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    char* real = ::realpath(folder.c_str(), nullptr);
    if (real == nullptr) return path;
    std::string r(real);
    std::free(real);
    return r + "/" + (slash == std::string::npos ? path : path.substr(slash + 1));
}

}  // namespace

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {
    }, sb{};
    if (::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return resolved(a) == resolved(b);
}

void check_output_folder(const std::string& option, const std::string& path, bool made_if_missing) {
    const auto parent = [](const std::string& p) {
        const auto slash = p.find_last_of('/');
        return slash == std::string::npos ? std::string(".") : slash == 0 ? std::string("/") : p.substr(0, slash);
    };
    std::string folder = parent(path);
    const std::string start = option + ": cannot write '" + bounded(path) + "': ";
    struct stat st {};
    if (made_if_missing)  // the nearest folder that exists: the ones below it are made by the writer
        while (::stat(folder.c_str(), &st) != 0 && folder != "." && folder != "/") folder = parent(folder);
    if (::stat(folder.c_str(), &st) != 0) throw config_error(option, start + "its folder '" + bounded(folder) + "' does not exist.");
    if (!S_ISDIR(st.st_mode)) throw config_error(option, start + "'" + bounded(folder) + "' is not a folder.");
    if (::access(folder.c_str(), W_OK | X_OK) != 0)
        throw config_error(option, start + "its folder '" + bounded(folder) + "' is not writable.");
}

std::string bounded(const std::string& text, std::size_t limit) {
    if (text.size() <= limit) return text;
    // the cuts move to character boundaries: no UTF-8 sequence is split
    const auto continuation = [&](std::size_t i) { return (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80; };
    std::size_t head = limit * 2 / 3, from = text.size() - (limit - head);
    while (head > 0 && continuation(head)) --head;
    while (from < text.size() && continuation(from)) ++from;
    return text.substr(0, head) + " [... " + std::to_string(from - head) + " bytes left out ...] " + text.substr(from);
}

}  // namespace fracnas::cli
