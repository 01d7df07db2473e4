// `fracnas search`: the Boost table of app::search_options() (shared by the command line and the
// INI config file), reading the settings into app::search_config through that schema, the input checks that come before any write, and the
// choice of execution context. The search is app::run_search's; MPI start-up and the ranks' roles are mpi::make_context's; measuring is the
// workers'.
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
#include "fracnas/app/search_options.hpp"
#include "fracnas/data/token_file.hpp"
#include "fracnas/error.hpp"
#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/eval/scenario_mix.hpp"
#include "fracnas/transport/binding.hpp"
#include "fracnas/transport/context.hpp"
#include "fracnas/transport/dry_run_dispatcher.hpp"
#include "options.hpp"
#include "signals.hpp"
#ifdef FRACNAS_HAVE_TORCH
#include "fracnas/cli/train_options.hpp"
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

// The Boost table of app::search_options(), the one declaration of each option: the command line
// and the config file read the same table.
po::options_description search_options() {
    std::vector<std::string> only_here;  // the options a config file may not set
    for (const auto& spec : app::search_options())
        if (!spec.config_file()) only_here.push_back(spec.name);
    std::string listed;
    for (std::size_t i = 0; i < only_here.size(); ++i) listed += (i == 0 ? "" : i + 1 == only_here.size() ? " and " : ", ") + only_here[i];
    return boost_table("fracnas search options (every option but " + listed +
                           " may also be a 'key = value' line of the --config file; the command line wins)",
                       app::search_options(), 160, 80);
}

// Options that the config file may not set (they name this run's files or are switches).
bool command_line_only(const std::string& key) {
    const app::search_option* spec = app::find_search_option(key);
    return spec == nullptr || !spec->config_file();
}

// Sets one field from its option name and text. Throws config_error naming the option.
void apply(app::search_config& c, const std::string& key, const std::string& v) {
    const app::search_option* spec = app::find_search_option(key);
    if (spec == nullptr || !spec->set) throw config_error("--" + key, "unknown option '--" + key + "'.");
    spec->set(c, v);
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

// check = false: each value alone, not how they go together (a resumed run's worker, below).
app::search_config build(const std::map<std::string, setting>& settings, bool check = true) {
    app::search_config c;
    for (const auto& [key, s] : settings) {
        try {
            apply(c, key, s.value);
        } catch (const config_error& e) {
            if (s.origin.empty()) throw;
            throw config_error("--config", s.origin + ": " + key + ": " + e.what());
        }
    }
    if (!check) return c;
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

// A search that trains on --train-data (LibTorch) builds and times its models with the corpus's
// vocabulary (its train split's header): taken when --vocab is not given, checked when it is. A
// resumed search keeps its archive's (the reference's for archives from before --vocab).
void take_corpus_vocab(app::search_config& c) {
    if (c.train_data.empty()) return;
    const std::uint32_t corpus = data::read_token_file_header(c.train_data + "/train.tokens", "--train-data").vocab_size;
    if (c.vocab == 0) c.vocab = corpus;
    if (c.vocab != corpus)
        throw config_error("--vocab", "--vocab " + std::to_string(c.vocab) + " is not the vocabulary of the corpus in --train-data (" +
                                          std::to_string(corpus) + ").");
}

#ifdef FRACNAS_HAVE_TORCH
// What a torch worker of a training search trains with: the corpus of --train-data, read once,
// and recipe A with the schedule that continues to a larger budget (wsd: a promoted candidate
// continues its own state) and windows that repeat no token up to one epoch, at full speed (the
// kernels of `fracnas train --speed all`), its state saved every 200 steps (a killed training
// loses at most those; a finished one keeps only what a promotion continues). Nothing for a search
// that does not train.
std::shared_ptr<const eval::gpt_training> search_training(const app::search_config& cfg, eval::device_kind device) {
    if (!cfg.trains()) return nullptr;
    auto corpus = data::read_corpus(cfg.train_data, "--train-data");
    auto t = std::make_shared<eval::gpt_training>();
    t->vocab = corpus.vocab;
    t->train = std::make_shared<const std::vector<std::uint32_t>>(std::move(corpus.train.tokens));
    t->val = std::make_shared<const std::vector<std::uint32_t>>(std::move(corpus.val.tokens));
    train_request request;
    request.device = device == eval::device_kind::cuda ? app::device_choice::cuda : app::device_choice::cpu;
    request.recipe.schedule = eval::lr_schedule::wsd;
    request.recipe.sampling = eval::window_sampling::epoch;
    request.recipe.checkpoints = 1;
    request.recipe.state_dir = cfg.train_states;  // checked by resolved_recipe; each training's own folder is below it
    request.recipe.save_every = 200;
    t->recipe = request.resolved_recipe(device == eval::device_kind::cuda);
    t->recipe.state_dir.clear();
    t->state_root = cfg.train_states;
    t->final_tokens = cfg.rungs.back();
    t->state_limit_bytes = static_cast<std::uint64_t>(std::llround(cfg.train_states_limit * 1e9));
    return t;
}
#endif

// The resolved device of a worker: "cpu" or "cuda" with its index.
// The evaluator of cfg's one scenario, the reference built as `reference` (the search's, whose
// positions a mix's longest scenario sets). node_rank picks the GPU: MPI's node rank on an MPI
// worker, else the launcher's local rank from the environment (transport::local_rank()).
std::unique_ptr<eval::job_evaluator> make_scenario_evaluator(const app::search_config& cfg, int rank, std::optional<int> node_rank,
                                                             const nas::architecture& reference) {
    if (cfg.evaluator == app::evaluator_kind::model) {
        eval::latency_model_config m;
        m.testbed = cfg.latency_model == app::latency_model_kind::h200;
        m.prefill = cfg.latency == app::latency_kind::prefill;
        m.context = m.prefill ? cfg.tokens : cfg.context;
        m.batch = cfg.batch;
        m.cost_ms = cfg.model_cost_ms;
        m.train_ms_per_mtoken = cfg.train_ms_per_mtoken;
        m.training =
            cfg.train_model == app::train_model_kind::dlarge ? eval::simulated_training::dlarge : eval::simulated_training::chinchilla;
        m.reference = reference;
        m.faults = cfg.faults_for(rank);
        return std::make_unique<eval::latency_model_evaluator>(m);
    }
#ifdef FRACNAS_HAVE_TORCH
    const int visible = eval::cuda_device_count();
    const eval::device_kind device = cfg.resolved_device(visible);
    eval::gpt_measure_config m = cfg.measure_config(device);
    if (device == eval::device_kind::cuda) {
        if (visible == 0) throw config_error("--device", "--device cuda: this process sees no CUDA device.");
        m.cuda_index = transport::choose_gpu(visible, node_rank ? node_rank : transport::local_rank());
    }
    return eval::make_gpt_job_evaluator(m, reference, cfg.reference_builds, search_training(cfg, device));
#else
    (void)reference;
    (void)node_rank;
    throw config_error("--evaluator", "--evaluator torch needs a build with LibTorch; use --evaluator model.");
#endif
}

// The worker's evaluator: the one scenario's, or with --scenarios a serving mix of one evaluator
// per scenario, each timing it alone.
std::unique_ptr<eval::job_evaluator> make_evaluator(const app::search_config& cfg, int rank, std::optional<int> node_rank = std::nullopt) {
    const nas::architecture reference = cfg.reference_arch();
    if (cfg.scenarios.empty()) return make_scenario_evaluator(cfg, rank, node_rank, reference);
    std::vector<eval::mix_part> parts;
    for (const auto& s : cfg.scenarios) {
        app::search_config one = cfg.for_scenario(s);
        if (!parts.empty()) one.rungs.clear();  // the first scenario's evaluator trains
        parts.push_back({make_scenario_evaluator(one, rank, node_rank, reference), s.weight});
    }
    return eval::make_scenario_mix(std::move(parts));
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
        app::search_config named;
        apply(named, "resume", settings["resume"].value);  // an empty name refused
        const std::string path = named.resume;
        // held, unwritable or damaged archives refused first; an end that a failed write cut restored
        const std::string note = for_option("--resume", [&] { return hdf5::check_resumable(path, "--resume"); });
        if (restored != nullptr) *restored = note;
        const storage::archive_contents archive = for_option("--resume", [&] { return hdf5::read_archive(path); });
        std::map<std::string, setting> archived;
        read_ini(archive.header.config, path + " (its configuration)", options, archived, false);
        for (const auto& [key, value] : app::earlier_archive_defaults())  // what an archive from before a key ran with
            if (!archived.count(key)) archived[key] = setting{value, ""};
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
    // A worker of a resumed run sees the command line without the archive's configuration, which
    // the master reads and checks: a run option valid with the archive's (--inject with its
    // --evaluator model) made the workers alone exit 2, and mpirun ended the master before it spoke.
    const bool check = !settings.count("resume");
    app::search_config c = build(settings, check);
    c.replace = vm.count("replace") > 0;
    if (check) c.validate();  // --replace with the rest
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
    if (cfg.trains() && cfg.evaluator == app::evaluator_kind::torch && cfg.train_states.empty()) {
        // next to the archive, so that a resume (the same archive) finds its trainings' states
        const std::string& path = !cfg.resume.empty() ? cfg.resume : cfg.archive;
        if (path.empty())
            throw config_error("--train-states",
                               "--rungs with --evaluator torch keeps each training's state in a folder: give --archive "
                               "(the states then go to ARCHIVE.states) or --train-states DIR.");
        cfg.train_states = path + ".states";
    }
    if (cfg.trains() && cfg.evaluator == app::evaluator_kind::torch && cfg.resume.empty()) take_corpus_vocab(cfg);

    // from here on a stop signal is counted, not fatal: one during the reference's first timing
    // (seconds on a CPU) drains the search as soon as it starts
    install_stop_signals();
    const app::search_io io = search_io_of(in);
    app::dispatcher_kind mode = cfg.dispatcher;
#ifdef FRACNAS_HAVE_MPI
    if (mode == app::dispatcher_kind::automatic)  // one rank measures itself
        mode = mpi::launched_by_mpi() && launched_ranks() > 1 ? app::dispatcher_kind::mpi : app::dispatcher_kind::local;
    if (mode == app::dispatcher_kind::mpi) {
        mpi::context_config m;
        m.policy = cfg.policy();
        m.join_seconds = cfg.join_timeout;
        m.shared_text = cfg.to_ini();
        m.check = [&in] { check_files(in); };
        m.make_evaluator = [](const std::string& ini, int rank, int node_rank) {
            app::search_config wcfg;
            try {
                std::map<std::string, setting> settings;
                read_ini(ini, "the master's configuration", search_options(), settings, false);
                wcfg = build(settings);
            } catch (const std::exception& e) {
                throw error(std::string("the worker could not read the master's configuration: ") + e.what());
            }
            return make_evaluator(wcfg, rank, node_rank);
        };
        // again after MPI_Init, whatever the MPI library set; a worker ignores them: the master drains and stops it
        m.after_init = install_stop_signals;
        const auto context = mpi::make_context(m);
        app::run_search(cfg, *context, io, out);
        return;
    }
#else
    if (mode == app::dispatcher_kind::automatic) mode = app::dispatcher_kind::local;
    if (mode == app::dispatcher_kind::mpi) throw config_error("--dispatcher", "--dispatcher mpi needs a build with MPI.");
#endif
    check_files(in);
    if (mode == app::dispatcher_kind::dry_run) {
        transport::dry_run_config d = cfg.dry_run;
        d.seed = cfg.seed;
        const auto context = transport::make_dry_run_context(make_evaluator(cfg, 0), d, cfg.policy(), host_name());
        app::run_search(cfg, *context, io, out);
        return;
    }
    // a CUDA device that is not there is refused by make_evaluator
    const auto context = transport::make_local_context(make_evaluator(cfg, 0), cfg.policy(true), host_name());
    if (context->dispatch().pool_size() == 0)
        throw config_error("--device", "the reference " + std::string(app::to_string(cfg.reference)) +
                                           " cannot be measured: " + context->dispatch().workers().front().left_reason);
    app::run_search(cfg, *context, io, out);
}

}  // namespace fracnas::cli
