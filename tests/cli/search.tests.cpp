// Tests of `fracnas search` as a user runs it: every class of bad input (one line, exit 2,
// nothing written), the config file, runs with the analytic latency model and with LibTorch on
// the CPU, the archive against the printed report, the lock, stop signals, resume after SIGKILL
// at several moments, and the MPI master with two workers under mpiexec (a hung worker included).
#include <catch2/catch.hpp>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "../app/search_samples.hpp"
#include "cli_support.hpp"
#include "fracnas/app/search_options.hpp"
#include "fracnas/data/token_file.hpp"
#include "fracnas/error.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/storage/archive.hpp"
#ifdef FRACNAS_HAVE_HDF5
#include "fracnas/hdf5/archive_file.hpp"
#endif

using namespace fracnas::test;
using Catch::Matchers::Contains;
namespace storage = fracnas::storage;
namespace nas = fracnas::nas;

namespace {

std::string temp_path(const std::string& name) {
    return std::string(FRACNAS_TEST_TMP) + "/" + name + "." + std::to_string(::getpid());
}

#ifdef FRACNAS_HAVE_HDF5
bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

#endif

void write_file(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

// A quick search over a small space with the analytic latency model: no device needed.
std::vector<std::string> model_search(const std::string& budget) {
    return {"search",      "--evaluator", "model",    "--space", "homogeneous",      "--max-layers", "8",
            "--max-width", "1280",        "--budget", budget,    "--progress-every", "1000"};
}

#ifdef FRACNAS_HAVE_HDF5
// The invariants of a finished archive: the budget answered once each, each architecture
// measured once, infeasible ones never measured.
void check_archive(const storage::archive_contents& a, std::size_t budget) {
    REQUIRE(a.evaluations.size() == budget);
    std::set<std::uint64_t> ids, measured;
    for (const auto& r : a.evaluations) {
        REQUIRE(ids.insert(r.id).second);
        if (!r.feasible) {
            REQUIRE(r.worker == -1);
        } else if (!r.cached) {
            REQUIRE(measured.insert(r.hash).second);
        }
    }
    std::uint64_t asked = 0, told = 0;
    for (const auto& e : a.events) {
        if (e.what == storage::event_record::kind::ask)
            asked += e.count;
        else
            ++told;
    }
    REQUIRE(asked == budget);
    REQUIRE(told == budget);
}
#endif

}  // namespace

TEST_CASE("fracnas search: bad input is one line and exit 2", "[cli][search]") {
    check_usage_error({"search", "--algorithm", "simplex"}, "unknown algorithm 'simplex'");
    check_usage_error({"search", "--latency", "train"}, "unknown latency 'train'; valid: decode, prefill");
    check_usage_error({"search", "--max-layers", "60"}, "--max-layers must be in 2..48");
    check_usage_error({"search", "--max-width", "200"}, "multiple of 64 in 128..4096");
    check_usage_error({"search", "--min-layers", "0"}, "--min-layers must be in 1..--max-layers (24)");
    check_usage_error({"search", "--max-ffn-ratio", "1.5"}, "--max-ffn-ratio must be in 2..16");
    check_usage_error({"search", "--embed-widths", "0,256,0"}, "--embed-widths lists 0 twice");
    check_usage_error({"search", "--embed-widths", "32"}, "each width must be 0 (the tied table) or in 64..4096");
    check_usage_error({"search", "--embed-widths", "256,x"}, "--embed-widths");
    check_usage_error({"search", "--budget", "0"}, "--budget must be in 1..10000000");
    check_usage_error({"search", "--budget", "99999999999999999999999"}, "--budget");
    check_usage_error({"search", "--reference", "gpt3"}, "unknown reference 'gpt3'");
    check_usage_error({"search", "--norm", "batchnorm"}, "--norm must be layernorm or rmsnorm, got 'batchnorm'.");
    check_usage_error({"search", "--norm", "rmsnorm,rmsnorm"}, "--norm takes one or both of layernorm and rmsnorm.");
    check_usage_error({"search", "--kv-heads", "2,2"}, "the search space: the KV head choice 2 is listed twice.");
    check_usage_error({"search", "--kv-heads", "x"}, "--kv-heads");
    check_usage_error({"search", "--mlp", "swiglu", "--max-ffn-ratio", "2"},
                      "the search space: no swiglu FFN width on the 64 grid lies in the space's ratios for d_model = 128.");
    check_usage_error({"search", "--objective", "accuracy"}, "unknown objective 'accuracy'; valid: constrained, pareto");
    check_usage_error({"search", "--levels", "1,2"}, "--levels applies to --objective pareto only");
    check_usage_error({"search", "--objective", "pareto", "--levels", "1,-2"}, "floor multiples must be in (0, 1000]");
    check_usage_error({"search", "--objective", "pareto", "--levels", "1,2,3", "--budget", "2"}, "more floors than the budget");
    check_usage_error({"search", "--space", "flat"}, "unknown space 'flat'; valid: heterogeneous, homogeneous");
    check_usage_error({"search", "--queued", "1000000000"}, "--queued must be in 0..1");
    check_usage_error({"search", "--task-deadline", "0"}, "--task-deadline must be in (0, 10000000].");
    check_usage_error({"search", "--task-deadline", "soon"}, "--task-deadline: expected a finite number, got 'soon'");
    check_usage_error({"search", "--dispatcher", "dry-run"}, "must be model for a dry run");
    check_usage_error({"search", "--evaluator", "model", "--inject", "explode:1"}, "unknown fault 'explode:1'");
    check_usage_error({"search", "--replace"}, "--replace needs --archive");
    check_usage_error({"search", "--archive", ""}, "--archive needs a file name (leave the option out for none)");
    check_usage_error({"search", "--jsonl", ""}, "--jsonl needs a file name");
    check_usage_error({"search", "--resume", ""}, "--resume needs a file name");
    check_usage_error({"search", "--resume", "x.h5", "--replace"}, "--replace does not go with --resume");
    {
        const std::string both = std::string(FRACNAS_TEST_TMP) + "/same_export.h5";
        check_usage_error(
            {"search", "--evaluator", "model", "--archive", both, "--jsonl", std::string(FRACNAS_TEST_TMP) + "/./same_export.h5"},
            "is the --archive's path; give the export another file");
        std::ifstream none(both);
        REQUIRE_FALSE(none);  // refused before anything was written
    }
    check_usage_error({"search", "--config", FRACNAS_TEST_TMP},
                      std::string("--config: '") + FRACNAS_TEST_TMP + "' is a folder, not a file");
    // a training search's options
    check_usage_error({"search", "--evaluator", "model", "--rungs", "3000,2000"}, "--rungs must list budgets in ascending order");
    check_usage_error({"search", "--evaluator", "model", "--rungs", "0,2000"}, "--rungs lists 0 tokens; each budget must be in 1..1e12");
    check_usage_error({"search", "--evaluator", "model", "--rungs", "1000,2k"}, "--rungs: expected a non-negative whole number, got '2k'");
    check_usage_error({"search", "--evaluator", "model", "--rungs", "1000", "--eta", "1"}, "--eta must be in 2..100");
    check_usage_error({"search", "--evaluator", "model", "--rungs", "1000", "--max-perplexity-ratio", "0.97"},
                      "--max-perplexity-ratio must be in 1..10");
    check_usage_error({"search", "--evaluator", "model", "--rungs", "1000,3000", "--trend-probe", "0.8"},
                      "--trend-probe must be in 0..0.75");
    check_usage_error({"search", "--evaluator", "model", "--rungs", "1000,3000", "--trend-probe", "half"},
                      "--trend-probe: expected a finite number, got 'half'");
    check_usage_error({"search", "--evaluator", "model", "--rungs", "1000,3000", "--trend-calibration", "yes"},
                      "unknown trend-calibration 'yes'; valid: on, off");
    check_usage_error({"search", "--evaluator", "model", "--rungs", "1000", "--objective", "pareto"},
                      "--rungs applies to --objective constrained only");
    check_usage_error({"search", "--rungs", "1000"}, "--train-data is needed with --rungs and --evaluator torch");
    check_usage_error({"search", "--train-data", "data/corpus-v1"}, "--train-data applies with --rungs only");
    check_usage_error({"search", "--evaluator", "model", "--train-states-limit", "5"}, "--train-states-limit applies with --rungs only");
    check_usage_error({"search", "--evaluator", "model", "--rungs", "1000", "--train-states-limit", "-1"},
                      "--train-states-limit must be in 0..1000000");
    check_usage_error({"search", "--evaluator", "model", "--train-ms-per-mtoken", "5"}, "--train-ms-per-mtoken applies with --rungs only");
    check_usage_error({"search", "--rungs", "1000", "--train-data", "data/corpus-v1", "--train-ms-per-mtoken", "5"},
                      "--train-ms-per-mtoken applies to --evaluator model only");
    check_usage_error({"search", "--evaluator", "model", "--rungs", "1000", "--train-deadline", "0"},
                      "--train-deadline must be in 1..1000000");
    check_usage_error({"search", "--evaluator", "model", "--train-model", "dlarge"},
                      "--train-model applies to --evaluator model with --rungs only.");
    check_usage_error({"search", "--rungs", "1000", "--train-data", "data/corpus-v1", "--train-model", "dlarge"},
                      "--train-model applies to --evaluator model with --rungs only.");
    check_usage_error({"search", "--evaluator", "model", "--rungs", "1000", "--train-model", "d-large"},
                      "unknown train-model 'd-large'; valid: chinchilla, dlarge.");
#ifdef FRACNAS_HAVE_TORCH
    check_usage_error({"search", "--rungs", "1000", "--train-data", "data/corpus-v1"},
                      "--rungs with --evaluator torch keeps each training's state");
    {
        const std::string h5 = temp_path("no_corpus.h5");
        check_usage_error({"search", "--rungs", "1000", "--train-data", std::string(FRACNAS_TEST_TMP) + "/no-such-corpus", "--archive", h5},
                          "--train-data");
        std::ifstream none(h5);
        REQUIRE_FALSE(none);  // refused before the archive was made
    }
    {
        // a corpus of vocabulary 50: the models are built with it, and another --vocab is refused
        const std::string dir = std::string(FRACNAS_TEST_TMP) + "/vocab50_corpus", h5 = temp_path("vocab50.h5");
        ::mkdir(dir.c_str(), 0755);
        std::vector<std::uint32_t> t(3000);
        for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<std::uint32_t>(i % 50);
        fracnas::data::write_token_file(dir + "/train.tokens", t, 50);
        fracnas::data::write_token_file(dir + "/val.tokens", t, 50);
        check_usage_error({"search", "--rungs", "1000", "--train-data", dir, "--vocab", "5000", "--archive", h5},
                          "--vocab 5000 is not the vocabulary of the corpus in --train-data (50)");
        std::ifstream none(h5);
        REQUIRE_FALSE(none);
    }
#endif
    check_usage_error({"search", "--help", "--bogus"}, "bogus");  // --help does not hide a bad argument
    check_usage_error({"search", "--budget", "5", "stray"}, "unexpected argument 'stray'");
}

TEST_CASE("fracnas search --config: errors name the file, the line and the key, and the command line wins", "[cli][search]") {
    const std::string ini = temp_path("search.ini");
    write_file(ini, "# a comment\nbudget = 12\nbugdet = 3\n");
    check_usage_error({"search", "--config", ini}, ini + ":3: unknown key 'bugdet'");
    write_file(ini, "evaluator = model\nbudget = -4\n");
    check_usage_error({"search", "--config", ini}, ini + ":2: budget:");
    write_file(ini, "evaluator = model\nbudget\n");
    check_usage_error({"search", "--config", ini}, ini + ":2: expected 'key = value'");
    write_file(ini, "budget = 5\nbudget = 6\n");
    check_usage_error({"search", "--config", ini}, ini + ":2: 'budget' is set twice");
    write_file(ini, "[search]\nbudget = 5\n");
    check_usage_error({"search", "--config", ini}, ini + ":1: sections are not used");
    write_file(ini, "archive = x.h5\n");
    check_usage_error({"search", "--config", ini}, "can only be given on the command line");
    check_usage_error({"search", "--config", ini + ".missing"}, "cannot read '" + ini + ".missing'");
    // a value out of its range, found by the whole configuration's check, names its line too
    write_file(ini, "# layers\nevaluator = model\nmax-layers = 999\n");
    check_usage_error({"search", "--config", ini}, "--config: " + ini + ":3: --max-layers must be in 2..48.");
    check_usage_error({"search", "--config", ini, "--max-layers", "99"},
                      "fracnas: error: --max-layers must be in 2..48.");  // the command line's

    write_file(ini,
               "evaluator = model\nspace = homogeneous\nmax-layers = 8\nmax-width = 1280\nbudget = 500\nprogress-every = 1000\n"
               "task-deadline = auto\n");
    const outcome o = run_cli({"search", "--config", ini, "--budget", "14"});
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains("budget 14,"));                     // the command line won
    REQUIRE_THAT(o.out, Contains("over the homogeneous space (4"));  // the file filled the rest
    REQUIRE_THAT(o.out, Contains("answered    14 candidates"));
    std::remove(ini.c_str());
}

TEST_CASE("fracnas search: the option schema is the command line's table and the config file's keys", "[cli][search][options]") {
    const outcome help = run_cli({"search", "--help"});
    REQUIRE(help.code == 0);
    std::string only_here;
    for (const auto& o : fracnas::app::search_options()) {
        CAPTURE(o.name);
        // each option on its line of the help, its value's name and its sentence's start beside it
        const std::string head = "  --" + o.name + (o.value_name.empty() ? "" : " " + o.value_name);
        const auto at = help.out.find(head + " ");
        REQUIRE(at != std::string::npos);
        REQUIRE(help.out.substr(at, help.out.find('\n', at) - at).find(o.help_line().substr(0, 40)) != std::string::npos);
        const std::string ini = temp_path("schema.ini");
        if (o.config_file()) {
            // every key a config file may set is accepted from one (the default's value, which validates)
            write_file(ini, o.name + " = " + o.get(fracnas::app::search_config{}) + "\n");
            REQUIRE(run_cli({"search", "--config", ini, "--help"}).code == 0);
        } else {
            only_here += (only_here.empty() ? "" : ", ") + o.name;
            write_file(ini, "# files\n" + o.name + " = x.h5\n");
            check_usage_error({"search", "--config", ini}, ini + ":2: '" + o.name + "' can only be given on the command line.");
        }
        std::remove(ini.c_str());
    }
    REQUIRE(only_here == "config, archive, replace, resume, jsonl");
    REQUIRE_THAT(help.out, Contains("every option but config, archive, replace, resume and jsonl may also be a 'key = value' line"));
}

TEST_CASE("fracnas search: a bad enum-like value names the option and the valid values, exit 2", "[cli][search][options]") {
    const std::string ini = temp_path("enum.ini");
    for (const auto& o : fracnas::app::search_options()) {
        if (o.choices.empty()) continue;
        CAPTURE(o.name);
        std::string valid;
        for (const auto& name : o.choices) valid += (valid.empty() ? "" : ", ") + name;
        const std::string sentence = "unknown " + o.name + " 'bogus'; valid: " + valid + ".";
        check_usage_error({"search", "--" + o.name, "bogus"}, "fracnas: error: --" + o.name + ": " + sentence + "\n");
        write_file(ini, "# enum\n" + o.name + " = bogus\n");
        check_usage_error({"search", "--config", ini}, "fracnas: error: --config: " + ini + ":2: " + o.name + ": " + sentence + "\n");
    }
    std::remove(ini.c_str());
}

#ifdef FRACNAS_HAVE_HDF5
TEST_CASE("fracnas search --config: every key a config file may set reaches the archived configuration as written",
          "[cli][search][options][hdf5]") {
    for (const auto& sample : {pareto_sample(), constrained_sample(), mix_sample()}) {
        CAPTURE(sample.at("objective"));
        const std::string ini = temp_path("sample.ini"), h5 = temp_path("sample.h5");
        std::remove(h5.c_str());
        write_file(ini, as_ini(sample));
        const outcome o = run_cli({"search", "--config", ini, "--archive", h5});
        INFO(o.out << o.err);
        REQUIRE(o.code == 0);
        std::map<std::string, std::string> archived;
        for (const auto& [key, value] : fracnas::app::ini_pairs(fracnas::hdf5::read_archive(h5).header.config)) archived[key] = value;
        REQUIRE(archived == sample);
        std::remove(ini.c_str());
        std::remove(h5.c_str());
    }
}
#endif

TEST_CASE("fracnas search with the latency model in-process: report, progress, JSON lines", "[cli][search]") {
    const std::string lines = temp_path("model.jsonl");
    auto args = model_search("40");
    args.back() = "20";  // --progress-every
    args.insert(args.end(), {"--jsonl", lines});
    const outcome o = run_cli(args);
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains("workers     1 in the pool of 1"));
    REQUIRE_THAT(o.out, Contains("/40 answered ("));  // a line at the first answer past 20
    REQUIRE_THAT(o.out, Contains("progress    40/40 answered"));
    REQUIRE_THAT(o.out, Contains("ended by    budget"));
    REQUIRE_THAT(o.out, Contains("exported    40 JSON lines"));
    std::ifstream in(lines);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        REQUIRE_THAT(line, Contains("\"architecture\": \"n_layer="));
    }
    REQUIRE(n == 40);
    check_usage_error({"search", "--evaluator", "model", "--jsonl", lines}, "exists; it is never overwritten");
    // a folder that is not there is found before the search, not after it (exit 2, not 1)
    const std::string nowhere = temp_path("no-such-folder") + "/x.jsonl";
    check_usage_error({"search", "--evaluator", "model", "--jsonl", nowhere},
                      "--jsonl: cannot write '" + nowhere + "': its folder '" + temp_path("no-such-folder") + "' does not exist.");
    check_usage_error({"search", "--evaluator", "model", "--jsonl", lines + "/x.jsonl"}, "is not a folder");
    std::remove(lines.c_str());
    // the closing table counts each worker's reference timings: the first and every re-timing (one per 20 answers)
    const outcome retimed = run_cli({"search", "--evaluator", "model", "--space", "homogeneous", "--budget", "120", "--dispatcher", "local",
                                     "--reference-every", "20"});
    INFO(retimed.out << retimed.err);
    REQUIRE(retimed.code == 0);
    REQUIRE_THAT(retimed.out, Contains("(session 0): reference 6 timings, "));
}

TEST_CASE("fracnas search --dispatcher dry-run: 256 simulated workers", "[cli][search]") {
    auto args = model_search("600");
    args.insert(args.end(), {"--dispatcher", "dry-run", "--workers", "256", "--cost", "lognormal", "--cost-spread", "0.5"});
    const outcome o = run_cli(args);
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains("workers     256 in the pool of 256"));
    REQUIRE_THAT(o.out, Contains("answered    600 candidates"));
}

#ifdef FRACNAS_HAVE_TORCH
TEST_CASE("fracnas search on the CPU with LibTorch: infeasible candidates are never measured", "[cli][search]") {
    const std::string lines = temp_path("torch.jsonl");
    const outcome o = run_cli({"search", "--device",     "cpu",     "--budget",         "16", "--max-layers", "3",    "--max-width",
                               "256",    "--min-params", "1500000", "--context",        "15", "--warmup",     "0",    "--repeats",
                               "2",      "--jsonl",      lines,     "--progress-every", "16", "--dispatcher", "local"});
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains("subject to decoder parameters >= 1500000"));
    REQUIRE_THAT(o.out, Contains("rank 0 on "));
    REQUIRE_THAT(o.out, Contains(": cpu, reference "));
    std::ifstream in(lines);
    std::string line;
    int n = 0, measured = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.find("\"feasible\": false") != std::string::npos) REQUIRE_THAT(line, Contains("\"latency_ms\": null"));
        if (line.find("\"worker\": 0") != std::string::npos) {
            ++measured;
            REQUIRE_THAT(line, Contains("\"status\": \"ok\""));
        }
    }
    REQUIRE(n == 16);
    REQUIRE(measured > 0);
    std::remove(lines.c_str());
}

TEST_CASE("fracnas search --scenarios on the CPU with LibTorch: each candidate and the reference timed in every scenario",
          "[cli][search]") {
    const std::string lines = temp_path("torch_mix.jsonl");
    const outcome o = run_cli({"search",
                               "--device",
                               "cpu",
                               "--budget",
                               "4",
                               "--max-layers",
                               "2",
                               "--max-width",
                               "128",
                               "--min-params",
                               "1",
                               "--scenarios",
                               "decode:3x40,prefill:1x16:2",
                               "--warmup",
                               "0",
                               "--repeats",
                               "1",
                               "--jsonl",
                               lines,
                               "--dispatcher",
                               "local"});
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    std::ifstream in(lines);
    std::string line;
    int measured = 0;
    while (std::getline(in, line)) {
        if (line.find("\"worker\": 0") == std::string::npos) continue;
        ++measured;
        REQUIRE_THAT(line, Contains("\"status\": \"ok\""));
        REQUIRE_THAT(line, Contains("context=1024"));  // the reference's 1,024 positions hold both scenarios
        const auto at = line.find("\"scenario_ms\": [");
        REQUIRE(at != std::string::npos);
        double decode = 0.0, prefill = 0.0;
        REQUIRE(std::sscanf(line.c_str() + at, "\"scenario_ms\": [%lf, %lf]", &decode, &prefill) == 2);
        REQUIRE(decode > 0.0);
        REQUIRE(prefill > 0.0);
    }
    REQUIRE(measured > 0);
    std::remove(lines.c_str());
}
#endif

#ifdef FRACNAS_HAVE_HDF5
TEST_CASE("fracnas search --archive: refused when it exists, and its report is what the archive holds", "[cli][search][hdf5]") {
    const std::string h5 = temp_path("run.h5");
    std::remove(h5.c_str());
    auto args = model_search("30");
    args.insert(args.end(), {"--archive", h5});
    const outcome o = run_cli(args);
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    const auto a = fracnas::hdf5::read_archive(h5);
    check_archive(a, 30);
    REQUIRE(a.sessions.size() == 1);
    REQUIRE(a.sessions[0].ended_by == "budget");
    std::string typed = "fracnas";
    for (const auto& arg : std::vector<std::string>(args.begin(), args.end())) typed += " " + arg;
    REQUIRE(a.sessions[0].command_line == typed);  // the session's own command, as docs/archive.md says
    REQUIRE(a.header.command_line == typed);
    REQUIRE_THAT(a.header.config, Contains("budget = 30"));
    REQUIRE_THAT(a.header.command_line, Contains("--archive " + h5));
    // the best row printed is the best row archived
    double best = 1e300;
    for (const auto& r : a.evaluations)
        if (!r.cached && r.feasible && r.out.status == fracnas::eval::outcome_status::ok) best = std::min(best, r.ratio);
    char text[32];
    std::snprintf(text, sizeof text, " x%.3f ", best);
    REQUIRE_THAT(o.out, Contains(text));

    const auto before = a.evaluations.size();
    check_usage_error(args, "exists");  // never overwritten
    REQUIRE(fracnas::hdf5::read_archive(h5).evaluations.size() == before);
    auto replace = args;
    replace.push_back("--replace");
    REQUIRE(run_cli(replace).code == 0);

    check_usage_error({"search", "--resume", h5 + ".missing"}, "--resume: archive '" + h5 + ".missing' does not exist");
    const std::string text_file = temp_path("not-an-archive.h5");
    write_file(text_file, "hello\n");
    check_usage_error({"search", "--resume", text_file}, text_file);
    // a damaged archive: named by the option given, as analyze names it (exit 2, one line); cut so
    // short that with its end restored (zeros) it still cannot be read, and left as it was
    const std::string cut = temp_path("cut.h5");
    {
        std::ifstream in(h5, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::ofstream(cut, std::ios::binary) << bytes.substr(0, 2048);
    }
    check_usage_error({"search", "--resume", cut}, "--resume: archive '" + cut + "' is damaged: ");
    REQUIRE(std::ifstream(cut, std::ios::binary | std::ios::ate).tellg() == 2048);
    std::remove(cut.c_str());
    check_usage_error({"search", "--resume", h5, "--budget", "31"}, "was made with budget = 30; this run asks 31");
    std::remove(text_file.c_str());
    std::remove(h5.c_str());
}

namespace {

// Starts the program command[0] with the rest as its arguments, output to log; returns its pid.
pid_t spawn_program(std::vector<std::string> command, const std::string& log) {
    std::fflush(stdout);  // or the child's freopen writes the parent's buffer a second time
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        std::FILE* f = std::freopen(log.c_str(), "w", stdout);
        (void)f;
        ::dup2(STDOUT_FILENO, STDERR_FILENO);  // 2>&1: one offset, so neither stream writes over the other
        std::vector<char*> argv;
        for (auto& a : command) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

// Starts the real executable with args, output to log; returns its pid.
pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
    std::vector<std::string> command = {FRACNAS_BINARY};
    command.insert(command.end(), args.begin(), args.end());
    return spawn_program(command, log);
}

int wait_exit(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Waits (at most a minute, looking every `poll`) until log holds text.
void wait_for_text(const std::string& log, const std::string& text, std::chrono::milliseconds poll = std::chrono::milliseconds(50)) {
    const auto t0 = std::chrono::steady_clock::now();
    while (read_text(log).find(text) == std::string::npos && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
        std::this_thread::sleep_for(poll);
}

std::size_t measured_rows(const storage::archive_contents& a) {
    std::size_t n = 0;
    for (const auto& r : a.evaluations) n += r.feasible && !r.cached;
    return n;
}

}  // namespace

TEST_CASE("an archive written by an earlier fracnas (schema 1, commit 3ce3eba) resumes and is appended to", "[cli][search][hdf5][resume]") {
    // tests/data/archives/schema1_3ce3eba.h5: `fracnas search --evaluator model --budget 60 --archive
    // fx.h5 --time-limit 0.004` by the tree of 3ce3eba, 11 answers. Its status enum has the six
    // evaluation statuses of that time: the rows written now must convert to it (HDF5 converts
    // enums by name and refused when the memory type had members the file's lacked)
    const std::string h5 = temp_path("schema1_resume.h5");
    {
        std::ifstream in(std::string(FRACNAS_DATA) + "/../archives/schema1_3ce3eba.h5", std::ios::binary);
        REQUIRE(in);
        std::ofstream out(h5, std::ios::binary | std::ios::trunc);
        out << in.rdbuf();
    }
    const auto before = fracnas::hdf5::read_archive(h5);
    REQUIRE(before.evaluations.size() == 11);
    const outcome o = run_cli({"search", "--resume", h5});
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    const auto after = fracnas::hdf5::read_archive(h5);
    REQUIRE(after.evaluations.size() > before.evaluations.size());  // its --time-limit 0.004 holds again: a few more
    check_archive(after, after.evaluations.size());
    REQUIRE(after.sessions.size() == 2);
    for (std::size_t i = 0; i < before.evaluations.size(); ++i) REQUIRE(after.evaluations[i].arch == before.evaluations[i].arch);
    // an archive from before --vocab goes on with the reference's vocabulary
    REQUIRE_THAT(after.evaluations.back().arch, Contains("vocab=50257"));
}

TEST_CASE("fracnas search --vocab builds and times every model with that vocabulary, and the archive keeps it", "[cli][search][hdf5]") {
    const std::string h5 = temp_path("vocab.h5");
    std::remove(h5.c_str());
    const outcome o = run_cli({"search", "--evaluator", "model", "--vocab", "32768", "--budget", "12", "--archive", h5});
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    const auto a = fracnas::hdf5::read_archive(h5);
    REQUIRE(a.evaluations.size() == 12);
    for (const auto& r : a.evaluations) REQUIRE_THAT(r.arch, Contains(" vocab=32768 "));
    REQUIRE_THAT(a.header.config, Contains("vocab = 32768"));
    // the modelled latency of the same shape is lower with the smaller output layer
    const std::string h5_default = temp_path("vocab_default.h5");
    std::remove(h5_default.c_str());
    REQUIRE(run_cli({"search", "--evaluator", "model", "--budget", "12", "--archive", h5_default}).code == 0);
    const auto b = fracnas::hdf5::read_archive(h5_default);
    REQUIRE_THAT(b.evaluations.front().arch, Contains(" vocab=50257 "));
    REQUIRE(a.evaluations.front().out.value < b.evaluations.front().out.value);
    std::remove(h5.c_str());
    std::remove(h5_default.c_str());
}

TEST_CASE("fracnas search --reference smollm2-135m: Llama's block for every candidate, --mlp and --kv-heads as coordinates, archived",
          "[cli][search][hdf5]") {
    const std::string h5 = temp_path("llama.h5");
    std::remove(h5.c_str());
    const outcome o = run_cli({"search", "--evaluator", "model", "--reference", "smollm2-135m", "--mlp", "gelu,swiglu", "--kv-heads",
                               "1,3,0", "--budget", "40", "--archive", h5});
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    const auto a = fracnas::hdf5::read_archive(h5);
    REQUIRE(a.evaluations.size() == 40);
    std::set<std::string> mlps, kv;
    for (const auto& r : a.evaluations) {
        const auto arch = nas::parse_architecture(r.arch);
        REQUIRE(arch.norm == nas::norm_kind::rms_norm);  // the reference's, fixed
        REQUIRE(arch.positions == nas::position_kind::rotary);
        REQUIRE_FALSE(arch.bias);
        REQUIRE(arch.vocab == 49152);
        mlps.insert(nas::block_option(arch, "mlp"));
        for (std::uint32_t l = 0; l < arch.n_layer; ++l) kv.insert(nas::kv_heads(arch, l) == arch.n_head[l] ? "all" : "grouped");
    }
    REQUIRE(mlps.size() == 2);
    REQUIRE(kv.size() == 2);
    REQUIRE_THAT(a.header.config, Contains("reference = smollm2-135m"));
    REQUIRE_THAT(a.header.config, Contains("mlp = gelu,swiglu"));
    REQUIRE_THAT(a.header.config, Contains("norm = rmsnorm"));
    REQUIRE_THAT(a.header.config, Contains("kv-heads = 1,3,0"));
    // resumed with another block option: the problem changed, refused in one sentence
    const outcome changed = run_cli({"search", "--resume", h5, "--mlp", "swiglu"});
    REQUIRE(changed.code == 2);
    REQUIRE_THAT(changed.err, Contains("mlp"));
    std::remove(h5.c_str());
}

TEST_CASE("fracnas search --batch 16 --context 2047: every model has 2,048 positions, the scenario is the objective and archived",
          "[cli][search][hdf5]") {
    const std::string h5 = temp_path("batch.h5"), h5_one = temp_path("batch1.h5");
    std::remove(h5.c_str());
    std::remove(h5_one.c_str());
    const outcome o = run_cli({"search", "--evaluator", "model", "--batch", "16", "--context", "2047", "--budget", "12", "--archive", h5});
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains("objective   minimise decode latency at 16 x 2047 cached tokens (ratio to gpt2-small"));
    const auto a = fracnas::hdf5::read_archive(h5);
    REQUIRE(a.evaluations.size() == 12);
    for (const auto& r : a.evaluations) REQUIRE_THAT(r.arch, Contains(" context=2048"));
    REQUIRE_THAT(a.header.config, Contains("batch = 16"));
    REQUIRE_THAT(a.header.config, Contains("context = 2047"));
    // the same search at batch 1: the same first candidate, a lower modelled latency (its caches' bytes)
    REQUIRE(run_cli({"search", "--evaluator", "model", "--context", "2047", "--budget", "12", "--archive", h5_one}).code == 0);
    const auto b = fracnas::hdf5::read_archive(h5_one);
    REQUIRE(b.evaluations.front().arch == a.evaluations.front().arch);
    REQUIRE(b.evaluations.front().out.value < a.evaluations.front().out.value);
    check_usage_error({"search", "--batch", "0"}, "--batch must be in 1..1024");
    check_usage_error({"search", "--context", "131072"}, "--context must be in 0..131071");
    check_usage_error({"search", "--evaluator", "model", "--latency-model", "h200", "--batch", "8"}, "batch 1 only");
    std::remove(h5.c_str());
    std::remove(h5_one.c_str());
}

TEST_CASE("fracnas search --scenarios: a serving mix, each scenario's latencies archived and exported, the ratio their weighted mean",
          "[cli][search][hdf5]") {
    const std::string h5 = temp_path("mix.h5"), lines = temp_path("mix.jsonl");
    std::remove(h5.c_str());
    std::remove(lines.c_str());
    const outcome o = run_cli({"search", "--evaluator", "model", "--scenarios", "decode:1x1023,decode:32x4095:0.5,prefill:1x2048:2",
                               "--budget", "12", "--measurements", "6", "--archive", h5, "--jsonl", lines});
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains("objective   minimise the weighted mean latency ratio of 3 scenarios: decode latency at 1 x 1023 cached "
                                 "tokens x1; decode latency at 32 x 4095 cached tokens x0.5; prefill latency of 1 x 2048 tokens x2; "
                                 "(ratio to gpt2-small"));
    const auto a = fracnas::hdf5::read_archive(h5);
    REQUIRE(a.header.scenarios == 3);
    REQUIRE(a.header.schema == fracnas::storage::schema_version);
    REQUIRE_THAT(a.header.config, Contains("scenarios = decode:1x1023,decode:32x4095:0.5,prefill:1x2048:2"));
    std::size_t measured = 0;
    for (const auto& r : a.evaluations) {
        REQUIRE_THAT(r.arch, Contains(" context=4096"));  // the longest scenario's positions
        if (r.cached || !r.feasible) continue;
        ++measured;
        REQUIRE(r.out.scenario_ms.size() == 3);
        REQUIRE(r.out.scenario_reference_ms.size() == 3);
        const double weights[] = {1.0, 0.5, 2.0};
        double mean = 0.0;
        for (std::size_t k = 0; k < 3; ++k) mean += weights[k] * r.out.scenario_ms[k] / r.out.scenario_reference_ms[k];
        REQUIRE(r.ratio == Approx(mean / 3.5).epsilon(1e-12));
    }
    REQUIRE(measured > 0);
    // the report and analyze give each scenario's ratio beside the mix's
    REQUIRE_THAT(o.out, Contains(" (scenarios x"));
    const outcome report = run_cli({"analyze", h5});
    REQUIRE(report.code == 0);
    REQUIRE_THAT(report.out, Contains(" (scenarios x"));
    const outcome json = run_cli({"analyze", h5, "--json", "-"});
    REQUIRE(json.code == 0);
    REQUIRE_THAT(json.out, Contains("\"scenario_ratios\": ["));
    std::ifstream in(lines);
    std::string line;
    REQUIRE(std::getline(in, line));
    REQUIRE_THAT(line, Contains("\"scenario_ms\": ["));
    REQUIRE_THAT(line, Contains("\"scenario_reference_ms\": ["));
    // resumed without the measurements' limit: the mix comes back from the archive, the search goes on to its budget
    const std::size_t before = a.evaluations.size();
    REQUIRE(before < 12);
    const outcome more = run_cli({"search", "--resume", h5, "--measurements", "0"});
    INFO(more.out << more.err);
    REQUIRE(more.code == 0);
    const auto b = fracnas::hdf5::read_archive(h5);
    REQUIRE(b.evaluations.size() == 12);
    for (std::size_t i = before; i < b.evaluations.size(); ++i)
        if (!b.evaluations[i].cached && b.evaluations[i].feasible) REQUIRE(b.evaluations[i].out.scenario_ms.size() == 3);
    check_usage_error({"search", "--scenarios", "decode:1x1023", "--batch", "4"},
                      "--scenarios replaces --latency, --context, --tokens and --batch; leave those at their defaults.");
    check_usage_error({"search", "--scenarios", "decode:1x1023,decode:1x1023:2"}, "--scenarios lists decode:1x1023:2 twice");
    check_usage_error({"search", "--scenarios", "train:1x10"}, "'train:1x10' is not a scenario (the kind is decode or prefill)");
    check_usage_error({"search", "--scenarios", "decode:0x10"}, "(the batch must be in 1..1024)");
    check_usage_error({"search", "--scenarios", "prefill:1x10:-1"}, "(the weight must be in (0, 1e6])");
    check_usage_error({"search", "--scenarios", "decode:1x1023", "--evaluator", "model", "--latency-model", "h200"},
                      "--scenarios needs the analytic latency model or the torch evaluator.");
    std::remove(h5.c_str());
    std::remove(lines.c_str());
}

TEST_CASE("a SIGKILL loses at most the answers of the last --flush-seconds + 0.25 s (the group commit)", "[cli][search][hdf5][resume]") {
    // docs/archive.md: flushed every --flush-seconds (default 1) whether results came or not, the loop
    // waking at least every 0.25 s. The archive's times count from the dispatcher's start, which comes
    // before the master prints its workers: from the moment this test reads that line, the master's
    // clock at the kill is at least the time since then, and every answer that ended more than 1.25 s
    // before it must be on disk. 20 ms answers, one after another, so the last flushed one is close to
    // the last flush; 0.5 s of slack for a busy machine, still short of the 2.5 s an archive flushed
    // only at its start would lose (--flush-seconds 3600 fails here).
    const std::string h5 = temp_path("group_commit.h5"), log = temp_path("group_commit.log");
    std::remove(h5.c_str());
    std::remove(log.c_str());
    auto args = model_search("100000");
    args.insert(args.end(), {"--model-cost-ms", "20", "--archive", h5, "--dispatcher", "local"});
    const pid_t pid = spawn(args, log);
    wait_for_text(log, "workers     1 in the pool of 1", std::chrono::milliseconds(10));
    const auto printed = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    const double clock_at_kill = std::chrono::duration<double>(std::chrono::steady_clock::now() - printed).count();
    ::kill(pid, SIGKILL);
    wait_exit(pid);
    INFO(read_text(log));
    const auto a = fracnas::hdf5::read_archive(h5);
    REQUIRE_FALSE(a.evaluations.empty());
    double last_ended = 0.0;
    for (const auto& r : a.evaluations) last_ended = std::max(last_ended, r.ended);
    CAPTURE(clock_at_kill, last_ended, a.evaluations.size());
    REQUIRE(last_ended >= clock_at_kill - 1.25 - 0.5);
    std::remove(h5.c_str());
    std::remove((h5 + ".lock").c_str());  // the killed run's lock
    std::remove(log.c_str());
}

TEST_CASE("resume after SIGKILL at five moments: nothing flushed is lost or measured again", "[cli][search][hdf5][resume]") {
    const std::string h5 = temp_path("killed.h5"), log = temp_path("killed.log");
    for (int delay_ms : {150, 400, 700, 1000, 1400}) {
        std::remove(h5.c_str());
        auto args = model_search("70");
        args.insert(args.end(), {"--model-cost-ms", "40", "--archive", h5, "--dispatcher", "local"});
        const pid_t pid = spawn(args, log);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        ::kill(pid, SIGKILL);
        wait_exit(pid);
        INFO("killed after " << delay_ms << " ms");
        if (!exists(h5)) continue;  // killed before it created the archive: nothing to resume
        storage::archive_contents flushed;
        try {
            flushed = fracnas::hdf5::read_archive(h5);
        } catch (const fracnas::config_error& e) {
            FAIL("a killed run left an archive that does not open: " << e.what());
        }
        const outcome o = run_shell(std::string(FRACNAS_BINARY) + " search --resume " + h5 + " 2>&1");
        INFO(o.out);
        REQUIRE(o.code == 0);
        const auto done = fracnas::hdf5::read_archive(h5);
        check_archive(done, 70);
        // every flushed record is still there, unchanged, and was not measured again
        std::map<std::uint64_t, const storage::evaluation_record*> by_id;
        for (const auto& r : done.evaluations) by_id[r.id] = &r;
        for (const auto& r : flushed.evaluations) {
            REQUIRE(by_id.count(r.id) == 1);
            REQUIRE(by_id[r.id]->arch == r.arch);
            REQUIRE(by_id[r.id]->told == r.told);
            REQUIRE(by_id[r.id]->worker == r.worker);
        }
        REQUIRE(measured_rows(done) >= measured_rows(flushed));
        REQUIRE(done.events.size() >= flushed.events.size());
        for (std::size_t i = 0; i < flushed.events.size(); ++i) REQUIRE(done.events[i].first == flushed.events[i].first);
        bool resumed = false;
        for (const auto& s : done.sessions) resumed = resumed || s.session >= 1;
        REQUIRE(resumed);
#ifdef FRACNAS_PYTHON
        const outcome py = run_shell(std::string(FRACNAS_PYTHON) +
                                     " -c \"import h5py,sys; f=h5py.File(sys.argv[1],'r'); "
                                     "print(len(f['evaluations']), len(f['events']))\" " +
                                     h5 + " 2>&1");
        INFO(py.out);
        REQUIRE(py.code == 0);
        REQUIRE(py.out == "70 " + std::to_string(done.events.size()) + "\n");
#endif
    }
    std::remove(h5.c_str());
    std::remove(log.c_str());
}

TEST_CASE("a training search SIGKILLed during its trainings resumes, trains nothing finished again and reports its ladder",
          "[cli][search][hdf5][resume][train]") {
    const std::string h5 = temp_path("killed_training.h5"), log = temp_path("killed_training.log");
    auto args = model_search("40");
    // simulated trainings of 20, 60 and 180 ms, timings of 5 ms; the floor at half the reference's
    args.insert(args.end(), {"--rungs", "1000000,3000000,9000000", "--train-ms-per-mtoken", "20", "--model-cost-ms", "5", "--min-params",
                             "42000000", "--archive", h5, "--dispatcher", "local"});
    int resumed_runs = 0;
    for (int delay_ms : {300, 900, 1800}) {
        std::remove(h5.c_str());
        const pid_t pid = spawn(args, log);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        ::kill(pid, SIGKILL);
        wait_exit(pid);
        INFO("killed after " << delay_ms << " ms");
        if (!exists(h5)) continue;
        const auto flushed = fracnas::hdf5::read_archive(h5);
        ++resumed_runs;
        const outcome o = run_shell(std::string(FRACNAS_BINARY) + " search --resume " + h5 + " 2>&1");
        INFO(o.out);
        REQUIRE(o.code == 0);
        REQUIRE_THAT(o.out, Contains("trainings   ") && Contains("answer      "));
        const auto done = fracnas::hdf5::read_archive(h5);
        check_archive(done, 40);
        REQUIRE(done.header.schema == storage::schema_version);
        // each training once over both sessions: a finished one was never run again
        std::set<std::tuple<bool, std::uint64_t, std::uint32_t, std::uint64_t>> trained;
        for (const auto& t : done.search_trainings) REQUIRE(trained.insert({t.reference, t.hash, t.rung, t.seed}).second);
        // what was flushed before the kill is still there, unchanged
        REQUIRE(done.search_trainings.size() >= flushed.search_trainings.size());
        for (std::size_t i = 0; i < flushed.search_trainings.size(); ++i) {
            REQUIRE(done.search_trainings[i].hash == flushed.search_trainings[i].hash);
            REQUIRE(done.search_trainings[i].val_perplexity == flushed.search_trainings[i].val_perplexity);
        }
        bool resumed_trained = false;
        for (const auto& t : done.search_trainings) resumed_trained = resumed_trained || t.session >= 1;
        REQUIRE(resumed_trained);
#ifdef FRACNAS_PYTHON
        const outcome py = run_shell(std::string(FRACNAS_PYTHON) +
                                     " -c \"import h5py,sys; f=h5py.File(sys.argv[1],'r'); "
                                     "print(len(f['search_trainings']), f.attrs['schema_version'])\" " +
                                     h5 + " 2>&1");
        INFO(py.out);
        REQUIRE(py.code == 0);
        REQUIRE(py.out == std::to_string(done.search_trainings.size()) + " " + std::to_string(storage::schema_version) + "\n");
#endif
    }
    REQUIRE(resumed_runs >= 2);  // the kills came after the archive was made
    std::remove(h5.c_str());
    std::remove(log.c_str());
}

TEST_CASE("a file-size limit cuts the archive: exit 1 with the write's sentence, no crash, --resume restores its end and continues",
          "[cli][search][hdf5][resume]") {
    const std::string h5 = temp_path("cut.h5");
    std::remove(h5.c_str());
    std::remove((h5 + ".lock").c_str());
    // ulimit -f 64: writes past 64 KiB fail (SIGXFSZ ignored, EFBIG), part-way through the run
    const outcome cut = run_shell("ulimit -f 64; " + std::string(FRACNAS_BINARY) +
                                  " search --evaluator model --budget 3000 --seed 1 --archive " + h5 + " 2>&1");
    INFO(cut.out);
    REQUIRE(cut.code == 1);
    REQUIRE_THAT(cut.out, Contains("fracnas: error: HDF5 call H5Dwrite failed on archive '" + h5 + "'"));
    REQUIRE_THAT(cut.out, Contains("File too large (errno 27)."));
    const outcome seen = run_shell(std::string(FRACNAS_BINARY) + " analyze " + h5 + " 2>&1");
    INFO(seen.out);
    REQUIRE(seen.code == 2);
    REQUIRE_THAT(seen.out, Contains("a search's --resume restores its end"));
    const outcome resumed = run_shell(std::string(FRACNAS_BINARY) + " search --resume " + h5 + " 2>&1");
    INFO(resumed.out);
    REQUIRE(resumed.code == 0);
    REQUIRE_THAT(resumed.out, Contains("restored    its end, cut short by a failed write, restored with zeros ("));
    REQUIRE_THAT(resumed.out, Contains("(resumed: "));
    const auto after = fracnas::hdf5::read_archive(h5);
    REQUIRE(after.evaluations.size() == 3000);
    std::set<std::uint64_t> ids;
    for (const auto& e : after.evaluations) ids.insert(e.id);
    REQUIRE(ids.size() == 3000);  // none measured twice, none lost
}

TEST_CASE("SIGTERM stops asking, drains, flushes and exits 0, a second run on the archive is refused while it runs, analyze reads it",
          "[cli][search][hdf5]") {
    const std::string h5 = temp_path("term.h5"), log = temp_path("term.log");
    std::remove(h5.c_str());
    std::vector<std::string> args = {
        "search", "--evaluator", "model",  "--space",         "homogeneous", "--max-layers", "8", "--max-width",  "1280", "--budget",
        "2000",   "--algorithm", "random", "--model-cost-ms", "20",          "--archive",    h5,  "--dispatcher", "local"};
    const pid_t pid = spawn(args, log);
    for (int i = 0; i < 100 && !exists(h5); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const outcome second = run_shell(std::string(FRACNAS_BINARY) + " search --resume " + h5 + " 2>&1");
    REQUIRE(second.code == 2);
    REQUIRE_THAT(second.out, Contains("fracnas: error:"));
    REQUIRE_THAT(second.out, Contains(h5));
    // fracnas analyze reads the archive while the run writes it (SWMR): no session closed yet
    const outcome live = run_shell(std::string(FRACNAS_BINARY) + " analyze " + h5 + " 2>&1");
    INFO(live.out);
    REQUIRE(live.code == 0);
    REQUIRE_THAT(live.out, Contains("sessions    0, wall"));
    REQUIRE_THAT(live.out, Contains("(no session closed: in progress or killed)"));
    ::kill(pid, SIGTERM);
    REQUIRE(wait_exit(pid) == 0);
    std::ifstream in(log);
    const std::string printed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(printed);
    REQUIRE_THAT(printed, Contains("signal      stop asking"));
    REQUIRE_THAT(printed, Contains("ended by    signal"));
    const auto a = fracnas::hdf5::read_archive(h5);
    REQUIRE(a.sessions.size() == 1);
    REQUIRE(a.sessions[0].ended_by == "signal");
    REQUIRE(a.evaluations.size() < 2000);
    std::remove(h5.c_str());
    std::remove(log.c_str());
}

#ifdef FRACNAS_HAVE_TORCH
TEST_CASE("SIGTERM during the reference's first timing drains the search as it starts: exit 0, a session ended by signal",
          "[cli][search][hdf5]") {
    const std::string h5 = temp_path("signal_early.h5"), log = temp_path("signal_early.log");
    std::remove(h5.c_str());
    // GPT-2 medium built and timed on the CPU takes seconds; the archive is created only after it
    const pid_t pid = spawn({"search", "--device", "cpu", "--reference", "gpt2-medium", "--budget", "8", "--max-layers", "3", "--max-width",
                             "256", "--min-params", "1500000", "--context", "15", "--archive", h5, "--dispatcher", "local"},
                            log);
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));  // started (LibTorch loaded); 20 s of timing measured here
    REQUIRE_FALSE(exists(h5));                                     // still timing the reference
    ::kill(pid, SIGTERM);
    const int code = wait_exit(pid);
    std::ifstream in(log);
    const std::string printed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(printed);
    REQUIRE(code == 0);  // before: killed by the signal (143), no archive, no report
    REQUIRE_THAT(printed, Contains("ended by    signal"));
    const auto a = fracnas::hdf5::read_archive(h5);
    REQUIRE(a.sessions.size() == 1);
    REQUIRE(a.sessions[0].ended_by == "signal");
    REQUIRE(a.evaluations.size() < 8);
    std::remove(h5.c_str());
    std::remove(log.c_str());
}
#endif

#ifdef FRACNAS_HAVE_MPI
namespace {
// As root (CI) Open MPI wants its consent in the environment.
const std::string mpi_consent = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ";

// mpiexec for the tests, with that consent.
std::string mpiexec() {
    return mpi_consent + FRACNAS_MPIEXEC;
}

// A model search of a small homogeneous space on a master and two workers, archived to h5.
outcome mpi_search(const std::string& h5, const std::string& flags) {
    std::remove(h5.c_str());
    return run_shell(mpiexec() + " -n 3 --oversubscribe " + FRACNAS_BINARY +
                     " search --evaluator model --space homogeneous --max-layers 8 --max-width 1280 " + flags + " --archive " + h5 +
                     " 2>&1");
}
}  // namespace

TEST_CASE("mpiexec -n 3: a master and two workers, and the archive holds what the master reported", "[cli][search][mpi]") {
    const std::string h5 = temp_path("mpi.h5");
    const outcome o = mpi_search(h5, "--model-cost-ms 10 --budget 80");
    INFO(o.out);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains("workers     2 in the pool of 2"));
    // plain mpiexec keeps Open MPI's 1 s: too short for the default --grace 120, and the master says so
    REQUIRE_THAT(o.out, Contains("warning     under mpirun a SIGTERM or Ctrl-C reaches the ranks after 1 s and SIGKILL after 2 s "
                                 "(odls_base_sigkill_timeout), too soon to drain --grace 120 s: export "
                                 "OMPI_MCA_odls_base_sigkill_timeout=126 before mpirun, or signal mpirun with SIGUSR1"));
    // where Open MPI launches with plm = isolated (containers without ssh), mpirun forwards SIGUSR1
    // to no rank (docs/results/signals_2026-12-03/): the warning does not offer it
    {
        const std::string isolated_h5 = temp_path("mpi_isolated.h5");
        std::remove(isolated_h5.c_str());
        const outcome i = run_shell("OMPI_MCA_plm=isolated " + mpiexec() + " -n 3 --oversubscribe " + FRACNAS_BINARY +
                                    " search --evaluator model --space homogeneous --max-layers 8 --max-width 1280 --budget 10 --archive " +
                                    isolated_h5 + " 2>&1");
        INFO(i.out);
        REQUIRE(i.code == 0);
        REQUIRE_THAT(i.out, Contains("OMPI_MCA_odls_base_sigkill_timeout=126 before mpirun\n"));
        std::remove(isolated_h5.c_str());
    }
    const auto a = fracnas::hdf5::read_archive(h5);
    check_archive(a, 80);
    REQUIRE(a.header.ranks == 3);
    std::set<int> ranks;
    for (const auto& r : a.evaluations)
        if (r.feasible && !r.cached) ranks.insert(r.worker);
    REQUIRE(ranks == std::set<int>{1, 2});  // both workers measured
    REQUIRE(a.workers.size() == 2);
    REQUIRE_THAT(o.out, Contains("answered    " + std::to_string(a.evaluations.size()) + " candidates"));
    std::remove(h5.c_str());
}

TEST_CASE("mpiexec -n 3: a training search sends timings and trainings to both workers and archives every training",
          "[cli][search][mpi][train]") {
    const std::string h5 = temp_path("mpi_train.h5");
    const outcome o = mpi_search(h5,
                                 "--model-cost-ms 5 --budget 40 --rungs 1000000,3000000,9000000 --train-ms-per-mtoken 10 "
                                 "--min-params 42000000");
    INFO(o.out);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains("workers     2 in the pool of 2") && Contains("trainings   "));
    const auto a = fracnas::hdf5::read_archive(h5);
    check_archive(a, 40);
    std::set<int> timed_by, trained_by;
    for (const auto& r : a.evaluations)
        if (r.feasible && !r.cached) timed_by.insert(r.worker);
    std::set<std::tuple<bool, std::uint64_t, std::uint32_t, std::uint64_t>> trained;
    std::set<std::uint32_t> rungs;
    for (const auto& t : a.search_trainings) {
        trained_by.insert(t.worker);
        rungs.insert(t.rung);
        REQUIRE(t.status == fracnas::eval::outcome_status::ok);
        REQUIRE(std::isfinite(t.val_perplexity));
        REQUIRE(trained.insert({t.reference, t.hash, t.rung, t.seed}).second);
    }
    REQUIRE(timed_by == std::set<int>{1, 2});
    REQUIRE(trained_by == std::set<int>{1, 2});
    REQUIRE(rungs == std::set<std::uint32_t>{0, 1, 2});  // promotions reached the top rung
    std::remove(h5.c_str());
}

// Starts a shell command line, output to log; returns its pid (the command's own when the line execs it).
pid_t spawn_shell(const std::string& command, const std::string& log) {
    return spawn_program({"/bin/sh", "-c", command}, log);
}

TEST_CASE(
    "mpiexec -n 3 through search_local.sh: SIGTERM, or SIGUSR1 where mpirun forwards none, to the script with 3 s tasks in "
    "flight drains them at once, then the report, the session row and exit 0",
    "[cli][search][mpi]") {
    // where mpirun forwards SIGUSR1 to no rank (Open MPI 4.1.6 with plm = isolated on the H200 machine,
    // docs/results/signals_2026-12-03/; here: ess_base_forward_signals=none, with which mpiexec itself dies of
    // SIGUSR1), and SIGTERM, which Open MPI never forwards: the script passes SIGUSR1 to the ranks itself
    const auto [signal, mpi_env] =
        GENERATE(std::make_pair(SIGTERM, std::string()), std::make_pair(SIGUSR1, std::string("OMPI_MCA_ess_base_forward_signals=none ")));
    CAPTURE(signal, mpi_env);
    const std::string h5 = temp_path("mpirun_term.h5"), log = temp_path("mpirun_term.log");
    std::remove(h5.c_str());
    std::remove(log.c_str());  // the readiness poll below must not read an older run's lines
    // GPUS=0 WORKERS=2: mpiexec -n 3 --bind-to none --oversubscribe; SIGKILL_TIMEOUT=30: a SIGTERM that went
    // to mpiexec would reach the ranks only 30 s later (Open MPI's odls_base_sigkill_timeout)
    // exec down to the script (sh, then bash): the pid signalled is the script's, mpiexec its child
    const pid_t pid =
        spawn_shell(mpi_consent + mpi_env + "SIGKILL_TIMEOUT=30 GPUS=0 WORKERS=2 MPIRUN=" + FRACNAS_MPIEXEC + " FRACNAS=" + FRACNAS_BINARY +
                        " ARCHIVE=" + h5 + " exec bash " + FRACNAS_DOCS + "/../mpi_launch/search_local.sh " +
                        "--evaluator model --space homogeneous --max-layers 8 --max-width 1280 --budget 1000 " +
                        "--model-cost-ms 3000 --queued 0 --grace 4 --progress-every 1000",
                    log);
    wait_for_text(log, "workers     2 in the pool of 2");  // the pool printed: its first tasks go out next
    const auto signalled = std::chrono::steady_clock::now();
    ::kill(pid, signal);
    const int code = wait_exit(pid);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
    const std::string printed = read_text(log);
    INFO(printed);
    CAPTURE(seconds);
    REQUIRE(code == 0);  // before: 1 (mpiexec after a SIGTERM), 138 (mpiexec killed by SIGUSR1, no report)
    REQUIRE_THAT(printed, !Contains("odls_base_sigkill_timeout"));  // no warning: the script gave the drain its time
    REQUIRE_THAT(printed, Contains("search_local.sh: SIGUSR1 to the fracnas ranks (pids "));
    REQUIRE_THAT(printed, Contains("signal      stop asking; waiting up to 4 s for "));
    REQUIRE_THAT(printed, Contains("ended by    signal"));
    // the drain began at the signal, not odls_base_sigkill_timeout (30 s) later: at most --grace 4 s of
    // tasks, then the report (a bound between the two paths, not a timing)
    REQUIRE(seconds < 20.0);
    const auto a = fracnas::hdf5::read_archive(h5);
    REQUIRE(a.sessions.size() == 1);
    REQUIRE(a.sessions[0].ended_by == "signal");
    std::uint64_t asked = 0;
    for (const auto& e : a.events)
        if (e.what == storage::event_record::kind::ask) asked += e.count;
    REQUIRE(asked == a.evaluations.size());  // drained: every task asked for was answered and recorded
    REQUIRE(a.evaluations.size() >= 2);
    REQUIRE(a.evaluations.size() < 1000);
    std::remove(h5.c_str());
    std::remove(log.c_str());
}

TEST_CASE("mpiexec -n 3: a hung worker's task is re-queued, the worker leaves the pool, the search ends", "[cli][search][mpi]") {
    const std::string h5 = temp_path("hung.h5");
    const outcome o = mpi_search(h5, "--model-cost-ms 5 --budget 40 --inject hang:1:2:4 --task-deadline 1 --grace 10");
    INFO(o.out);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains("rank 1 left the pool"));
    const auto a = fracnas::hdf5::read_archive(h5);
    check_archive(a, 40);
    bool hung = false;
    for (const auto& e : a.worker_events) hung = hung || (e.kind == 2 && e.worker == 1);
    REQUIRE(hung);
    std::size_t by_one = 0;
    for (const auto& r : a.evaluations) by_one += r.worker == 1;
    REQUIRE(by_one <= 1);  // one answer before it hung; its late answer was ignored
    std::remove(h5.c_str());
}

TEST_CASE("mpiexec -n 3: a worker dropped as hung does not cost the whole grace at the end", "[cli][search][mpi]") {
    const std::string h5 = temp_path("hung_end.h5");
    const auto t0 = std::chrono::steady_clock::now();
    // rank 1 sleeps 300 s in its second evaluation: dropped after 1 s, it never says bye
    const outcome o = mpi_search(h5, "--model-cost-ms 5 --budget 30 --inject hang:1:2:300 --task-deadline 1 --grace 100");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(o.out);
    CAPTURE(seconds);
    REQUIRE_THAT(o.out, Contains("rank 1 left the pool"));
    // the warning says what the hung worker was given, not the grace of the busy ones
    REQUIRE_THAT(o.out, Contains("some worker did not stop (a busy one was given 100.0 s, one that hung 2.0 s; left the pool: rank 1)"));
    REQUIRE(seconds < 60.0);  // the search takes seconds; the grace of 100 s is for busy workers, not hung ones
    check_archive(fracnas::hdf5::read_archive(h5), 30);
    std::remove(h5.c_str());
}

namespace {
// The fracnas processes below pid (search_local.sh, then mpiexec, then the ranks) whose MPI rank is
// `rank`, from /proc: their executable and OMPI_COMM_WORLD_RANK.
std::vector<pid_t> ranks_below(pid_t root, int rank) {
    std::map<pid_t, std::vector<pid_t>> children;
    if (DIR* d = ::opendir("/proc")) {
        while (const dirent* e = ::readdir(d)) {
            const std::string name = e->d_name;
            if (name.find_first_not_of("0123456789") != std::string::npos) continue;
            const std::string stat = read_text("/proc/" + name + "/stat");
            const auto close = stat.rfind(')');
            if (close == std::string::npos) continue;
            std::istringstream rest(stat.substr(close + 2));
            std::string state;
            pid_t parent = 0;
            rest >> state >> parent;
            children[parent].push_back(static_cast<pid_t>(std::stol(name)));
        }
        ::closedir(d);
    }
    char exe[4096] = {};
    const std::string binary = ::realpath(FRACNAS_BINARY, exe) != nullptr ? std::string(exe) : std::string(FRACNAS_BINARY);
    std::vector<pid_t> found, todo{root};
    const std::string wanted = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
    while (!todo.empty()) {
        const pid_t p = todo.back();
        todo.pop_back();
        for (const pid_t k : children[p]) {
            todo.push_back(k);
            char link[4096] = {};
            const ssize_t n = ::readlink(("/proc/" + std::to_string(k) + "/exe").c_str(), link, sizeof(link) - 1);
            if (n <= 0 || std::string(link, static_cast<std::size_t>(n)) != binary) continue;
            std::string env = read_text("/proc/" + std::to_string(k) + "/environ");
            std::replace(env.begin(), env.end(), '\0', '\n');
            if (("\n" + env).find("\n" + wanted + "\n") != std::string::npos) found.push_back(k);
        }
    }
    return found;
}

// ON_WORKER_LOSS=continue is Open MPI's --enable-recovery: with another MPI, a warning and false.
bool open_mpi() {
    const std::string version = run_shell(std::string(FRACNAS_MPIEXEC) + " --version 2>&1").out;
    if (version.find("Open MPI") != std::string::npos || version.find("OpenRTE") != std::string::npos) return true;
    WARN("ON_WORKER_LOSS=continue needs Open MPI's mpirun: not checked with this MPI");
    return false;
}

// search_local.sh with two CPU workers of the analytic model, output to log; returns the script's pid.
pid_t search_local(const std::string& env, const std::string& h5, const std::string& flags, const std::string& log) {
    std::remove(h5.c_str());
    std::remove(log.c_str());
    return spawn_shell(mpi_consent + env + " GPUS=0 WORKERS=2 MPIRUN=" + FRACNAS_MPIEXEC + " FRACNAS=" + FRACNAS_BINARY + " ARCHIVE=" + h5 +
                           " exec bash " + FRACNAS_DOCS + "/../mpi_launch/search_local.sh " +
                           "--evaluator model --space homogeneous --max-layers 8 --max-width 1280 --progress-every 1000 " + flags,
                       log);
}

// The exit status of pid, and what its log holds then.
outcome finished(pid_t pid, const std::string& log) {
    outcome o;
    o.code = wait_exit(pid);
    o.out = read_text(log);
    return o;
}

std::size_t answered_by(const storage::archive_contents& a, int worker) {
    std::size_t n = 0;
    for (const auto& r : a.evaluations) n += r.worker == worker;
    return n;
}
}  // namespace

TEST_CASE(
    "search_local.sh: a worker rank that dies ends the job, the master drains the others and records its session, and "
    "--resume answers the rest of the budget with nothing measured twice",
    "[cli][search][mpi]") {
    const std::string h5 = temp_path("rank_dies.h5"), log = temp_path("rank_dies.log");
    // rank 2 ends itself with SIGKILL in its 5th evaluation; mpiexec then ends the job, its SIGTERM
    // reaching the master SIGKILL_TIMEOUT = 3 s later, which drains for at most --grace 2 s
    const outcome job =
        finished(search_local("SIGKILL_TIMEOUT=3", h5, "--model-cost-ms 200 --budget 60 --grace 2 --inject kill:2:5", log), log);
    INFO(job.out);
    REQUIRE(job.code != 0);  // the job failed: mpiexec says a rank was killed
    REQUIRE_THAT(job.out, Contains("ended by    signal") && Contains("in flight left for a resume"));
    const auto a = fracnas::hdf5::read_archive(h5);
    REQUIRE(a.sessions.size() == 1);
    REQUIRE(a.sessions[0].ended_by == "signal");
    const std::size_t first = a.evaluations.size();
    REQUIRE(answered_by(a, 2) == 4);  // its four answers before it died are kept
    REQUIRE(first < 60);
    // the same archive, the fault off (a run option: the workers take the master's configuration)
    const outcome o = run_shell(mpiexec() + " -n 3 --oversubscribe " + FRACNAS_BINARY + " search --resume " + h5 + " --inject fail:0 2>&1");
    INFO(o.out);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains("resumed: " + std::to_string(first) + " answers replayed"));
    const auto b = fracnas::hdf5::read_archive(h5);
    check_archive(b, 60);  // every id once, nothing measured twice, every ask told
    REQUIRE(b.sessions.size() == 2);
    REQUIRE(b.sessions[1].ended_by == "budget");
    std::remove(h5.c_str());
    std::remove(log.c_str());
}

TEST_CASE(
    "search_local.sh with ON_WORKER_LOSS=continue: a worker rank that dies leaves the pool at its task's deadline, the "
    "other ends the search, exit 0",
    "[cli][search][mpi]") {
    if (!open_mpi()) return;
    const std::string h5 = temp_path("rank_dies_continue.h5"), log = temp_path("rank_dies_continue.log");
    const outcome job = finished(
        search_local("ON_WORKER_LOSS=continue", h5, "--model-cost-ms 20 --budget 60 --grace 5 --task-deadline 2 --inject kill:2:5", log),
        log);
    INFO(job.out);
    REQUIRE(job.code == 0);
    REQUIRE_THAT(job.out, Contains("rank 2 left the pool: it did not return job") && Contains("ended by    budget"));
    const auto a = fracnas::hdf5::read_archive(h5);
    check_archive(a, 60);  // the lost task was answered by rank 1
    REQUIRE(a.sessions.size() == 1);
    REQUIRE(a.sessions[0].ended_by == "budget");
    REQUIRE(answered_by(a, 2) == 4);
    REQUIRE(answered_by(a, 1) == 56);
    bool left = false;
    for (const auto& e : a.worker_events) left = left || (e.kind == 2 && e.worker == 2);  // left_hung
    REQUIRE(left);
    std::remove(h5.c_str());
    std::remove(log.c_str());
}

TEST_CASE(
    "search_local.sh with ON_WORKER_LOSS=continue: when the master ends first the workers are ended, and the script "
    "exits with the master's status",
    "[cli][search][mpi]") {
    if (!open_mpi()) return;
    const std::string h5 = temp_path("master_dies.h5"), log = temp_path("master_dies.log");
    SECTION("killed: the archive keeps what it answered and --resume names it") {
        const pid_t pid = search_local("ON_WORKER_LOSS=continue MASTER_LOSS_SECONDS=2", h5, "--model-cost-ms 100 --budget 400", log);
        wait_for_text(log, "workers     2 in the pool of 2");
        std::this_thread::sleep_for(std::chrono::seconds(2));  // an archive flush (every second) with answers
        const auto master = ranks_below(pid, 0);
        REQUIRE(master.size() == 1);
        ::kill(master[0], SIGKILL);
        const outcome job = finished(pid, log);  // before: the workers waited for their master forever
        INFO(job.out);
        REQUIRE(job.code == 128 + SIGKILL);
        REQUIRE_THAT(job.out, Contains("search_local.sh: the master rank ended 2 s ago; SIGKILL to the workers left"));
        REQUIRE_THAT(job.out, Contains("search_local.sh: the master rank ended by signal 9; continue with: "));
        REQUIRE(fracnas::hdf5::read_archive(h5).evaluations.size() > 0);
    }
    SECTION("a bad --resume: its sentence and exit 2, not mpirun's 0") {
        const outcome job =
            finished(search_local("ON_WORKER_LOSS=continue MASTER_LOSS_SECONDS=2", h5, "--resume " + h5 + ".missing", log), log);
        INFO(job.out);
        REQUIRE(job.code == 2);
        REQUIRE_THAT(job.out, Contains("fracnas: error: --resume: archive '" + h5 + ".missing' does not exist."));
    }
    std::remove(h5.c_str());
    std::remove(log.c_str());
}

TEST_CASE("mpiexec -n 3: a rank that never reaches MPI_Init ends the job after --join-timeout, with a sentence", "[cli][search][mpi]") {
    const std::string h5 = temp_path("no_init.h5");
    std::remove(h5.c_str());
    const auto t0 = std::chrono::steady_clock::now();
    // rank 2 sleeps before it starts fracnas: ranks 0 and 1 wait inside MPI_Init for it
    const outcome o = run_shell(mpiexec() + " -n 3 --oversubscribe sh -c '[ \"$OMPI_COMM_WORLD_RANK\" = 2 ] && sleep 300; exec " +
                                FRACNAS_BINARY + " search --evaluator model --space homogeneous --max-layers 8 --budget 20 " +
                                "--join-timeout 3 --archive " + h5 + "' 2>&1");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(o.out);
    CAPTURE(seconds);
    REQUIRE(o.code != 0);
    REQUIRE_THAT(o.out, Contains("MPI start-up (MPI_Init and the host table) did not finish within 3 s (--join-timeout)"));
    REQUIRE(seconds < 120.0);   // not the sleeping rank's 300 s
    REQUIRE_FALSE(exists(h5));  // the master never got to create it
}
#endif
#endif

#ifdef FRACNAS_HAVE_HDF5
#include "fracnas/app/search_driver.hpp"
#include "fracnas/eval/model_evaluators.hpp"
#include "fracnas/transport/dry_run_dispatcher.hpp"

TEST_CASE("the HDF5 archive holds exactly what the driver reported, bit for bit", "[search][hdf5]") {
    fracnas::app::search_config c;
    c.evaluator = fracnas::app::evaluator_kind::model;
    c.space = fracnas::app::space_kind::homogeneous;
    c.max_layers = 8;
    c.max_width = 1280;
    c.budget = 300;
    c.dispatcher = fracnas::app::dispatcher_kind::dry_run;
    c.dry_run.workers = 16;
    c.dry_run.failure_rate = 0.1;
    c.dry_run.cost = fracnas::transport::cost_kind::exponential;
    c.flush_seconds = 0.0;
    c.progress_every = 1000;
    c.validate();
    const std::string h5 = temp_path("equal.h5");
    std::remove(h5.c_str());
    fracnas::eval::latency_model_evaluator model({});
    fracnas::transport::dry_run_dispatcher d(model, c.dry_run, c.policy());
    fracnas::app::search_driver driver(c);
    storage::run_header header;
    header.dim = static_cast<std::uint32_t>(driver.space().dim());
    header.config = c.to_ini();
    {
        auto sink = fracnas::hdf5::archive_file::create(h5, header, false);
        std::ostringstream progress;
        driver.run(d, *sink, progress, {});
    }
    const auto a = fracnas::hdf5::read_archive(h5);
    const auto& m = driver.contents();
    REQUIRE(a.evaluations.size() == m.evaluations.size());
    REQUIRE(a.events.size() == m.events.size());
    REQUIRE(a.workers.size() == m.workers.size());
    REQUIRE(a.worker_events.size() == m.worker_events.size());
    REQUIRE(a.sessions.size() == m.sessions.size());
    auto same = [](double x, double y) { return (std::isnan(x) && std::isnan(y)) || std::memcmp(&x, &y, sizeof x) == 0; };
    std::size_t failed = 0;
    for (std::size_t i = 0; i < m.evaluations.size(); ++i) {
        const auto& x = a.evaluations[i];
        const auto& y = m.evaluations[i];
        INFO("evaluation " << i);
        REQUIRE(x.id == y.id);
        REQUIRE(x.x == y.x);
        REQUIRE(x.arch == y.arch);
        REQUIRE(x.hash == y.hash);
        REQUIRE(x.out.status == y.out.status);
        REQUIRE(x.out.message == y.out.message);
        REQUIRE(same(x.out.value, y.out.value));
        REQUIRE(same(x.ratio, y.ratio));
        REQUIRE(same(x.told, y.told));
        REQUIRE(x.worker == y.worker);
        REQUIRE(same(x.started, y.started));
        failed += x.out.status != fracnas::eval::outcome_status::ok;
    }
    REQUIRE(failed > 0);  // failures are recorded as data
    for (std::size_t i = 0; i < m.events.size(); ++i) {
        REQUIRE(a.events[i].what == m.events[i].what);
        REQUIRE(a.events[i].first == m.events[i].first);
        REQUIRE(same(a.events[i].value, m.events[i].value));
    }
    std::remove(h5.c_str());
}
#endif

#ifdef FRACNAS_HAVE_HDF5
TEST_CASE("a read-only archive given to --resume: one sentence and exit 2, the archive unchanged (as root too)",
          "[cli][search][hdf5][resume]") {
    const std::string h5 = temp_path("readonly.h5");
    std::remove(h5.c_str());
    std::remove((h5 + ".lock").c_str());
    const outcome made = run_cli({"search", "--evaluator", "model", "--budget", "20", "--seed", "1", "--archive", h5});
    INFO(made.out << made.err);
    REQUIRE(made.code == 0);
    const auto before = fracnas::hdf5::read_archive(h5);
    REQUIRE(::chmod(h5.c_str(), 0444) == 0);
    // root writes a read-only file anyway: without CAP_DAC_OVERRIDE (dropped by setpriv) the mode binds
    std::string as;
    if (::geteuid() == 0) {
        as = "setpriv --bounding-set=-dac_override,-dac_read_search --inh-caps=-dac_override,-dac_read_search ";
        if (std::system((as + "true > /dev/null 2>&1").c_str()) != 0) {
            WARN("running as root where setpriv cannot drop CAP_DAC_OVERRIDE: the read-only case is not checked here");
            REQUIRE(::chmod(h5.c_str(), 0644) == 0);
            std::remove(h5.c_str());
            return;
        }
    }
    const outcome o = run_shell(as + FRACNAS_BINARY + " search --resume " + h5 + " 2>&1");
    INFO(o.out);
    REQUIRE(o.code == 2);
    REQUIRE_THAT(o.out, Catch::Matchers::StartsWith("fracnas: error: "));
    REQUIRE_THAT(o.out, Contains("archive '" + h5 + "' is not writable (Permission denied)"));
    REQUIRE(std::count(o.out.begin(), o.out.end(), '\n') == 1);
    REQUIRE(::chmod(h5.c_str(), 0644) == 0);
    const auto after = fracnas::hdf5::read_archive(h5);
    REQUIRE(after.evaluations.size() == before.evaluations.size());
    REQUIRE(after.sessions.size() == before.sessions.size());
    std::remove(h5.c_str());
}
#endif
