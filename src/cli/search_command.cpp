// `fracnas search`: the option table (shared by the command line and the INI config file),
// reading it into app::search_config, the input checks that come before any write, and the choice
// of execution context. The search is app::run_search's; MPI start-up and the ranks' roles are
// mpi::make_context's; measuring is the workers'.
#include "search_command.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>

#include <boost/program_options.hpp>

#include "fracnas/app/search.hpp"
#include "fracnas/error.hpp"
#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/transport/binding.hpp"
#include "fracnas/transport/context.hpp"
#include "fracnas/transport/dry_run_dispatcher.hpp"
#include "options.hpp"
#include "parse.hpp"
#include "signals.hpp"
#ifdef FRACNAS_HAVE_TORCH
#include "fracnas/torch/evaluator.hpp"
#endif
#ifdef FRACNAS_HAVE_MPI
#include "fracnas/mpi/context.hpp"
#endif
#ifdef FRACNAS_HAVE_HDF5
#include "fracnas/hdf5/archive_file.hpp"
#endif

#ifndef FRACNAS_VERSION
#define FRACNAS_VERSION "unknown"
#endif
#ifndef FRACNAS_GIT_COMMIT
#define FRACNAS_GIT_COMMIT "unknown"
#endif

namespace fracnas::cli {

namespace {

namespace po = boost::program_options;

po::options_description search_options() {
    po::options_description o(
        "fracnas search options (every option but config, archive, replace, resume and jsonl may also be "
        "a 'key = value' line of the --config file; the command line wins)",
        160, 80);
    auto text = [](const char* name) { return po::value<std::string>()->value_name(name); };
    o.add_options()("help,h", "print this help and exit")("config", text("FILE"),
                                                          "read options from this INI file (key = value lines; # comments)")
        // the problem
        ("algorithm", text("NAME"),
         "optimizer preset: soo, direct, direct-l, fda, evolution (LiteTransformerSearch's), random (default soo)")(
            "tree", text("NAME"),
            "fractal presets: space-aware (cells split on decoded values, one-architecture cells measured once, cells below the parameter "
            "floor pruned) or plain (default space-aware)")("objective", text("NAME"),
                                                            "constrained (minimise latency with decoder parameters >= the floor) or pareto "
                                                            "(one constrained search per --levels floor; default constrained)")(
            "levels", text("LIST"), "pareto: floors as multiples of --min-params (default 0.5,0.75,1,1.5,2)")(
            "budget", text("N"), "candidates asked, cached and infeasible ones included, 1..10000000 (default 300)")(
            "measurements", text("N"),
            "also stop once N candidates were sent to workers (cached and infeasible ones not counted); at most --budget (default 0: no "
            "such limit)")("seed", text("S"), "optimizer seed (default 1; pareto floor k uses S + k)")(
            "space", text("NAME"), "heterogeneous (per-layer FFN widths and heads) or homogeneous (default heterogeneous)")(
            "min-layers", text("L"), "shallowest model, 1..--max-layers (default 2)")(
            "max-layers", text("L"), "deepest model, 2..48 (default 24)")("max-width", text("D"),
                                                                          "widest d_model, a multiple of 64 in 128..4096 (default 2048)")(
            "max-ffn-ratio", text("X"), "widest FFN as a multiple of d_model, 2..16 (default 4)")(
            "embed-widths", text("LIST"),
            "embedding widths e the space may choose (d_embed: token table and tied output of width e, projected to and from d_model); 0 "
            "is the tied table at d_model (default: none, e = d_model)")(
            "reference", text("NAME"), "the model to beat: gpt2-small or gpt2-medium (default gpt2-small)")(
            "min-params", text("N"), "decoder-parameter floor (default: the reference's, 85056000 for gpt2-small)")(
            "evaluator", text("NAME"),
            "torch (build and time each candidate in LibTorch) or model (an analytic latency model: tests, dry runs; default torch)")(
            "latency-model", text("NAME"),
            "with --evaluator model: analytic, or h200 (the test bed fitted to H200 decode measurements at a 1,023-token cache; default "
            "analytic)")("device", text("NAME"), "auto (cuda when a GPU is visible, else cpu), cpu or cuda (default auto)")(
            "dtype", text("NAME"), "auto (bf16 on cuda, fp32 on cpu), fp32 or bf16 (default auto)")(
            "latency", text("NAME"), "the latency minimised: decode (one step at --context cached tokens) or prefill (default decode)")(
            "context", text("C"), "tokens in the KV cache for the decode step, 0..1023 (default 1023)")(
            "tokens", text("T"), "prefill tokens, 1..1024 (default 1024)")("warmup", text("N"), "untimed runs per candidate (default 3)")(
            "repeats", text("N"), "timed runs per candidate (default 10)")
        // how it runs
        ("dispatcher", text("NAME"),
         "auto (mpi when started by mpirun/srun with 2+ ranks, else local), local, mpi or dry-run (default auto)")(
            "reference-every", text("N"), "each worker re-times the reference after N candidates; 0: only at start (default 50)")(
            "reference-builds", text("N"),
            "with --evaluator torch, each re-timing builds and times the reference N times and keeps the median, 1..16 (default 2)")(
            "queued", text("N"), "jobs waiting behind each running one, 0 or 1 (default 0)")(
            "task-deadline", text("SECONDS|auto"),
            "a task running longer is re-queued on another worker and its worker leaves the pool; auto (default): 900 s until a task "
            "has finished, then 10 x the longest task so far, at least 60 s and at most 900")(
            "join-timeout", text("SECONDS"),
            "how long MPI start-up may take on every rank (past it a rank ends, and the job with it), and then how long the master waits "
            "for every worker's first report (default 900)")("model-cost-ms", text("MS"),
                                                             "evaluator model: wall time of each evaluation (default 0)")(
            "inject", text("LIST"), "evaluator model, for tests: faults hang:RANK:CALL:SECONDS, device-lost:RANK:CALL, fail:RATE")(
            "workers", text("N"), "dry run: simulated workers (default 4)")(
            "cost", text("NAME"), "dry run: task-cost distribution fixed, uniform, exponential or lognormal (default fixed)")(
            "cost-mean", text("SECONDS"), "dry run: mean (lognormal: median) task cost (default 1)")(
            "cost-spread", text("X"), "dry run: uniform relative half-width or lognormal sigma (default 0)")(
            "failure-rate", text("P"), "dry run: probability that a task fails (default 0)")(
            "hang-rate", text("P"), "dry run: probability that a task never ends (default 0)")(
            "time-limit", text("SECONDS"), "stop asking after this wall time, then drain (default none)")(
            "grace", text("SECONDS"), "after a stop signal or the time limit, wait this long for results in flight (default 120)")(
            "flush-seconds", text("SECONDS"),
            "flush the archive every this long, results or not: a crash loses at most the answers of the last SECONDS + 0.25 s, which a "
            "resumed search asks again; 0: after every result, at a few thousand answers/s (default 1)")(
            "progress-every", text("N"), "a progress line every N answers (default budget/10)")(
            "top", text("K"), "best feasible architectures in the report (default 5)")
        // files
        ("archive", text("FILE"), "write the run to this HDF5 archive (refused if it exists, unless --replace)")(
            "replace", "replace an existing --archive")("resume", text("FILE"),
                                                        "continue the run of this archive, in it; its configuration applies")(
            "jsonl", text("FILE"), "also export every evaluation as a JSON line to FILE (refused if it exists)");
    return o;
}

// Options that the config file may not set (they name this run's files or are switches).
bool command_line_only(const std::string& key) {
    return key == "help" || key == "config" || key == "archive" || key == "replace" || key == "resume" || key == "jsonl";
}

double seconds_or_none(const std::string& option, const std::string& text) {
    if (text == "none") return std::numeric_limits<double>::infinity();
    return parse_real(option, text);
}

std::vector<double> parse_levels(const std::string& text) {
    std::vector<double> levels;
    std::stringstream items(text);
    std::string item;
    while (std::getline(items, item, ',')) levels.push_back(parse_real("--levels", item));
    return levels;  // empty: the default floors
}

std::uint32_t u32(const std::string& option, const std::string& text) {
    const auto v = parse_count(option, text);
    if (v > 0xffffffffULL) throw config_error(option, option + " is too large.");
    return static_cast<std::uint32_t>(v);
}

// "0,256,512": whole numbers; empty text, no widths.
std::vector<std::uint32_t> parse_widths(const std::string& option, const std::string& text) {
    std::vector<std::uint32_t> widths;
    std::stringstream items(text);
    std::string item;
    while (std::getline(items, item, ',')) widths.push_back(u32(option, item));
    return widths;
}

// Sets one field from its option name and text. Throws config_error naming the option.
// The value of --archive, --resume or --jsonl: an empty one would silently mean "none".
const std::string& file_name(const std::string& option, const std::string& v) {
    if (v.empty()) throw config_error(option, option + " needs a file name (leave the option out for none).");
    return v;
}

void apply(app::search_config& c, const std::string& key, const std::string& v) {
    const std::string o = "--" + key;
    if (key == "algorithm")
        c.algorithm = v;
    else if (key == "tree")
        c.tree = v;
    else if (key == "latency-model")
        c.latency_model = v;
    else if (key == "objective")
        c.objective = v;
    else if (key == "levels")
        c.levels = parse_levels(v);
    else if (key == "budget")
        c.budget = parse_count(o, v);
    else if (key == "measurements")
        c.measurements = parse_count(o, v);
    else if (key == "seed")
        c.seed = parse_count(o, v);
    else if (key == "space")
        c.space = v;
    else if (key == "min-layers")
        c.min_layers = u32(o, v);
    else if (key == "max-layers")
        c.max_layers = u32(o, v);
    else if (key == "max-width")
        c.max_width = u32(o, v);
    else if (key == "max-ffn-ratio")
        c.max_ffn_ratio = parse_real(o, v);
    else if (key == "embed-widths")
        c.embed_widths = parse_widths(o, v);
    else if (key == "reference")
        c.reference = v;
    else if (key == "min-params")
        c.min_params = parse_count(o, v);
    else if (key == "evaluator")
        c.evaluator = v;
    else if (key == "device")
        c.device = v;
    else if (key == "dtype")
        c.dtype = v;
    else if (key == "latency")
        c.latency = v;
    else if (key == "context")
        c.context = u32(o, v);
    else if (key == "tokens")
        c.tokens = u32(o, v);
    else if (key == "warmup")
        c.warmup = u32(o, v);
    else if (key == "repeats")
        c.repeats = u32(o, v);
    else if (key == "dispatcher")
        c.dispatcher = v;
    else if (key == "reference-every")
        c.reference_every = parse_count(o, v);
    else if (key == "reference-builds")
        c.reference_builds = u32(o, v);
    else if (key == "queued")
        c.queued_per_worker = u32(o, v);
    else if (key == "task-deadline") {
        c.adaptive_deadline = v == "auto";
        c.task_deadline = c.adaptive_deadline ? app::search_config{}.task_deadline : parse_real(o, v);
    } else if (key == "join-timeout")
        c.join_timeout = parse_real(o, v);
    else if (key == "model-cost-ms")
        c.model_cost_ms = parse_real(o, v);
    else if (key == "inject")
        c.inject = v;
    else if (key == "workers")
        c.dry_run.workers = parse_size(o, v);
    else if (key == "cost")
        c.dry_run.cost = transport::parse_cost_kind(v);
    else if (key == "cost-mean")
        c.dry_run.cost_mean_seconds = parse_real(o, v);
    else if (key == "cost-spread")
        c.dry_run.cost_spread = parse_real(o, v);
    else if (key == "failure-rate")
        c.dry_run.failure_rate = parse_real(o, v);
    else if (key == "hang-rate")
        c.dry_run.hang_rate = parse_real(o, v);
    else if (key == "time-limit")
        c.time_limit = seconds_or_none(o, v);
    else if (key == "grace")
        c.grace = parse_real(o, v);
    else if (key == "flush-seconds")
        c.flush_seconds = parse_real(o, v);
    else if (key == "progress-every")
        c.progress_every = parse_count(o, v);
    else if (key == "top")
        c.top = parse_count(o, v);
    else if (key == "archive")
        c.archive = file_name(o, v);
    else if (key == "resume")
        c.resume = file_name(o, v);
    else if (key == "jsonl")
        c.jsonl = file_name(o, v);
    else
        throw config_error(o, "unknown option '" + o + "'.");
}

// One "key = value" of a config text with where it came from.
struct setting {
    std::string value;
    std::string origin;  // "" for the command line, else "FILE:LINE"
};

// Reads an INI text with Boost.Program_options' config-file parser, after a scan of our own that
// refuses, naming the file and the line, what that parser would report without a line: a line
// that is not "key = value" (# starts a comment), a section, an unknown key, a key the file may
// not set, a key set twice.
void read_ini(const std::string& text, const std::string& file, const po::options_description& options,
              std::map<std::string, setting>& into, bool keep_existing) {
    auto trim = [](const std::string& t) {
        const auto b = t.find_first_not_of(" \t\r");
        const auto e = t.find_last_not_of(" \t\r");
        return b == std::string::npos ? std::string() : t.substr(b, e - b + 1);
    };
    std::istringstream scan(text);
    std::string line;
    std::map<std::string, int> line_of;
    for (int n = 1; std::getline(scan, line); ++n) {
        const std::string t = trim(line.substr(0, line.find('#')));
        if (t.empty()) continue;
        const std::string where = file + ":" + std::to_string(n);
        if (t.front() == '[') throw config_error("--config", where + ": sections are not used; write 'key = value' lines only.");
        const auto eq = t.find('=');
        if (eq == std::string::npos) throw config_error("--config", where + ": expected 'key = value', got '" + t + "'.");
        const std::string key = trim(t.substr(0, eq));
        if (options.find_nothrow(key, false) == nullptr)
            throw config_error("--config", where + ": unknown key '" + key + "'; see 'fracnas search --help'.");
        if (command_line_only(key)) throw config_error("--config", where + ": '" + key + "' can only be given on the command line.");
        if (line_of.count(key))
            throw config_error("--config", where + ": '" + key + "' is set twice (first on line " + std::to_string(line_of[key]) + ").");
        line_of[key] = n;
    }
    std::istringstream in(text);
    const po::parsed_options parsed = po::parse_config_file(in, options, false);
    for (const auto& o : parsed.options) {
        if (keep_existing && into.count(o.string_key)) continue;  // the command line wins
        into[o.string_key] =
            setting{o.value.empty() ? std::string() : trim(o.value.front()), file + ":" + std::to_string(line_of[o.string_key])};
    }
}

std::string read_file(const std::string& path, const char* option) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))  // opens on Linux, then reads nothing: an empty file's settings
        throw config_error(option, std::string(option) + ": '" + path + "' is a folder, not a file.");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw config_error(option, std::string(option) + ": cannot read '" + path + "'.");
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad()) throw config_error(option, std::string(option) + ": cannot read '" + path + "'.");
    return s.str();
}

app::search_config build(const std::map<std::string, setting>& settings) {
    app::search_config c;
    for (const auto& [key, s] : settings) {
        try {
            apply(c, key, s.value);
        } catch (const config_error& e) {
            if (s.origin.empty()) throw;
            throw config_error("--config", s.origin + ": " + key + ": " + e.what());
        }
    }
    try {
        c.validate();
    } catch (const config_error& e) {
        // a value out of range that a config file set: named with its file and line
        const std::string field = e.field();
        const auto it = field.rfind("--", 0) == 0 ? settings.find(field.substr(2)) : settings.end();
        if (it == settings.end() || it->second.origin.empty()) throw;
        throw config_error("--config", it->second.origin + ": " + e.what());
    }
    return c;
}

std::string host_name() {
    char h[256] = {};
    if (gethostname(h, sizeof h - 1) != 0) return "unknown";
    return h;
}

bool exists(const std::string& path) {
    return std::ifstream(path).good();
}

#ifdef FRACNAS_HAVE_HDF5
// Runs f; an archive's sentence (missing, damaged, locked: storage's field "--archive") then
// names the option the user gave for it.
template <class F>
auto for_option(const char* option, F&& f) {
    try {
        return f();
    } catch (const config_error& e) {
        if (e.field() != "--archive") throw;
        throw config_error(option, e.what());
    }
}
#endif

// What a run reads before it writes anything.
struct inputs {
    app::search_config cfg;
    std::optional<storage::archive_contents> resumed;
    std::string command_line;
    std::string restored;  // what --resume's check did to the archive (an end restored), for the report
};

// The resolved device of a worker: "cpu" or "cuda" with its index.
std::unique_ptr<eval::job_evaluator> make_evaluator(const app::search_config& cfg, int rank) {
    if (cfg.evaluator == "model") {
        eval::latency_model_config m;
        m.testbed = cfg.latency_model == "h200";
        m.prefill = cfg.latency == "prefill";
        m.context = cfg.latency == "prefill" ? cfg.tokens : cfg.context;
        m.cost_ms = cfg.model_cost_ms;
        m.reference = cfg.reference_arch();
        m.faults = cfg.faults_for(rank);
        return std::make_unique<eval::latency_model_evaluator>(m);
    }
#ifdef FRACNAS_HAVE_TORCH
    const int visible = eval::cuda_device_count();
    std::string device = cfg.device;
    if (device == "auto") device = visible > 0 ? "cuda" : "cpu";
    eval::gpt_measure_config m = cfg.measure_config(device);
    if (device == "cuda") {
        if (visible == 0) throw config_error("--device", "--device cuda: this process sees no CUDA device.");
        m.cuda_index = transport::choose_gpu(visible, transport::local_rank());
    }
    return eval::make_gpt_job_evaluator(m, cfg.reference_arch(), cfg.reference_builds);
#else
    throw config_error("--evaluator", "--evaluator torch needs a build with LibTorch; use --evaluator model.");
#endif
}

// What only the CLI knows of a run: the header's version fields, the archive's file (HDF5), the
// stop signals, and the note of --resume's check.
app::search_io search_io_of(const inputs& in) {
    const app::search_config& cfg = in.cfg;
    app::search_io io;
    io.header.fracnas_version = FRACNAS_VERSION;
    io.header.git_commit = FRACNAS_GIT_COMMIT;
    io.header.command_line = in.command_line;
    io.signals = stop_signals;
    io.restored = in.restored;
    const std::string kill_warning = mpirun_kill_warning(cfg.grace);
    if (!kill_warning.empty()) io.warnings.push_back(kill_warning);
#ifdef FRACNAS_HAVE_HDF5
    io.open_archive = [&cfg](const storage::run_header& header, storage::archive_contents& resumed) {
        std::unique_ptr<storage::archive_sink> sink;
        if (!cfg.resume.empty())
            sink = for_option("--resume", [&] { return hdf5::archive_file::resume(cfg.resume, resumed); });
        else if (!cfg.archive.empty())
            sink = hdf5::archive_file::create(cfg.archive, header, cfg.replace);
        return sink;
    };
    const std::string path = !cfg.resume.empty() ? cfg.resume : cfg.archive;
    if (!path.empty()) io.read_archive = [path] { return hdf5::read_archive(path); };
#endif
    return io;
}

// Checks everything the master reads before anything is written; returns the final inputs.
void check_files(inputs& in) {
    app::search_config& cfg = in.cfg;
    if (!cfg.jsonl.empty() && exists(cfg.jsonl))
        throw config_error("--jsonl", "--jsonl: '" + cfg.jsonl + "' exists; it is never overwritten.");
    if (!cfg.jsonl.empty()) check_output_folder("--jsonl", cfg.jsonl);  // found now, not after the search
    if (!cfg.jsonl.empty() && !cfg.archive.empty() && same_file(cfg.jsonl, cfg.archive))
        throw config_error("--jsonl", "--jsonl: '" + cfg.jsonl + "' is the --archive's path; give the export another file.");
#ifdef FRACNAS_HAVE_HDF5
    // (--resume's archive, a running run or a read-only or damaged file, was checked when the
    // options were read, by parse_search_args, before the reference is timed)
    if (!cfg.archive.empty()) hdf5::check_new_archive(cfg.archive, cfg.replace);
#else
    if (!cfg.archive.empty() || !cfg.resume.empty()) throw config_error("--archive", "archives need a build with HDF5.");
#endif
}

}  // namespace

app::search_config parse_search_args(const std::vector<std::string>& args, bool& help, std::string* restored) {
    const auto options = search_options();
    const po::variables_map vm = parse_options(args, options, "search", "--budget 300");
    help = vm.count("help") > 0;
    std::map<std::string, setting> settings;
    for (const auto& [key, value] : vm) {
        if (key == "help" || key == "config" || key == "replace") continue;
        settings[key] = setting{value.as<std::string>(), ""};
    }
    if (vm.count("config")) {
        const std::string file = vm["config"].as<std::string>();
        read_ini(read_file(file, "--config"), file, options, settings, true);
    }
    if (settings.count("resume") && vm.count("replace"))  // it would be ignored: a resumed run writes into its archive
        throw config_error("--replace", "--replace does not go with --resume, which continues the archive it names.");
    if (settings.count("resume") && !launched_as_worker()) {  // a worker gets the master's configuration
#ifdef FRACNAS_HAVE_HDF5
        // the archive's configuration fills whatever the command line and the file left out; a
        // problem key that differs from the archive's would make another search: refused
        const std::string path = file_name("--resume", settings["resume"].value);
        // held, unwritable or damaged archives refused first; an end that a failed write cut restored
        const std::string note = for_option("--resume", [&] { return hdf5::check_resumable(path, "--resume"); });
        if (restored != nullptr) *restored = note;
        const storage::archive_contents archive = for_option("--resume", [&] { return hdf5::read_archive(path); });
        std::map<std::string, setting> archived;
        read_ini(archive.header.config, path + " (its configuration)", options, archived, false);
        if (!archived.count("tree")) archived["tree"] = setting{"plain", ""};  // archives from before --tree ran the plain tree
        if (!archived.count("latency-model")) archived["latency-model"] = setting{"analytic", ""};  // and the analytic model
        app::search_config from_archive = build(archived);
        for (const auto& [k, s] : archived)
            if (!settings.count(k)) settings[k] = s;
        app::search_config c = build(settings);
        c.replace = false;
        const auto mine = app::ini_pairs(c.to_ini()), theirs = app::ini_pairs(from_archive.to_ini());
        for (const auto& key : app::search_config::problem_keys()) {
            auto value_of = [&](const std::vector<std::pair<std::string, std::string>>& kv) {
                for (const auto& [k, v] : kv)
                    if (k == key) return v;
                return std::string();
            };
            if (value_of(mine) != value_of(theirs))
                throw config_error("--resume", "--resume: " + path + " was made with " + key + " = " + value_of(theirs) +
                                                   "; this run asks " + value_of(mine) + ", which would be another search.");
        }
        return c;
#else
        throw config_error("--resume", "--resume needs a build with HDF5.");
#endif
    }
    app::search_config c = build(settings);
    c.replace = vm.count("replace") > 0;
    c.validate();
    return c;
}

void run_search(const std::vector<std::string>& args, std::ostream& out) {
    bool help = false;
    inputs in;
    in.cfg = parse_search_args(args, help, &in.restored);
    if (help) {
        out << search_options();
        return;
    }
    in.command_line = "fracnas search";
    for (const auto& a : args) in.command_line += " " + a;
    app::search_config& cfg = in.cfg;

    // from here on a stop signal is counted, not fatal: one during the reference's first timing
    // (seconds on a CPU) drains the search as soon as it starts
    install_stop_signals();
    const app::search_io io = search_io_of(in);
    std::string mode = cfg.dispatcher;
#ifdef FRACNAS_HAVE_MPI
    if (mode == "auto") mode = mpi::launched_by_mpi() && launched_ranks() > 1 ? "mpi" : "local";  // one rank measures itself
    if (mode == "mpi") {
        mpi::context_config m;
        m.policy = cfg.policy();
        m.join_seconds = cfg.join_timeout;
        m.shared_text = cfg.to_ini();
        m.check = [&in] { check_files(in); };
        m.make_evaluator = [](const std::string& ini, int rank) {
            app::search_config wcfg;
            try {
                std::map<std::string, setting> settings;
                read_ini(ini, "the master's configuration", search_options(), settings, false);
                wcfg = build(settings);
            } catch (const std::exception& e) {
                throw error(std::string("the worker could not read the master's configuration: ") + e.what());
            }
            return make_evaluator(wcfg, rank);
        };
        // again after MPI_Init, whatever the MPI library set; a worker ignores them: the master drains and stops it
        m.after_init = install_stop_signals;
        const auto context = mpi::make_context(m);
        app::run_search(cfg, *context, io, out);
        return;
    }
#else
    if (mode == "auto") mode = "local";
    if (mode == "mpi") throw config_error("--dispatcher", "--dispatcher mpi needs a build with MPI.");
#endif
    check_files(in);
    if (mode == "dry-run") {
        transport::dry_run_config d = cfg.dry_run;
        d.seed = cfg.seed;
        const auto context = transport::make_dry_run_context(make_evaluator(cfg, 0), d, cfg.policy(), host_name());
        app::run_search(cfg, *context, io, out);
        return;
    }
    // a CUDA device that is not there is refused by make_evaluator
    const auto context = transport::make_local_context(make_evaluator(cfg, 0), cfg.policy(), host_name());
    if (context->dispatch().pool_size() == 0)
        throw config_error("--device",
                           "the reference " + cfg.reference + " cannot be measured: " + context->dispatch().workers().front().left_reason);
    app::run_search(cfg, *context, io, out);
}

}  // namespace fracnas::cli
