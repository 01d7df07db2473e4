// `fracnas analyze ARCHIVE...`: app::analyse on each archive read by the HDF5 adapter.
#include "analyze_command.hpp"

#include <ostream>
#include <sstream>

#include <boost/program_options.hpp>

#include "fracnas/app/analysis.hpp"
#include "fracnas/error.hpp"
#include "options.hpp"
#include "parse.hpp"

#ifdef FRACNAS_HAVE_HDF5
#include "fracnas/hdf5/archive_file.hpp"
#endif

namespace fracnas::cli {

namespace po = boost::program_options;

namespace {

po::options_description analyze_options() {
    auto text = [](const char* name) { return po::value<std::string>()->value_name(name); };
    po::options_description o("fracnas analyze ARCHIVE [ARCHIVE...] options");
    o.add_options()("help,h", "print this help and exit")("objectives", text("LIST"),
                                                          "1 to 3 of ratio (latency / reference, min), ms (latency, min), params (decoder "
                                                          "parameters in millions, max), memory (peak GiB, min); default ratio,params")(
        "reference-point", text("LIST"),
        "the hypervolume's reference point, one number per objective in its units (default: ratio 1, ms the median reference timing, "
        "params 0, memory the largest peak)")("top", text("N"), "best feasible architectures listed (default 10)")(
        "checkpoints", text("N"), "rows of the growth table and of the JSON growth (default 10)")(
        "csv", text("PREFIX"), "write PREFIX{evaluations,front,growth,workers}.csv (several archives: PREFIX<archive name>_...)")(
        "json", text("FILE"), "write the analysis as JSON (several archives: an array); - for standard output instead of the report");
    return o;
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream s(text);
    std::string item;
    while (std::getline(s, item, ',')) out.push_back(item);
    return out;
}

#ifdef FRACNAS_HAVE_HDF5  // only the archive-reading path names files after their runs
std::string stem(const std::string& path) {
    const auto slash = path.find_last_of('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    const auto dot = name.find_last_of('.');
    return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}
#endif

}  // namespace

void run_analyze(const std::vector<std::string>& args, std::ostream& out) {
    const auto parsed = parse_or_print_help(args, analyze_options(), "analyze", "run.h5 --csv out/", out, "archive");
    if (!parsed) return;
    const po::variables_map& vm = *parsed;
    auto get = [&](const char* name) { return option_text(vm, name); };
    app::analysis_options opt;
    if (const auto* v = get("objectives")) opt.objectives = split_list(*v);
    if (const auto* v = get("reference-point"))
        for (const auto& item : split_list(*v)) opt.reference_point.push_back(parse_real("--reference-point", item));
    if (const auto* v = get("top")) opt.top = parse_size("--top", *v);
    if (const auto* v = get("checkpoints")) opt.checkpoints = parse_size("--checkpoints", *v);
    app::validate(opt);
    if (!vm.count("archive")) throw config_error("archive", "give at least one archive: fracnas analyze run.h5 [more.h5 ...].");
    const auto paths = vm["archive"].as<std::vector<std::string>>();
#ifdef FRACNAS_HAVE_HDF5
    std::vector<app::run_analysis> runs;
    std::vector<storage::archive_contents> contents;
    for (const auto& path : paths) {
        try {
            contents.push_back(hdf5::read_archive(path));
        } catch (const config_error& e) {
            throw config_error("archive", e.what());  // analyze has no --archive option: name the argument
        } catch (const storage_error& e) {
            // a file that opens but cannot be read through is damaged: bad input, like a foreign one
            throw config_error("archive", path + " is damaged: " + e.what());
        }
        runs.push_back(app::analyse(contents.back(), path, opt));
    }
    // the CSV prefix of run i; an output that is one of the archives read would overwrite it:
    // refused before anything is written
    const auto csv_prefix = [&](const std::string& prefix, std::size_t i) {
        return runs.size() == 1 ? prefix : prefix + stem(paths[i]) + "_";
    };
    const auto refuse_archive = [&](const char* option, const std::string& output) {
        for (const auto& path : paths)
            if (same_file(output, path))
                throw config_error(option, std::string(option) + ": '" + output + "' is the archive " + path + "; give another file.");
    };
    if (const auto* prefix = get("csv"))
        for (std::size_t i = 0; i < runs.size(); ++i)
            for (const char* name : {"evaluations.csv", "front.csv", "growth.csv", "workers.csv"})
                refuse_archive("--csv", csv_prefix(*prefix, i) + name);
    if (const auto* json = get("json"); json && *json != "-") refuse_archive("--json", *json);
    // a folder that cannot be made or written is the input's fault: refused before anything is written
    if (const auto* prefix = get("csv"))
        for (std::size_t i = 0; i < runs.size(); ++i) check_output_folder("--csv", csv_prefix(*prefix, i) + "evaluations.csv", true);
    if (const auto* json = get("json"); json && *json != "-") check_output_folder("--json", *json, true);
    if (const auto* prefix = get("csv"))
        for (std::size_t i = 0; i < runs.size(); ++i) app::write_csv(runs[i], contents[i], csv_prefix(*prefix, i));
    const std::string* json = get("json");
    if (json) {
        std::ostringstream text;
        if (runs.size() > 1) text << "[";
        for (std::size_t i = 0; i < runs.size(); ++i) text << (i ? ",\n" : "") << app::to_json(runs[i], opt);
        if (runs.size() > 1) text << "]";
        text << '\n';
        if (*json == "-") {
            out << text.str();
            return;
        }
        app::write_file(*json, text.str());
    }
    for (std::size_t i = 0; i < runs.size(); ++i) {
        if (i) out << '\n';
        app::print_analysis(runs[i], opt, out);
    }
    if (runs.size() > 1) {
        out << '\n';
        app::print_comparison(runs, out);
    }
#else
    (void)paths;
    throw config_error("archive", "this fracnas was built without HDF5, so it cannot read archives.");
#endif
}

}  // namespace fracnas::cli
