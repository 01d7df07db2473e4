// fracnas analyze on archives that a search writes here: the report, several archives side by
// side, CSV and JSON; a missing, foreign or damaged archive and bad options are refused with one
// line and exit 2.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "cli_support.hpp"

#ifdef FRACNAS_HAVE_HDF5
#include "fracnas/hdf5/archive_file.hpp"

using namespace fracnas::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

std::string temp_path(const std::string& name) {
    return std::string(FRACNAS_TEST_TMP) + "/" + name + "." + std::to_string(::getpid());
}

// A quick search with the analytic latency model and 2 outstanding evaluations, archived.
std::string searched(const std::string& name, const std::string& budget) {
    const std::string h5 = temp_path(name);
    const outcome o = run_cli({"search", "--evaluator", "model", "--space", "homogeneous", "--max-layers", "8", "--max-width", "1280",
                               "--budget", budget, "--progress-every", "1000", "--archive", h5, "--replace"});
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    return h5;
}

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("fracnas analyze: the report of an archive agrees with the archive", "[cli][analyze][hdf5]") {
    const std::string h5 = searched("analyze.h5", "40");
    const auto archive = fracnas::hdf5::read_archive(h5);
    const outcome o = run_cli({"analyze", h5});
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    REQUIRE(o.err.empty());
    REQUIRE_THAT(o.out, StartsWith("archive     " + h5));
    REQUIRE_THAT(o.out, Contains("answered    40: "));
    REQUIRE_THAT(o.out, Contains("front       "));
    REQUIRE_THAT(o.out, Contains("hypervolume"));
    REQUIRE_THAT(o.out, Contains("growth      answered"));
    // the best line is the archive's lowest ratio
    double best = 1e300;
    std::string best_arch;
    for (const auto& r : archive.evaluations)
        if (r.feasible && !r.cached && r.out.status == fracnas::eval::outcome_status::ok && r.ratio < best) {
            best = r.ratio;
            best_arch = r.arch;
        }
    REQUIRE_FALSE(best_arch.empty());
    REQUIRE_THAT(o.out, Contains(best_arch));

    // JSON on standard output replaces the report; CSV files hold every answer
    const std::string prefix = temp_path("analyze") + ".";
    const outcome j = run_cli({"analyze", h5, "--json", "-", "--csv", prefix});
    REQUIRE(j.code == 0);
    REQUIRE_THAT(j.out, StartsWith("{\"archive\": "));
    REQUIRE_THAT(j.out, Contains("\"answered\": 40,"));
    std::ifstream csv(prefix + "evaluations.csv");
    std::size_t lines = 0;
    for (std::string line; std::getline(csv, line);) ++lines;
    REQUIRE(lines == 41);
    for (const char* name : {"evaluations.csv", "front.csv", "growth.csv", "workers.csv"}) std::remove((prefix + name).c_str());

    // a folder that does not exist yet is made; a write that fails (a full disk) is exit 1 naming
    // the file, not an empty file and success
    const std::string folder = temp_path("analyze_out");
    const outcome made = run_cli({"analyze", h5, "--csv", folder + "/nested/run.", "--json", folder + "/nested/run.json"});
    INFO(made.err);
    REQUIRE(made.code == 0);
    std::ifstream again(folder + "/nested/run.evaluations.csv");
    lines = 0;
    for (std::string line; std::getline(again, line);) ++lines;
    REQUIRE(lines == 41);
    std::ifstream json_file(folder + "/nested/run.json");
    std::string first;
    REQUIRE(std::getline(json_file, first));
    REQUIRE_THAT(first, StartsWith("{\"archive\": "));
    for (const char* name : {"evaluations.csv", "front.csv", "growth.csv", "workers.csv", "json"})
        std::remove((folder + "/nested/run." + name).c_str());
    ::rmdir((folder + "/nested").c_str());
    ::rmdir(folder.c_str());
    // more growth rows than answers is every answer's row, even for the largest N
    const outcome rows = run_cli({"analyze", h5, "--json", "-", "--checkpoints", "18446744073709551615"});
    REQUIRE(rows.code == 0);
    const std::string growth = rows.out.substr(rows.out.find("\"growth\": ["));
    std::size_t answered = 0;
    for (auto at = growth.find("{\"answered\": "); at != std::string::npos && at < growth.find("\"workers\"");
         at = growth.find("{\"answered\": ", at + 1))
        ++answered;
    REQUIRE(answered == 40);

    // an output that is the archive itself is refused, and the archive is intact
    check_usage_error({"analyze", h5, "--json", h5}, "is the archive " + h5 + "; give another file");
    REQUIRE(fracnas::hdf5::read_archive(h5).evaluations.size() == archive.evaluations.size());
    std::ifstream full("/dev/full");
    if (full) {
        const outcome f = run_cli({"analyze", h5, "--json", "/dev/full"});
        REQUIRE(f.code == 1);
        REQUIRE_THAT(f.err, Contains("cannot write /dev/full: the write failed"));
    }
    // a CSV cut by a file-size limit (1 KiB; SIGXFSZ ignored, so the write fails): exit 1, the file named
    const std::string cut_prefix = std::string(FRACNAS_TEST_TMP) + "/limited.";
    const outcome limited = fracnas::test::run_shell("ulimit -f 1; trap '' XFSZ; " + std::string(FRACNAS_BINARY) + " analyze " + h5 +
                                                     " --csv " + cut_prefix + " 2>&1");
    INFO(limited.out);
    REQUIRE(limited.code == 1);
    REQUIRE_THAT(limited.out, Contains("cannot write " + cut_prefix + "evaluations.csv: the write failed (is the disk full?)."));
    for (const char* name : {"evaluations.csv", "front.csv", "growth.csv", "workers.csv"}) std::remove((cut_prefix + name).c_str());
    std::remove(h5.c_str());
}

TEST_CASE("fracnas analyze: several archives side by side", "[cli][analyze][hdf5]") {
    const std::string a = searched("side_a.h5", "20"), b = searched("side_b.h5", "30");
    const outcome o = run_cli({"analyze", a, b, "--objectives", "ratio,params,memory"});
    INFO(o.out << o.err);
    REQUIRE(o.code == 0);
    REQUIRE_THAT(o.out, Contains("runs side by side (speed-up: "));
    REQUIRE_THAT(o.out, Contains(a));
    REQUIRE_THAT(o.out, Contains(b));
    const outcome j = run_cli({"analyze", a, b, "--json", "-"});
    REQUIRE_THAT(j.out, StartsWith("[{"));
    std::remove(a.c_str());
    std::remove(b.c_str());
}

TEST_CASE("fracnas analyze: missing, foreign and damaged archives and bad options are one line and exit 2", "[cli][analyze][hdf5]") {
    const std::string h5 = searched("damaged.h5", "20");
    check_usage_error({"analyze"}, "give at least one archive");
    check_usage_error({"analyze", h5 + ".missing"}, h5 + ".missing");
    const std::string text_file = temp_path("not-an-archive.h5");
    std::ofstream(text_file) << "hello\n";
    check_usage_error({"analyze", text_file}, text_file);
    // the same archive cut in half
    const std::string cut = temp_path("cut.h5");
    const std::string bytes = read_all(h5);
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    check_usage_error({"analyze", cut}, cut);
    check_usage_error({"analyze", h5, "--objectives", "ratio,speed"}, "unknown objective 'speed'");
    check_usage_error({"analyze", h5, "--reference-point", "1"}, "one value per objective");
    check_usage_error({"analyze", h5, "--top", "-1"}, "--top");
    check_usage_error({"analyze", h5, "--bogus"}, "--bogus");
    // an output under a file: the input's fault, refused before anything is written (was exit 1 after the analysis)
    check_usage_error({"analyze", h5, "--csv", text_file + "/out/x_"},
                      "--csv: cannot write '" + text_file + "/out/x_evaluations.csv': '" + text_file + "' is not a folder.");
    check_usage_error({"analyze", h5, "--json", text_file + "/x.json"},
                      "--json: cannot write '" + text_file + "/x.json': '" + text_file + "' is not a folder.");
    for (const auto& f : {h5, text_file, cut}) std::remove(f.c_str());
}
#endif
