// app::analyse on a hand-built archive: counts, the front and its hypervolume, growth in answer
// order, the best architectures, per-worker utilisation, CSV and JSON; every figure by hand.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "fracnas/app/analysis.hpp"
#include "fracnas/error.hpp"

using namespace fracnas;
using Catch::Matchers::Contains;

namespace {

storage::evaluation_record measured(std::uint64_t id, double ratio, std::uint64_t params, std::int32_t worker, double started,
                                    double ended) {
    storage::evaluation_record r;
    r.id = id;
    r.arch = "arch" + std::to_string(id);
    r.hash = id;
    r.decoder_params = params;
    r.feasible = true;
    r.worker = worker;
    r.out.reference_ms = 0.5;
    r.out.value = ratio * 0.5;
    r.ratio = ratio;
    r.out.peak_memory_bytes = params * 2;
    r.started = started;
    r.ended = ended;
    return r;
}

// A: (0.8, 100 M), B: (0.9, 120 M), C: (0.85, 90 M) dominated by A, D: A again from the cache,
// E: infeasible, F: failed on worker 2, G: (1.2, 200 M) on the front but beyond the reference.
storage::archive_contents hand_archive() {
    storage::archive_contents a;
    a.header.ranks = 3;
    a.header.hosts = "node1";
    a.evaluations.push_back(measured(0, 0.8, 100'000'000, 1, 0.0, 2.0));  // A
    a.evaluations.push_back(measured(1, 0.9, 120'000'000, 2, 0.0, 3.0));  // B
    a.evaluations.push_back(measured(2, 0.85, 90'000'000, 1, 2.0, 4.0));  // C
    auto d = a.evaluations[0];
    d.id = 3;
    d.cached = true;
    d.worker = -1;
    d.started = d.ended = 4.5;
    a.evaluations.push_back(d);  // D
    storage::evaluation_record e;
    e.id = 4;
    e.feasible = false;
    e.ended = 0.1;
    a.evaluations.push_back(e);  // E
    auto f = measured(5, 0.0, 150'000'000, 2, 3.0, 5.0);
    f.out.status = eval::outcome_status::error;
    f.out.value = f.ratio = std::nan("");
    a.evaluations.push_back(f);                                           // F
    a.evaluations.push_back(measured(6, 1.2, 200'000'000, 1, 4.0, 6.0));  // G
    for (std::int32_t rank : {1, 2}) {
        storage::worker_record w;
        w.rank = rank;
        w.host = "node1";
        w.device.name = "GPU" + std::to_string(rank);
        a.workers.push_back(w);
    }
    storage::session_record s;
    s.wall_seconds = 10.0;
    s.ended_by = "budget";
    a.sessions.push_back(s);
    return a;
}

std::size_t lines_of(const std::string& path) {
    std::ifstream in(path);
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
}

}  // namespace

TEST_CASE("analyse: counts, front, hypervolume, best, workers", "[app][analysis]") {
    const auto archive = hand_archive();
    const app::analysis_options opt;  // ratio (min), params (max); reference point (1, 0)
    const auto a = app::analyse(archive, "hand.h5", opt);
    REQUIRE(a.answered == 7);
    REQUIRE(a.measured == 5);
    REQUIRE(a.cached == 1);
    REQUIRE(a.infeasible == 1);
    REQUIRE(a.by_status.at("ok") == 4);
    REQUIRE(a.by_status.at("error") == 1);
    REQUIRE(a.wall_seconds == 10.0);
    REQUIRE(a.evaluations_per_second() == Approx(0.7));

    // the front: A, B, G (C is dominated by A; D is A again); sorted by ratio
    REQUIRE(a.front.size() == 3);
    REQUIRE(a.front[0].arch == "arch0");
    REQUIRE(a.front[1].arch == "arch1");
    REQUIRE(a.front[2].arch == "arch6");
    REQUIRE(a.front_values[1] == std::vector<double>{0.9, 120.0});
    // against (1, 0): A's box (1 - 0.8) x 100 = 20, B adds (1 - 0.9) x (120 - 100) = 2; G is beyond ratio 1
    REQUIRE(a.reference_point == std::vector<double>{1.0, 0.0});
    REQUIRE(a.hypervolume == Approx(22.0));

    // the best feasible architectures by ratio, each once
    REQUIRE(a.best.size() == 4);
    REQUIRE(a.best[0].arch == "arch0");
    REQUIRE(a.best[1].arch == "arch2");
    REQUIRE(a.best[3].arch == "arch6");

    // worker 1 was busy 2 + 2 + 2 s, worker 2 3 + 2 s (its failure included) of 10 s
    REQUIRE(a.workers.size() == 2);
    REQUIRE(a.workers[0].busy_seconds == Approx(6.0));
    REQUIRE(a.workers[0].utilisation == Approx(0.6));
    REQUIRE(a.workers[1].measured == 2);
    REQUIRE(a.workers[1].failed == 1);
    REQUIRE(a.workers[1].utilisation == Approx(0.5));
    REQUIRE(a.utilisation == Approx(0.55));
}

TEST_CASE("analyse: a dry run's busy time is simulated, and so is the span it is divided by", "[app][analysis]") {
    // the same answers, their times simulated (the last ends at 6 s), in a run whose real wall
    // time was 100 s: the workers were busy 6 and 5 of the 6 simulated seconds
    auto archive = hand_archive();
    archive.sessions[0].wall_seconds = 100.0;
    archive.header.config = "evaluator = model\ndispatcher = dry-run\n";
    const auto a = app::analyse(archive, "dry.h5", app::analysis_options{});
    REQUIRE(a.wall_seconds == 6.0);
    REQUIRE(a.workers[0].utilisation == Approx(1.0));
    REQUIRE(a.workers[1].utilisation == Approx(5.0 / 6.0));
    REQUIRE(a.utilisation == Approx(11.0 / 12.0));
    // the same archive from a real run: its real wall time
    archive.header.config = "evaluator = model\ndispatcher = local\n";
    const auto real = app::analyse(archive, "real.h5", app::analysis_options{});
    REQUIRE(real.wall_seconds == 100.0);
    REQUIRE(real.utilisation == Approx(0.055));
}

TEST_CASE(
    "analyse: a worker's idle time splits into waiting for the master's next task, the way to its start, and after its "
    "last task, per session",
    "[app][analysis]") {
    storage::archive_contents archive;
    const auto task = [&](std::uint64_t id, std::int32_t worker, double dispatched, double started, double ended) {
        auto r = measured(id, 0.5, 100'000'000, worker, started, ended);
        r.dispatched = dispatched;
        archive.evaluations.push_back(r);
    };
    // session 0 starts (the workers joined) at 1 s on the master's clock and lasts 10 s. Worker 1:
    // sent at 1.5, started 1.6, ended 3; the next sent at 3.5 (the master's turn: 0.5 s), started
    // at 3.7 (0.2 s on the way), ended 6; a third queued behind it (sent at 5) starts at 6.1 (0.1
    // s from the previous end), ends 9: idle 0.5 + 0.5 waiting, 0.1 + 0.2 + 0.1 on the way, 2 s
    // after it (to 11). Busy 1.4 + 2.3 + 2.9 = 6.6 of 10.
    task(0, 1, 1.5, 1.6, 3.0);
    task(1, 1, 3.5, 3.7, 6.0);
    task(2, 1, 5.0, 6.1, 9.0);
    // session 1 (joined at 20 s, 5 s long): one task sent at 21, started 21, ended 24
    task(3, 1, 21.0, 21.0, 24.0);
    // a cache hit and an infeasible answer are not the worker's
    auto cached = archive.evaluations[0];
    cached.id = 4;
    cached.cached = true;
    cached.worker = -1;
    archive.evaluations.push_back(cached);
    for (std::uint32_t session : {0U, 1U}) {
        storage::worker_record w;
        w.rank = 1;
        w.session = session;
        w.joined = session == 0 ? 1.0 : 20.0;
        archive.workers.push_back(w);
        storage::session_record s;
        s.session = session;
        s.wall_seconds = session == 0 ? 10.0 : 5.0;
        archive.sessions.push_back(s);
    }
    // worker 2 joined session 0 a millisecond after worker 1 (each join is stamped as it is
    // recorded); its one task: sent at 1.2, started 1.3, ended 10.5, half a second before the end
    task(5, 2, 1.2, 1.3, 10.5);
    storage::worker_record second;
    second.rank = 2;
    second.joined = 1.001;
    archive.workers.push_back(second);
    // worker 3 joined session 0 and got no task: all of its 10 s after its join
    storage::worker_record third;
    third.rank = 3;
    third.joined = 1.0;
    archive.workers.push_back(third);
    const auto a = app::analyse(archive, "idle.h5", app::analysis_options{});
    REQUIRE(a.idle_known);
    REQUIRE(a.workers.size() == 3);
    REQUIRE(a.workers[2].tail_seconds == Approx(10.0));
    REQUIRE(a.workers[2].master_wait_seconds == 0.0);
    REQUIRE(a.workers[1].master_wait_seconds == Approx(0.199));
    REQUIRE(a.workers[1].transit_seconds == Approx(0.1));
    REQUIRE(a.workers[1].tail_seconds == Approx(0.5));  // before: its own join + 10 s, a window that held none of its tasks
    const auto& w = a.workers[0];
    REQUIRE(w.busy_seconds == Approx(6.6 + 3.0));
    REQUIRE(w.master_wait_seconds == Approx(0.5 + 0.5 + 1.0));  // session 1: sent 1 s after the join
    REQUIRE(w.transit_seconds == Approx(0.1 + 0.2 + 0.1));
    REQUIRE(w.tail_seconds == Approx(2.0 + 1.0));  // 9 to 11, 24 to 25
    std::ostringstream report;
    app::print_analysis(a, app::analysis_options{}, report);
    REQUIRE_THAT(report.str(), Contains("% until the master sent the next task, ") && Contains("% after the last task"));

    // a killed session (no session row): no tail for it; a dry run: no split at all (its clock is simulated)
    archive.sessions.pop_back();
    REQUIRE(app::analyse(archive, "killed.h5", app::analysis_options{}).workers[0].tail_seconds == Approx(2.0));
    REQUIRE(app::analyse(archive, "killed.h5", app::analysis_options{}).workers[1].tail_seconds == Approx(0.5));
    archive.header.config = "evaluator = model\ndispatcher = dry-run\n";
    const auto dry = app::analyse(archive, "dry.h5", app::analysis_options{});
    REQUIRE_FALSE(dry.idle_known);
    std::ostringstream dry_report;
    app::print_analysis(dry, app::analysis_options{}, dry_report);
    REQUIRE_THAT(dry_report.str(), !Contains("idle:"));
}

TEST_CASE("print_comparison: each run's speed-up over the first's measurements per second, and the efficiency per worker",
          "[app][analysis]") {
    // one worker measuring 100 in 50 s (2/s); four measuring 100 in 14 s (7.14/s: 3.57x, 0.893);
    // eight measuring 800 in 60 s (a weak run: 13.33/s, 6.67x, 0.833)
    const auto run = [](std::size_t workers, std::uint64_t measured, double wall) {
        app::run_analysis a;
        a.workers.resize(workers);
        a.measured = a.answered = measured;
        a.wall_seconds = wall;
        a.path = std::to_string(workers) + ".h5";
        return a;
    };
    std::ostringstream out;
    app::print_comparison({run(1, 100, 50.0), run(4, 100, 14.0), run(8, 800, 60.0)}, out);
    const std::string text = out.str();
    INFO(text);
    REQUIRE_THAT(text, Contains("speed-up  efficiency"));
    REQUIRE_THAT(text, Contains("2.00      1.00       1.000"));
    REQUIRE_THAT(text, Contains("7.14      3.57       0.893"));
    REQUIRE_THAT(text, Contains("13.33      6.67       0.833"));
    REQUIRE_THAT(text, !Contains("trainings/h"));  // a timing search's table

    // a training search: 12 trainings in 60 s on one worker, 30 in 60 s on four: 720 and 1,800 an hour
    auto one = run(1, 100, 60.0), four = run(4, 100, 60.0);
    one.workers[0].trained = 12;
    for (auto& w : four.workers) w.trained = 7;
    four.workers[0].trained = 9;
    std::ostringstream trained;
    app::print_comparison({one, four}, trained);
    INFO(trained.str());
    REQUIRE_THAT(trained.str(), Contains("trainings  trainings/h"));
    REQUIRE_THAT(trained.str(), Contains("         12        720.0"));
    REQUIRE_THAT(trained.str(), Contains("         30       1800.0"));
}

TEST_CASE("best_feasible: by the ratio to each worker's reference, one per architecture, ties by the text", "[app][analysis]") {
    storage::archive_contents a;
    // P on a slow GPU: 0.6 ms against its reference's 1.0 (ratio 0.6); Q on a fast GPU: 0.4 ms
    // against 0.5 (ratio 0.8). The milliseconds would put Q first; the search minimised the ratio.
    auto p = measured(0, 0.6, 100'000'000, 1, 0.0, 1.0);
    p.out.reference_ms = 1.0;
    p.out.value = 0.6;
    auto q = measured(1, 0.8, 100'000'000, 2, 0.0, 1.0);
    q.out.value = 0.4;
    auto p_again = measured(2, 0.7, 100'000'000, 2, 1.0, 2.0);  // P re-measured (a resumed run): its best counts
    p_again.arch = p.arch;
    p_again.hash = p.hash;
    auto r = measured(3, 0.8, 100'000'000, 1, 1.0, 2.0);  // R ties with Q: "arch1" < "arch3"
    auto cached = q;                                      // answers from the cache are not measurements
    cached.id = 4;
    cached.cached = true;
    cached.ratio = 0.1;
    auto failed = measured(5, 0.05, 100'000'000, 1, 2.0, 3.0);
    failed.out.status = eval::outcome_status::out_of_memory;
    auto infeasible = measured(6, 0.01, 1'000, 1, 3.0, 4.0);
    infeasible.feasible = false;
    for (const auto& e : {r, p_again, cached, q, failed, infeasible, p}) a.evaluations.push_back(e);

    const auto best = app::best_feasible(a, 10);
    REQUIRE(best.size() == 3);
    REQUIRE(best[0].arch == "arch0");
    REQUIRE(best[0].ratio == 0.6);
    REQUIRE(best[1].arch == "arch1");
    REQUIRE(best[2].arch == "arch3");
    REQUIRE(app::best_feasible(a, 2).size() == 2);
    REQUIRE(app::best_feasible(storage::archive_contents{}, 5).empty());
}

TEST_CASE("analyse: the front and hypervolume grow in the order answers ended", "[app][analysis]") {
    const auto a = app::analyse(hand_archive(), "hand.h5", {});
    // ended: E 0.1, A 2, B 3, C 4, D 4.5, F 5, G 6
    REQUIRE(a.growth.size() == 7);
    const std::vector<std::uint64_t> sizes = {0, 1, 2, 2, 2, 2, 3};
    const std::vector<double> volumes = {0, 20, 22, 22, 22, 22, 22};
    for (std::size_t i = 0; i < 7; ++i) {
        INFO(i);
        REQUIRE(a.growth[i].answered == i + 1);
        REQUIRE(a.growth[i].front_size == sizes[i]);
        REQUIRE(a.growth[i].hypervolume == Approx(volumes[i]));
    }
    REQUIRE(std::isnan(a.growth[0].best_ratio));
    REQUIRE(a.growth[1].best_ratio == 0.8);
    REQUIRE(a.growth[6].time == 6.0);
}

TEST_CASE("analyse: other objectives and reference points", "[app][analysis]") {
    app::analysis_options one;
    one.objectives = {"ratio"};
    const auto a = app::analyse(hand_archive(), "hand.h5", one);
    REQUIRE(a.front.size() == 1);
    REQUIRE(a.hypervolume == Approx(0.2));  // 1 - 0.8

    app::analysis_options three;
    three.objectives = {"ms", "params", "memory"};
    three.reference_point = {0.5, 95.0, 1.0};  // ms, M params, GiB: C (90 M) and G (0.6 ms) add nothing
    const auto b = app::analyse(hand_archive(), "hand.h5", three);
    // memory is 2 bytes per parameter: A 2e8 B, B 2.4e8 B
    const double gib = static_cast<double>(1ULL << 30);
    const double a_mem = 2e8 / gib, b_mem = 2.4e8 / gib;
    // A's box 0.1 ms x 5 M x (1 - a_mem) GiB; B's 0.05 x 25 x (1 - b_mem); they share 0.05 x 5 x (1 - b_mem)
    const double expected = 0.1 * 5 * (1 - a_mem) + 0.05 * 25 * (1 - b_mem) - 0.05 * 5 * (1 - b_mem);
    REQUIRE(b.hypervolume == Approx(expected));

    REQUIRE(b.hypervolume_note.empty());
    // a memory objective no evaluator recorded (the latency model, CPU workers): a hypervolume of 0, said why
    auto no_memory = hand_archive();
    for (auto& r : no_memory.evaluations) r.out.peak_memory_bytes = 0;
    app::analysis_options with_memory;
    with_memory.objectives = {"ratio", "memory"};
    const auto m = app::analyse(no_memory, "hand.h5", with_memory);
    REQUIRE(m.hypervolume == 0.0);
    REQUIRE_THAT(m.hypervolume_note,
                 Contains("no front member improves on the reference point's memory (0): no evaluation recorded a peak memory"));
    std::ostringstream report;
    app::print_analysis(m, with_memory, report);
    REQUIRE_THAT(report.str(), Contains("note: the hypervolume is 0: no front member improves"));
    REQUIRE(app::analyse(hand_archive(), "hand.h5", with_memory).hypervolume_note.empty());  // memory recorded: a volume
    // no reference timing for ms: no hypervolume, said why
    app::analysis_options ms;
    ms.objectives = {"ms"};
    const auto t = app::analyse(hand_archive(), "hand.h5", ms);
    REQUIRE(std::isnan(t.hypervolume));
    REQUIRE_THAT(t.hypervolume_note, Contains("the reference point is not finite"));

    app::analysis_options bad;
    bad.objectives = {"ratio", "speed"};
    REQUIRE_THROWS_AS(app::validate(bad), config_error);
    bad.objectives = {"ratio", "ratio"};
    REQUIRE_THROWS_AS(app::validate(bad), config_error);
    bad.objectives = {"ratio", "ms", "params", "memory"};
    REQUIRE_THROWS_AS(app::validate(bad), config_error);
    bad.objectives = {"ratio", "params"};
    bad.reference_point = {1.0};
    REQUIRE_THROWS_AS(app::validate(bad), config_error);
}

TEST_CASE("analyse: CSV and JSON exports hold every row", "[app][analysis]") {
    const auto archive = hand_archive();
    const app::analysis_options opt;
    const auto a = app::analyse(archive, "hand.h5", opt);
    const std::string prefix = std::string(FRACNAS_TEST_TMP) + "/analysis." + std::to_string(::getpid()) + ".";
    app::write_csv(a, archive, prefix);
    REQUIRE(lines_of(prefix + "evaluations.csv") == 1 + 7);
    REQUIRE(lines_of(prefix + "front.csv") == 1 + 3);
    REQUIRE(lines_of(prefix + "growth.csv") == 1 + 7);
    REQUIRE(lines_of(prefix + "workers.csv") == 1 + 2);
    for (const char* name : {"evaluations.csv", "front.csv", "growth.csv", "workers.csv"}) std::remove((prefix + name).c_str());
    const std::string json = app::to_json(a, opt);
    REQUIRE_THAT(json, Contains("\"hypervolume\": 22,"));
    REQUIRE_THAT(json, Contains("\"answered\": 7,"));
    REQUIRE_THAT(json, Contains("\"utilisation\": 0.55,"));
    // a folder that cannot be made (a file stands in its way) is an error naming the file
    const std::string blocker = prefix + "blocker";
    std::ofstream(blocker) << "a file, not a folder\n";
    REQUIRE_THROWS_WITH(app::write_csv(a, archive, blocker + "/x."), Contains("cannot write " + blocker + "/x.evaluations.csv"));
    std::remove(blocker.c_str());
}
