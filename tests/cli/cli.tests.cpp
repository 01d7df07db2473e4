// Tests of the fracnas command line, driven in-process through cli::run: every bad-input path
// (exit code, one message line, nothing on out), --help and --version, and small real runs.
// Runs stay a few hundred evaluations; speed is not asserted here (see benchmarks/).
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "fracnas/core/presets.hpp"
#include "fracnas/eval/objectives.hpp"
#include "fracnas/nas/architecture.hpp"
#include "fracnas/nas/counts.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;

using namespace fracnas::test;

namespace {

// The value of the summary line that starts with label, e.g. "best error".
std::string summary_field(const std::string& out, const std::string& label) {
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line))
        if (line.rfind(label, 0) == 0) {
            const auto start = line.find_first_not_of(' ', label.size());
            return start == std::string::npos ? "" : line.substr(start);
        }
    FAIL("no summary line '" << label << "' in:\n" << out);
    return "";
}

// The option a help line declares ("  -h [ --help ]  ..." -> "--help"), or "" for other lines.
std::string option_of_line(const std::string& line) {
    std::istringstream tokens(line);
    std::string token;
    while (tokens >> token) {
        if (token.rfind("--", 0) == 0) return token;
        if (token != "-h" && token != "[") return "";
    }
    return "";
}

const std::vector<std::string> all_options = {
    "--help",       "--function",     "--dim",       "--algorithm",    "--budget",           "--seed",           "--outstanding",
    "--time-limit", "--target",       "--noise",     "--failure-rate", "--geometry",         "--search",         "--sampler",
    "--scoring",    "--exploitation", "--max-depth", "--sections",     "--samples-per-cell", "--progress-every", "--quiet"};

}  // namespace

TEST_CASE("no subcommand prints a short usage to err and exits 2", "[cli]") {
    const outcome o = run_cli({});
    CHECK(o.code == 2);
    CHECK(o.out.empty());
    CHECK_THAT(o.err, Contains("usage: fracnas optimize"));
}

TEST_CASE("unknown subcommands and options", "[cli]") {
    check_usage_error({"frobnicate"}, "unknown subcommand 'frobnicate'; valid: optimize");
    check_usage_error({"--frob"}, "unknown option '--frob'");
    check_usage_error({"optimize", "--frob"}, "unknown option '--frob'; see 'fracnas optimize --help'");
    check_usage_error({"search", "--frob"}, "unknown option '--frob'; see 'fracnas search --help'");  // each names its own
    check_usage_error({"analyze", "run.h5", "--frob"}, "unknown option '--frob'; see 'fracnas analyze --help'");
    check_usage_error({"optimize", "--di", "3"}, "unknown option '--di'");  // no abbreviations
    check_usage_error({"optimize", "-x"}, "unknown option '-x'");
    check_usage_error({"optimize", "stray"}, "unexpected argument 'stray'");
}

TEST_CASE("missing values and repeated options", "[cli]") {
    check_usage_error({"optimize", "--dim"}, "the required argument for option '--dim' is missing");
    check_usage_error({"optimize", "--dim", "--budget", "5"}, "--dim: missing value");
    check_usage_error({"optimize", "--dim", "3", "--dim", "4"}, "'--dim' cannot be specified more than once");
    check_usage_error({"optimize", "--quiet=yes"}, "'--quiet' does not take any arguments");
}

TEST_CASE("malformed numbers", "[cli]") {
    check_usage_error({"optimize", "--dim", "abc"}, "--dim: expected a non-negative whole number, got 'abc'");
    check_usage_error({"optimize", "--budget", "-5"}, "--budget: expected a non-negative whole number, got '-5'");
    check_usage_error({"optimize", "--budget=-5"}, "got '-5'");
    check_usage_error({"optimize", "--dim", "2.5"}, "--dim: expected a non-negative whole number");
    check_usage_error({"optimize", "--seed", ""}, "--seed: expected a non-negative whole number");
    check_usage_error({"optimize", "--budget", "99999999999999999999999"}, "--budget: the value");
    check_usage_error({"optimize", "--max-depth", "x"}, "--max-depth: expected");
    check_usage_error({"optimize", "--progress-every", "-1"}, "--progress-every: expected");
    check_usage_error({"optimize", "--noise", "abc"}, "--noise: expected a finite number, got 'abc'");
    check_usage_error({"optimize", "--target", "nan"}, "--target: expected a finite number");
    check_usage_error({"optimize", "--time-limit", "inf"}, "--time-limit: expected a finite number");
}

TEST_CASE("values out of range", "[cli]") {
    // the ranges of the option schema (app::optimize_options()), each in the one sentence of a range
    check_usage_error({"optimize", "--dim", "0"}, "--dim must be in 1..10000.");
    check_usage_error({"optimize", "--dim", "10001"}, "--dim must be in 1..10000.");
    check_usage_error({"optimize", "--budget", "0"}, "--budget must be at least 1.");
    check_usage_error({"optimize", "--outstanding", "0"}, "--outstanding must be in 1..1000000.");
    check_usage_error({"optimize", "--outstanding", "1000000000"}, "--outstanding must be in 1..1000000.");
    check_usage_error({"optimize", "--time-limit", "0"}, "--time-limit: the time limit must be a positive");
    check_usage_error({"optimize", "--noise", "-1"}, "--noise must be at least 0.");
    check_usage_error({"optimize", "--failure-rate", "2"}, "--failure-rate must be in 0..1.");
    check_usage_error({"optimize", "--progress-every", "0"}, "--progress-every:");
}

TEST_CASE("unknown names list the valid ones", "[cli]") {
    check_usage_error({"optimize", "--function", "cube"},
                      "--function: unknown function 'cube'; valid: sphere, ellipsoid, rosenbrock, rastrigin");
    check_usage_error({"optimize", "--algorithm", "cmaes"},
                      "--algorithm: unknown algorithm 'cmaes'; valid: soo, direct, direct-l, fda, evolution, random");
    check_usage_error({"optimize", "--geometry", "cube"},
                      "--geometry: unknown geometry 'cube'; valid: k-section, direct, bisection, hypersphere");
    check_usage_error({"optimize", "--search", "x"}, "--search: unknown search 'x'; valid: breadth-first");
    check_usage_error({"optimize", "--sampler", "x"}, "--sampler: unknown sampler 'x'; valid: centre");
    check_usage_error({"optimize", "--scoring", "x"}, "--scoring: unknown scoring 'x'; valid: best");
    check_usage_error({"optimize", "--exploitation", "x"}, "--exploitation: unknown exploitation 'x'; valid: none, ils");
}

TEST_CASE("fractal overrides are validated with the preset", "[cli]") {
    // an override's range is checked whatever the preset uses (a value that is never valid is a typo)
    check_usage_error({"optimize", "--sections", "1001"}, "--sections must be in 2..1000.");
    check_usage_error({"optimize", "--algorithm", "direct", "--sections", "1"}, "--sections must be in 2..1000.");
    check_usage_error({"optimize", "--max-depth", "0"}, "--max-depth must be in 1..100000.");
    check_usage_error({"optimize", "--samples-per-cell", "0"}, "--samples-per-cell must be in 1..100000.");
    check_usage_error({"optimize", "--sampler", "random", "--samples-per-cell", "100001"}, "--samples-per-cell must be in 1..100000.");
    check_usage_error({"optimize", "--search", "direct"}, "--search: the direct and direct-local searches");
    check_usage_error({"optimize", "--geometry", "bisection", "--dim", "40"}, "--geometry: bisection");
    check_usage_error({"optimize", "--algorithm", "random", "--geometry", "direct"}, "--algorithm: 'random' is not a fractal algorithm");
}

TEST_CASE("the help flag lists every option, the presets, the functions and the enum names", "[cli]") {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--help"}, std::vector<std::string>{"-h"}, std::vector<std::string>{"optimize", "--help"},
          std::vector<std::string>{"optimize", "--budget", "5", "--help"}}) {
        const outcome o = run_cli(args);
        INFO(args.back());
        CHECK(o.code == 0);
        CHECK(o.err.empty());
        for (const auto& option : all_options) CHECK_THAT(o.out, Contains(option));
        for (const auto& name : fracnas::core::preset_names()) CHECK_THAT(o.out, Contains(name));
        for (const auto& name : fracnas::eval::objective_names()) CHECK_THAT(o.out, Contains(name));
        CHECK_THAT(o.out, Contains("k-section, direct, bisection, hypersphere"));
        CHECK_THAT(o.out, Contains("cyclic-best-first"));
        CHECK_THAT(o.out, Contains("latin-hypercube"));
        CHECK_THAT(o.out, Contains("distance-to-best"));
        CHECK_THAT(o.out, Contains("none, ils"));
    }
    // One line per option: each option name starts exactly one line of the optimize help.
    const outcome o = run_cli({"optimize", "--help"});
    for (const auto& option : all_options) {
        std::istringstream lines(o.out);
        std::string line;
        int starts = 0;
        while (std::getline(lines, line))
            if (option_of_line(line) == option) ++starts;
        INFO(option);
        CHECK(starts == 1);
    }
}

TEST_CASE("the version flag prints the fracnas version", "[cli]") {
    const outcome o = run_cli({"--version"});
    CHECK(o.code == 0);
    CHECK(o.err.empty());
    CHECK_THAT(o.out, StartsWith("fracnas "));
#ifdef FRACNAS_VERSION
    CHECK_THAT(o.out, Contains(FRACNAS_VERSION));
#endif
#ifdef FRACNAS_HAVE_TORCH
    CHECK_THAT(o.out, Contains("LibTorch "));
#endif
}

TEST_CASE("fracnas --help and --version before a subcommand stand alone, a subcommand's --help takes no argument", "[cli]") {
    check_usage_error({"--help", "extra"}, "--help takes no other arguments; got 'extra' as well.");
    check_usage_error({"-h", "optimize"}, "-h takes no other arguments; got 'optimize' as well.");
    check_usage_error({"--version", "--bogus=3"}, "--version takes no other arguments; got '--bogus=3' as well.");
    for (const std::string sub : {"optimize", "search", "analyze"}) {
        INFO(sub);
        check_usage_error({sub, "--help", "stray"},
                          sub == "analyze" ? "--help takes no argument; got 'stray' as well." : "unexpected argument 'stray'");
        check_usage_error({sub, "--help", "--bogus"}, "unknown option '--bogus'");
        check_usage_error({sub, "--version"}, "unknown option '--version'");
        const outcome alone = run_cli({sub, "--help"});
        CHECK(alone.code == 0);
        CHECK(alone.err.empty());
        CHECK_THAT(alone.out, Contains("--help"));
    }
#ifdef FRACNAS_HAVE_TORCH
    // a bad value beside --help is refused, as without it (eval and train read theirs first)
    for (const std::string sub : {"eval", "train"}) {
        INFO(sub);
        check_usage_error({sub, "--help", "stray"}, "unexpected argument 'stray'");
        check_usage_error({sub, "--preset", "nope", "--help"}, "--preset: unknown");
        check_usage_error({sub, "--arch", "x", "--help"}, "--arch: ");
        check_usage_error({sub, "--preset", "gpt2-small", "--dtype", "nope", "--help"}, "--dtype: unknown dtype 'nope'");
        if (sub == "eval")
            check_usage_error({sub, "--preset", "gpt2-small", "--batch", "999999999", "--help"}, "--batch must be in 0..100000000.");
        else
            check_usage_error({sub, "--preset", "gpt2-small", "--seq-len", "0", "--help"}, "--seq-len must be in 1..1000000.");
        const outcome alone = run_cli({sub, "--help"});
        CHECK(alone.code == 0);
        CHECK(alone.err.empty());
        CHECK_THAT(alone.out, Contains("--preset"));
    }
#endif
}

TEST_CASE("an error line echoes at most about a kilobyte of a huge input", "[cli]") {
    const std::string huge(100000, 'x');
    const outcome o = run_cli({"optimize", "--function", huge});
    INFO(o.err.substr(0, 300));
    CHECK(o.code == 2);
    CHECK(std::count(o.err.begin(), o.err.end(), '\n') == 1);
    CHECK(o.err.size() < 1100);
    CHECK_THAT(o.err, StartsWith("fracnas: error: "));
    CHECK_THAT(o.err, Contains("bytes left out ...]"));
    CHECK_THAT(o.err, EndsWith(".\n"));
    // an input of ordinary length is echoed whole
    CHECK_THAT(run_cli({"optimize", "--function", "spherre"}).err, Contains("'spherre'"));
}

TEST_CASE("a small DIRECT run on the sphere finds the optimum", "[cli]") {
    const outcome o = run_cli({"optimize", "--function", "sphere", "--dim", "2", "--budget", "300", "--algorithm", "direct", "--quiet"});
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    CHECK(o.err.empty());
    CHECK_THAT(o.out, !Contains("progress"));
    CHECK(summary_field(o.out, "algorithm") == "direct");
    CHECK(summary_field(o.out, "function") == "sphere");
    CHECK(summary_field(o.out, "dim") == "2");
    CHECK(summary_field(o.out, "evaluations") == "300");
    CHECK(summary_field(o.out, "failures") == "0");
    CHECK(summary_field(o.out, "stopped by") == "budget");
    const double error = std::stod(summary_field(o.out, "best error"));
    CHECK(error >= 0.0);
    CHECK(error < 1e-3);
    CHECK_THAT(summary_field(o.out, "best point"), StartsWith("[") && !Contains("..."));
    // the optimum is where the function was moved to, and the best point lies next to it
    const std::string optimum = summary_field(o.out, "optimum");
    REQUIRE_THAT(optimum, StartsWith("[") && !Contains("..."));
    double u0 = 0.0, u1 = 0.0, b0 = 0.0, b1 = 0.0;
    REQUIRE(std::sscanf(optimum.c_str(), "[%lf, %lf]", &u0, &u1) == 2);
    REQUIRE(std::sscanf(summary_field(o.out, "best point").c_str(), "[%lf, %lf]", &b0, &b1) == 2);
    CHECK(std::abs(u0 - b0) < 1e-3);
    CHECK(std::abs(u1 - b1) < 1e-3);
    CHECK((std::abs(u0 - 0.5) > 0.05 || std::abs(u1 - 0.5) > 0.05));
}

TEST_CASE("16 evaluations in flight spend exactly the budget", "[cli]") {
    const outcome o = run_cli({"optimize", "--function", "rosenbrock", "--dim", "4", "--budget", "400", "--outstanding", "16", "--quiet"});
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    CHECK(summary_field(o.out, "evaluations") == "400");
}

TEST_CASE("the same seed gives the same best value, another seed another problem", "[cli]") {
    const std::vector<std::string> base = {"optimize", "--function",    "rastrigin", "--dim",   "3",    "--budget",
                                           "250",      "--outstanding", "5",         "--noise", "0.01", "--quiet"};
    auto with_seed = [&](const std::string& seed) {
        auto args = base;
        args.insert(args.end(), {"--seed", seed});
        const outcome o = run_cli(args);
        REQUIRE(o.code == 0);
        return o.out;
    };
    const std::string a = with_seed("7"), b = with_seed("7"), c = with_seed("8");
    CHECK(summary_field(a, "best value") == summary_field(b, "best value"));
    CHECK(summary_field(a, "best point") == summary_field(b, "best point"));
    CHECK(summary_field(a, "best value") != summary_field(c, "best value"));
}

TEST_CASE("progress lines come every N evaluations unless --quiet", "[cli]") {
    const outcome o = run_cli({"optimize", "--function", "sphere", "--dim", "2", "--budget", "100", "--progress-every", "25"});
    REQUIRE(o.code == 0);
    std::istringstream lines(o.out);
    std::string line;
    int progress = 0;
    while (std::getline(lines, line))
        if (line.rfind("progress", 0) == 0) {
            ++progress;
            CHECK_THAT(line, Contains("/100 evaluations") && Contains("eval/s") && Contains("best ") && Contains("error ") &&
                                 Contains("outstanding ") && Contains("failures "));
        }
    CHECK(progress == 4);
    CHECK_THAT(o.out, Contains("progress  25/100 evaluations"));
}

TEST_CASE("wrappers, stopping rules and overrides reach the run", "[cli]") {
    SECTION("failing and noisy wrappers") {
        const outcome o = run_cli(
            {"optimize", "--function", "sphere", "--dim", "3", "--budget", "200", "--failure-rate", "0.3", "--noise", "0.1", "--quiet"});
        REQUIRE(o.code == 0);
        CHECK(summary_field(o.out, "function") == "failing:noisy:sphere");
        CHECK(std::stoull(summary_field(o.out, "failures")) > 0);
        CHECK(summary_field(o.out, "evaluations") == "200");
    }
    SECTION("every evaluation failing still ends with a summary") {
        const outcome o = run_cli({"optimize", "--budget", "20", "--failure-rate", "1", "--quiet"});
        REQUIRE(o.code == 0);
        CHECK(summary_field(o.out, "failures") == "20");
        CHECK_THAT(summary_field(o.out, "best value"), StartsWith("none"));
    }
    SECTION("the target stops the run early") {
        const outcome o = run_cli({"optimize", "--function", "sphere", "--dim", "2", "--algorithm", "direct", "--budget", "100000",
                                   "--target", "1e-2", "--quiet"});
        REQUIRE(o.code == 0);
        CHECK(summary_field(o.out, "stopped by") == "target");
        CHECK(std::stod(summary_field(o.out, "best error")) <= 1e-2);
        CHECK(std::stoull(summary_field(o.out, "evaluations")) < 100000);
    }
    SECTION("overrides rename the algorithm after its configuration") {
        const outcome o = run_cli({"optimize", "--function", "sphere", "--dim", "2", "--budget", "100", "--geometry", "bisection",
                                   "--search", "best-first", "--quiet"});
        REQUIRE(o.code == 0);
        CHECK_THAT(summary_field(o.out, "algorithm"), Contains("bisection/best-first"));
    }
    SECTION("random search and a long best point") {
        const outcome o = run_cli({"optimize", "--algorithm", "random", "--dim", "12", "--budget", "50", "--quiet"});
        REQUIRE(o.code == 0);
        CHECK(summary_field(o.out, "algorithm") == "random");
        CHECK_THAT(summary_field(o.out, "best point"), Contains(", ...]"));
    }
}

// The real executable, not cli::run: main() must pass the exit code and the one-line error on.
TEST_CASE("the fracnas executable exits 2 with one line on stderr for a bad option", "[cli]") {
    const std::string command = std::string(FRACNAS_BINARY) + " optimize --dim 0 2>&1 >/dev/null";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string err;
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) err += buffer;
    const int status = pclose(pipe);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 2);
    REQUIRE_THAT(err, StartsWith("fracnas: error: --dim"));
    REQUIRE(std::count(err.begin(), err.end(), '\n') == 1);
}

#ifdef FRACNAS_HAVE_TORCH
TEST_CASE("fracnas eval times a Llama-style block on the CPU: its counts, its decode bytes with grouped KV heads", "[cli]") {
    const std::string arch =
        "n_layer=2 d_model=128 d_inner=352,352 n_head=4,4 vocab=500 context=64 norm=rmsnorm mlp=swiglu positions=rotary "
        "n_kv_head=2,2 output=untied bias=off";
    const auto o =
        run_cli({"eval", "--arch", arch, "--device", "cpu", "--measure", "prefill,decode", "--warmup", "0", "--repeats", "1", "--json"});
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains("\"status\": \"ok\""));
    REQUIRE_THAT(o.out, Contains("\"architecture\": \"" + arch + "\""));
    const auto a = fracnas::nas::parse_architecture(arch);
    REQUIRE_THAT(o.out, Contains("\"total_params\": " + std::to_string(fracnas::nas::count_parameters(a).total)));
    REQUIRE_THAT(o.out, Contains("\"decode_bytes\": " + std::to_string(fracnas::nas::decode_bytes(a, 1, 63, 4))));
    // a batch of 5 sequences: each with its cache, the weights read once; the KV cache after the step
    const auto b = run_cli({"eval", "--arch", arch, "--device", "cpu", "--measure", "decode", "--batch", "5", "--context", "40", "--warmup",
                            "0", "--repeats", "1", "--json"});
    INFO(b.out << b.err);
    REQUIRE(b.code == 0);
    REQUIRE_THAT(b.out, Contains("\"status\": \"ok\""));
    REQUIRE_THAT(b.out, Contains("\"decode_batch\": 5, \"decode_context\": 40"));
    REQUIRE_THAT(b.out, Contains("\"decode_flops\": " + std::to_string(fracnas::nas::decode_flops(a, 5, 40).total)));
    REQUIRE_THAT(b.out, Contains("\"decode_bytes\": " + std::to_string(fracnas::nas::decode_bytes(a, 5, 40, 4))));
    // 2 layers x 2 KV heads x 32 dimensions x (keys, values) x 4 bytes = 1,024 bytes a token
    REQUIRE(fracnas::nas::kv_bytes_per_token(a, 4) == 1024);
    REQUIRE_THAT(b.out, Contains("\"kv_cache_bytes\": " + std::to_string(5 * 41 * 1024)));
}

TEST_CASE("fracnas eval --preset builds the preset with the positions a longer context needs, --arch keeps its own", "[cli]") {
    const auto o = run_cli({"eval", "--preset", "gpt2-small", "--device", "cpu", "--measure", "decode", "--context", "1100", "--warmup",
                            "0", "--repeats", "1", "--reference", "gpt2-small", "--json"});
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains(" context=1101\""));  // GPT-2 small's shape with a learned table of 1,101 positions
    REQUIRE_THAT(o.out, Contains("\"decode_context\": 1100"));
    REQUIRE_THAT(o.out, Contains("\"ratio\": {\"prefill\": null, \"decode\": "));  // the reference, extended alike, measured
    check_usage_error({"eval", "--arch", "n_layer=1 d_model=64 d_inner=128 n_head=1 context=64", "--device", "cpu", "--context", "64"},
                      "the decode context must be below the model's context of 64.");
}

TEST_CASE("fracnas eval: bad input is one line and exit 2", "[cli]") {
    check_usage_error({"eval"}, "give exactly one of --arch and --preset");
    check_usage_error({"eval", "--preset", "gpt2-small", "--arch", "n_layer=1 d_model=64 d_inner=128 n_head=1"},
                      "exactly one of --arch and --preset");
    check_usage_error({"eval", "--preset", "gpt3"}, "unknown preset 'gpt3'; valid: gpt2-small, gpt2-medium");
    check_usage_error({"eval", "--arch", "n_layer=2 d_model=64 d_inner=128 n_head=1,1"}, "--arch: d_inner lists 1 layers but n_layer is 2");
    check_usage_error({"eval", "--preset", "gpt2-small", "--measure", "prefill,train"}, "unknown measurement 'train'");
    check_usage_error({"eval", "--preset", "gpt2-small", "--measure", ""}, "--measure names no measurement; valid: prefill");
    check_usage_error({"eval", "--preset", "gpt2-small", "--device", "tpu"}, "unknown device 'tpu'; valid: cpu, cuda");
    check_usage_error({"eval", "--arch", "n_layer=1 d_model=64 d_inner=128 n_head=1 context=64", "--tokens", "100"}, "1..64 tokens");
    check_usage_error({"eval", "--preset", "gpt2-small", "--reference", "gpt3"}, "--reference: unknown reference 'gpt3'");
    // the candidate's decode reads 2,048 positions: the reference is built with them too (as a
    // search builds it), and measured
    const auto longer = run_cli({"eval", "--arch", "n_layer=2 d_model=64 d_inner=128,128 n_head=1,1 vocab=100 context=2048", "--measure",
                                 "decode", "--device", "cpu", "--warmup", "0", "--repeats", "1", "--reference", "gpt2-small", "--json"});
    INFO(longer.out << longer.err);
    REQUIRE(longer.code == 0);
    REQUIRE_THAT(longer.out, Contains("\"ratio\": {\"prefill\": null, \"decode\": 0."));
}

// The number after `"key": ` in a JSON text (the first occurrence at or after `from`).
double json_value(const std::string& text, const std::string& key, std::size_t from = 0) {
    const auto at = text.find("\"" + key + "\": ", from);
    REQUIRE(at != std::string::npos);
    return std::stod(text.substr(at + key.size() + 4));
}

TEST_CASE("fracnas eval --reference: the reference timed the same way gives each latency's ratio", "[cli]") {
    const outcome o = run_cli({"eval", "--arch", "n_layer=2 d_model=128 d_inner=256,256 n_head=2,2 vocab=1000 context=64", "--measure",
                               "decode", "--warmup", "1", "--repeats", "3", "--reference", "gpt2-small", "--json"});
    INFO(o.err << o.out);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains("\"reference\": {\"name\": \"gpt2-small\", \"prefill\": null, \"decode\": {"));
    REQUIRE_THAT(o.out, Contains("\"ratio\": {\"prefill\": null, \"decode\": "));
    const double candidate = json_value(o.out, "median_ms", o.out.find("\"decode\": {"));
    const double reference = json_value(o.out, "median_ms", o.out.find("\"reference\": {"));
    const double ratio = json_value(o.out, "decode", o.out.find("\"ratio\": {"));
    REQUIRE(reference > 0.0);
    REQUIRE(ratio == Approx(candidate / reference).epsilon(1e-6));
    const outcome table = run_cli({"eval", "--arch", "n_layer=2 d_model=128 d_inner=256,256 n_head=2,2 vocab=1000 context=64", "--measure",
                                   "decode", "--warmup", "0", "--repeats", "1", "--reference", "gpt2-small"});
    REQUIRE(table.code == 0);
    REQUIRE_THAT(table.out, Contains("reference       gpt2-small timed the same way:  decode x"));
    const outcome plain = run_cli({"eval", "--arch", "n_layer=2 d_model=128 d_inner=256,256 n_head=2,2 vocab=1000 context=64", "--measure",
                                   "decode", "--warmup", "0", "--repeats", "1", "--json"});
    REQUIRE_THAT(plain.out, Contains("\"reference\": null, \"ratio\": null"));
}

TEST_CASE("fracnas eval --measure scenario times a generation of the asked length", "[cli]") {
    const outcome o = run_cli({"eval", "--arch", "n_layer=2 d_model=128 d_inner=256,256 n_head=2,2 vocab=1000 context=64", "--measure",
                               "scenario", "--prompt", "8", "--generate", "16", "--warmup", "1", "--repeats", "15", "--json"});
    INFO(o.err << o.out);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains("\"scenario\": {\"median_ms\": "));
    REQUIRE(json_value(o.out, "repeats", o.out.find("\"scenario\": {")) == 3);  // repeats / 5
    check_usage_error({"eval", "--arch", "n_layer=2 d_model=128 d_inner=256,256 n_head=2,2 vocab=1000 context=64", "--measure", "scenario",
                       "--prompt", "60", "--generate", "8"},
                      "prompt + generated tokens must fit in the context of 64");
}

TEST_CASE("fracnas eval measures a small architecture on the CPU", "[cli]") {
    const outcome o = run_cli({"eval", "--arch", "n_layer=2 d_model=128 d_inner=256,256 n_head=2,2 vocab=1000 context=64", "--measure",
                               "prefill,decode", "--warmup", "1", "--repeats", "3", "--json"});
    INFO(o.err);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains("\"status\": \"ok\""));
    REQUIRE_THAT(o.out, Contains("\"decoder_params\": 265216"));
    REQUIRE_THAT(o.out, Contains("\"repeats\": 3"));
    REQUIRE_THAT(o.out, Contains("\"prefill_tokens\": 64"));
}
#endif
