// The HDF5 run archive (src/storage/hdf5, schema docs/archive.md): every table round-trips bit for
// bit over several flushes and chunks, strings are cut safely, writers are locked out, readers see
// the flushed rows while a run writes (in this process, in another one, and from h5py), resume
// continues the tables, a schema-1 archive reads and resumes as schema 1 and a schema-2 one as
// schema 2, and a SIGKILLed writer loses nothing it flushed. Not the search writing it.
#include "fracnas/hdf5/archive_file.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "fracnas/error.hpp"

// Files that are HDF5 but not archives are made with the C API where its header can be found.
#if __has_include(<hdf5.h>)
#include <hdf5.h>
#define FRACNAS_TEST_HAS_HDF5_API 1
#elif __has_include(<hdf5/serial/hdf5.h>)
#include <hdf5/serial/hdf5.h>
#define FRACNAS_TEST_HAS_HDF5_API 1
#endif

using namespace fracnas;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using fracnas::hdf5::archive_file;
using fracnas::hdf5::check_new_archive;
using fracnas::hdf5::read_archive;

namespace {

// A fresh path for one test case (CTest runs test cases in parallel processes: names differ).
std::string fresh(const std::string& name) {
    const std::string folder = std::string(FRACNAS_TEST_TMP) + "/hdf5_archive";
    std::filesystem::create_directories(folder);
    const std::string path = folder + "/" + name;
    std::filesystem::remove(path);
    std::filesystem::remove(path + ".lock");
    return path;
}

std::uint64_t bits(double v) {
    std::uint64_t b = 0;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

double from_bits(std::uint64_t b) {
    double v = 0;
    std::memcpy(&v, &b, sizeof v);
    return v;
}

std::string bits_text(double v) {
    char text[40];
    std::snprintf(text, sizeof text, "bits:0x%016llx", static_cast<unsigned long long>(bits(v)));
    return text;
}

// Doubles that a lossy path would change: NaN payloads, -0, subnormals, infinities, odd fractions.
double tricky(std::uint64_t i, std::uint64_t k) {
    switch ((i + k) % 8) {
        case 0:
            return from_bits(0x7ff8000000000000ULL | (i + 1));  // a quiet NaN carrying i
        case 1:
            return -0.0;
        case 2:
            return std::numeric_limits<double>::denorm_min() * static_cast<double>(i + 1);
        case 3:
            return (i % 2 ? -1 : 1) * std::numeric_limits<double>::infinity();
        case 4:
            return static_cast<double>(i) / 3.0;
        case 5:
            return -1e300 * static_cast<double>(i);
        case 6:
            return std::nextafter(1.0, 2.0) + static_cast<double>(i);
        default:
            return std::numeric_limits<double>::quiet_NaN();
    }
}

// What a fixed string member of width bytes keeps: at most width - 1 bytes, not splitting UTF-8.
std::string cut(const std::string& s, std::size_t width) {
    std::size_t n = std::min(s.size(), width - 1);
    while (n > 0 && n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0U) == 0x80U) --n;
    return s.substr(0, n);
}

storage::run_header header(std::uint32_t dim) {
    storage::run_header h;
    h.fracnas_version = "0.1.0";
    h.git_commit = "0123456789abcdef0123456789abcdef01234567";
    h.command_line = "fracnas search --budget 300 --archive run.h5";
    for (int i = 0; i < 200; ++i) h.config += "key_" + std::to_string(i) + " = value " + std::to_string(i * 7) + "\n";
    h.dim = dim;
    h.ranks = 3;
    h.hosts = "node1,node2";
    h.created = "2025-01-02T03:04:05Z";
    return h;
}

storage::evaluation_record evaluation(std::uint64_t i, std::uint32_t dim) {
    storage::evaluation_record r;
    r.id = i;
    r.phase = static_cast<std::uint32_t>(i % 3);
    r.task = 1000000 + i;
    for (std::uint32_t k = 0; k < dim; ++k) r.x.push_back(tricky(i, k));
    r.arch = "n_layer=" + std::to_string(2 + i % 23) + " d_model=512 d_inner=1024,1536 n_head=8,4 vocab=50257 context=1024";
    if (i % 50 == 7) r.arch = std::string(1500, 'a') + std::to_string(i);  // longer than its member
    r.hash = 0x9e3779b97f4a7c15ULL * (i + 1);
    r.decoder_params = i * 1000 + 1;
    r.total_params = std::numeric_limits<std::uint64_t>::max() - i;
    r.min_params = 5;
    r.feasible = i % 2 == 0;
    r.cached = i % 3 == 0;
    r.out.status = static_cast<eval::outcome_status>(i % 6);
    r.out.message = i % 6 == 0 ? "" : "evaluation " + std::to_string(i) + " failed: été ünïcode";
    r.out.value = tricky(i, 11);
    r.out.reference_ms = tricky(i, 12);
    r.out.decode_ms = tricky(i, 13);
    r.out.decode_iqr_ms = tricky(i, 14);
    r.out.prefill_ms = tricky(i, 15);
    r.out.prefill_iqr_ms = tricky(i, 16);
    r.out.repeats = static_cast<std::uint32_t>(i * 3);
    r.out.peak_memory_bytes = (1ULL << 40) + i;
    r.out.wall_seconds = static_cast<double>(i) * 0.25;
    r.ratio = tricky(i, 17);
    r.told = tricky(i, 18);
    r.worker = static_cast<std::int32_t>(i % 5) - 1;
    r.dispatched = static_cast<double>(i) + 0.1;
    r.started = static_cast<double>(i) + 0.2;
    r.ended = static_cast<double>(i) + 0.3;
    return r;
}

storage::event_record event(std::uint64_t i) {
    storage::event_record e;
    e.what = i % 2 ? storage::event_record::kind::tell : storage::event_record::kind::ask;
    e.phase = static_cast<std::uint32_t>(i % 4);
    e.requested = i % 7;
    e.first = i * 2;
    e.count = i % 5;
    e.value = tricky(i, 3);
    e.failed = static_cast<std::uint8_t>(i % 3 == 0);
    e.time = static_cast<double>(i) * 0.5;
    return e;
}

storage::worker_record worker(std::uint64_t i, std::uint32_t session) {
    storage::worker_record w;
    w.rank = static_cast<std::int32_t>(i + 1);
    w.host = "node" + std::to_string(i % 9) + (i % 40 == 3 ? std::string(300, 'h') : "");
    const bool gpu = i % 8 != 0;
    w.device.kind = gpu ? "cuda" : "cpu";
    w.device.index = gpu ? static_cast<int>(i % 8) : -1;
    w.device.name = gpu ? "NVIDIA H200" : "cpu";
    w.device.uuid = gpu ? "GPU-12345678-abcd-ef01-2345-" + std::to_string(i) : "";
    w.reference_ms = tricky(i, 5);
    w.joined = static_cast<double>(i) / 7.0;
    w.session = session;
    return w;
}

storage::worker_event_record worker_event(std::uint64_t i, std::uint32_t session) {
    storage::worker_event_record e;
    e.kind = static_cast<std::uint8_t>(i % 5);
    e.worker = static_cast<std::int32_t>(i % 17);
    e.time = static_cast<double>(i) * 1.5;
    e.reference_ms = tricky(i, 6);
    e.message = i % 5 == 2 ? "missed its deadline of " + std::to_string(i) + " s" : "";
    e.session = session;
    return e;
}

storage::session_record session_row(std::uint32_t s) {
    storage::session_record r;
    r.session = s;
    r.started = "2025-01-02T03:04:" + std::to_string(10 + s % 50) + "Z";
    r.wall_seconds = tricky(s, 9);
    r.ended_by = s % 2 ? "budget" : "signal";
    r.command_line = "fracnas search --resume run.h5 " + std::string(s % 10 == 4 ? 5000 : 10, 'c');
    return r;
}

// One training of a training search: the reference's (candidate 0) or candidate's, at a rung's
// budget; a failed one has NaN losses, fewer tokens and a message. Its times are tricky doubles.
// Its trend probe: none (0, NaN) for a candidate divisible by 4 and the reference, the largest
// budgets for candidates 2 mod 4, else half the budget; its perplexity a tricky double.
storage::search_training_record search_training(std::uint64_t candidate, std::uint32_t rung, eval::outcome_status status,
                                                std::uint32_t session, std::uint64_t seed = 1) {
    storage::search_training_record r;
    r.candidate = candidate;
    r.reference = candidate == 0;
    r.arch = r.reference ? "n_layer=12 d_model=768 d_inner=3072 n_head=12 vocab=32768 context=1024"
                         : "n_layer=" + std::to_string(2 + candidate % 11) + " d_model=512 d_inner=1536 n_head=8 vocab=32768 context=1024";
    r.hash = 0x9e3779b97f4a7c15ULL * (candidate + 3);
    r.rung = rung;
    r.budget = 2000000ULL << rung;
    r.seed = seed;
    r.status = status;
    const bool ok = status == eval::outcome_status::ok;
    r.message = ok ? "" : "training of candidate " + std::to_string(candidate) + " ended: " + eval::to_string(status);
    r.val_loss = ok ? 3.0 + static_cast<double>(candidate) / 7.0 + static_cast<double>(rung) * 0.1 : eval::outcome::none;
    r.val_perplexity = ok ? std::exp(r.val_loss) : eval::outcome::none;
    r.tokens_trained = ok ? r.budget : r.budget / 3;
    r.tokens_per_second = tricky(candidate + rung, 21);
    r.wall_seconds = tricky(candidate + rung, 22);
    r.probe_budget = candidate % 4 == 0 ? 0 : candidate % 4 == 2 ? std::numeric_limits<std::uint64_t>::max() - candidate : r.budget / 2;
    r.probe_perplexity = r.probe_budget == 0 ? eval::outcome::none : tricky(candidate + rung, 24);
    r.worker = static_cast<std::int32_t>(1 + candidate % 3);
    r.dispatched = static_cast<double>(candidate) + 0.1;
    r.started = tricky(candidate + rung, 23);
    r.ended = static_cast<double>(candidate) + 0.7;
    r.session = session;
    return r;
}

// The first member that differs ("" when none), strings compared with what their member keeps.
std::string diff(const storage::evaluation_record& want, const storage::evaluation_record& got) {
    if (want.id != got.id) return "id";
    if (want.phase != got.phase) return "phase";
    if (want.task != got.task) return "task";
    if (want.x.size() != got.x.size()) return "x size";
    for (std::size_t k = 0; k < want.x.size(); ++k)
        if (bits(want.x[k]) != bits(got.x[k])) return "x[" + std::to_string(k) + "]";
    if (cut(want.arch, 1024) != got.arch) return "arch";
    if (want.hash != got.hash) return "hash";
    if (want.decoder_params != got.decoder_params) return "decoder_params";
    if (want.total_params != got.total_params) return "total_params";
    if (want.min_params != got.min_params) return "min_params";
    if (want.feasible != got.feasible) return "feasible";
    if (want.cached != got.cached) return "cached";
    if (want.out.status != got.out.status) return "status";
    if (cut(want.out.message, 256) != got.out.message) return "message";
    const std::pair<double, double> doubles[] = {{want.out.value, got.out.value},
                                                 {want.out.reference_ms, got.out.reference_ms},
                                                 {want.out.decode_ms, got.out.decode_ms},
                                                 {want.out.decode_iqr_ms, got.out.decode_iqr_ms},
                                                 {want.out.prefill_ms, got.out.prefill_ms},
                                                 {want.out.prefill_iqr_ms, got.out.prefill_iqr_ms},
                                                 {want.out.wall_seconds, got.out.wall_seconds},
                                                 {want.ratio, got.ratio},
                                                 {want.told, got.told},
                                                 {want.dispatched, got.dispatched},
                                                 {want.started, got.started},
                                                 {want.ended, got.ended}};
    for (std::size_t k = 0; k < std::size(doubles); ++k)
        if (bits(doubles[k].first) != bits(doubles[k].second)) return "double member " + std::to_string(k);
    if (want.out.repeats != got.out.repeats) return "repeats";
    if (want.out.peak_memory_bytes != got.out.peak_memory_bytes) return "peak_memory_bytes";
    if (want.worker != got.worker) return "worker";
    for (const auto& [w, g] : {std::pair{&want.out.scenario_ms, &got.out.scenario_ms},
                               std::pair{&want.out.scenario_reference_ms, &got.out.scenario_reference_ms}}) {
        if (w->size() != g->size()) return "scenario size";
        for (std::size_t k = 0; k < w->size(); ++k)
            if (bits((*w)[k]) != bits((*g)[k])) return "scenario[" + std::to_string(k) + "]";
    }
    return "";
}

std::string diff(const storage::event_record& want, const storage::event_record& got) {
    if (want.what != got.what) return "what";
    if (want.phase != got.phase || want.requested != got.requested || want.first != got.first || want.count != got.count)
        return "phase/requested/first/count";
    if (bits(want.value) != bits(got.value)) return "value";
    if (want.failed != got.failed) return "failed";
    if (bits(want.time) != bits(got.time)) return "time";
    return "";
}

std::string diff(const storage::worker_record& want, const storage::worker_record& got) {
    if (want.rank != got.rank) return "rank";
    if (cut(want.host, 64) != got.host) return "host";
    if (want.device.kind != got.device.kind || want.device.index != got.device.index) return "device kind/index";
    if (want.device.name != got.device.name || want.device.uuid != got.device.uuid) return "device name/uuid";
    if (bits(want.reference_ms) != bits(got.reference_ms) || bits(want.joined) != bits(got.joined)) return "times";
    if (want.session != got.session) return "session";
    return "";
}

std::string diff(const storage::worker_event_record& want, const storage::worker_event_record& got) {
    if (want.kind != got.kind || want.worker != got.worker || want.session != got.session) return "kind/worker/session";
    if (bits(want.time) != bits(got.time) || bits(want.reference_ms) != bits(got.reference_ms)) return "times";
    if (want.message != got.message) return "message";
    return "";
}

std::string diff(const storage::session_record& want, const storage::session_record& got) {
    if (want.session != got.session || want.started != got.started || want.ended_by != got.ended_by) return "session/started/ended_by";
    if (bits(want.wall_seconds) != bits(got.wall_seconds)) return "wall_seconds";
    if (cut(want.command_line, 4096) != got.command_line) return "command_line";
    return "";
}

std::string diff(const storage::search_training_record& want, const storage::search_training_record& got) {
    if (want.candidate != got.candidate || want.reference != got.reference) return "candidate/reference";
    if (cut(want.arch, 1024) != got.arch || want.hash != got.hash) return "arch/hash";
    if (want.rung != got.rung || want.budget != got.budget || want.seed != got.seed) return "rung/budget/seed";
    if (want.status != got.status) return "status";
    if (cut(want.message, 256) != got.message) return "message";
    const std::pair<double, double> doubles[] = {{want.val_loss, got.val_loss},
                                                 {want.val_perplexity, got.val_perplexity},
                                                 {want.tokens_per_second, got.tokens_per_second},
                                                 {want.wall_seconds, got.wall_seconds},
                                                 {want.dispatched, got.dispatched},
                                                 {want.started, got.started},
                                                 {want.ended, got.ended}};
    for (std::size_t k = 0; k < std::size(doubles); ++k)
        if (bits(doubles[k].first) != bits(doubles[k].second)) return "double member " + std::to_string(k);
    if (want.tokens_trained != got.tokens_trained) return "tokens_trained";
    if (want.probe_budget != got.probe_budget) return "probe_budget";
    if (bits(want.probe_perplexity) != bits(got.probe_perplexity)) return "probe_perplexity";
    if (want.worker != got.worker || want.session != got.session) return "worker/session";
    return "";
}

template <class R>
void require_rows(const std::vector<R>& want, const std::vector<R>& got, const char* table) {
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        INFO(table << " row " << i);
        REQUIRE(diff(want[i], got[i]) == "");
    }
}

void require_header(const storage::run_header& want, const storage::run_header& got) {
    CHECK(got.schema == storage::schema_version);
    CHECK(got.fracnas_version == want.fracnas_version);
    CHECK(got.git_commit == want.git_commit);
    CHECK(got.command_line == want.command_line);
    CHECK(got.config == want.config);
    CHECK(got.dim == want.dim);
    CHECK(got.scenarios == want.scenarios);
    CHECK(got.ranks == want.ranks);
    CHECK(got.hosts == want.hosts);
    CHECK(got.created == want.created);
}

// Runs f, which must throw config_error("--archive"); returns its message.
template <class F>
std::string config_message(F&& f) {
    try {
        f();
    } catch (const config_error& e) {
        CHECK(e.field() == "--archive");
        return e.what();
    } catch (const std::exception& e) {
        FAIL("expected a config_error, got: " << e.what());
    }
    FAIL("expected a config_error, nothing was thrown");
    return "";
}

// ---- h5py, through tests/storage/hdf5/read_archive.py
// Built with the h5py checks when CMake found h5py for FRACNAS_PYTHON (FRACNAS_HAVE_H5PY=1), and
// then they must pass; without it they are left out at configure time (CMake says so), never
// passed silently.
constexpr bool with_h5py = FRACNAS_HAVE_H5PY != 0;

// Runs the script on path with args; returns its exit status and output.
std::pair<int, std::string> h5py_check(const std::string& path, const std::string& args) {
    const std::string command =
        std::string(FRACNAS_PYTHON) + " " + FRACNAS_SOURCE_DIR + "/tests/storage/hdf5/read_archive.py '" + path + "' " + args + " 2>&1";
    std::string output;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return {-1, "popen failed: " + command};
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, command + "\n" + output};
}

// A full set of rows: several chunks per table (chunks are 64 to 1024 rows), flushed in batches.
struct rows {
    std::vector<storage::evaluation_record> evaluations;
    std::vector<storage::event_record> events;
    std::vector<storage::worker_record> workers;
    std::vector<storage::worker_event_record> worker_events;
    std::vector<storage::session_record> sessions;
    std::vector<storage::search_training_record> search_trainings;
};

rows write_rows(archive_file& a, std::uint32_t dim, std::uint64_t n, std::uint32_t session) {
    rows r;
    for (std::uint64_t i = 0; i < n; ++i) {
        r.evaluations.push_back(evaluation(i, dim));
        a.append(r.evaluations.back());
        for (int k = 0; k < 2; ++k) {
            r.events.push_back(event(2 * i + static_cast<std::uint64_t>(k)));
            a.append(r.events.back());
        }
        if (i % 4 == 0) {
            r.workers.push_back(worker(i, session));
            a.append(r.workers.back());
        }
        if (i % 3 == 0) {
            r.worker_events.push_back(worker_event(i, session));
            a.append(r.worker_events.back());
        }
        if (i % 10 == 0) {
            r.sessions.push_back(session_row(static_cast<std::uint32_t>(i / 10)));
            a.append(r.sessions.back());
        }
        if (i % 5 == 1) {  // every status, the reference's rows among them
            r.search_trainings.push_back(
                search_training(i % 25 == 1 ? 0 : i, static_cast<std::uint32_t>(i % 3), static_cast<eval::outcome_status>(i % 8), session));
            a.append(r.search_trainings.back());
        }
        if (i % 97 == 96) a.flush();
    }
    a.flush();
    return r;
}

}  // namespace

TEST_CASE("every table round-trips bit for bit over several flushes and chunks", "[hdf5]") {
    const std::string path = fresh("round_trip.h5");
    const std::uint32_t dim = 7;
    rows written;
    {
        auto a = archive_file::create(path, header(dim), false);
        CHECK(a->session() == 0);
        CHECK(a->path() == path);
        // 2200 evaluations (9 chunks; read back in two blocks), 4400 events, 550 workers, 734 worker
        // events, 220 sessions (4 chunks), 440 search trainings (2-row chunks)
        written = write_rows(*a, dim, 2200, 0);
    }
    const auto c = read_archive(path);
    require_header(header(dim), c.header);
    require_rows(written.evaluations, c.evaluations, "evaluations");
    require_rows(written.events, c.events, "events");
    require_rows(written.workers, c.workers, "workers");
    require_rows(written.worker_events, c.worker_events, "worker_events");
    require_rows(written.sessions, c.sessions, "sessions");
    require_rows(written.search_trainings, c.search_trainings, "search_trainings");
    CHECK_FALSE(std::filesystem::exists(path + ".lock"));  // removed with the lock
}

TEST_CASE("a serving mix's latencies round-trip bit for bit, an unmeasured row as NaN, and a schema-4 archive has none", "[hdf5]") {
    const std::string path = fresh("mix.h5");
    storage::run_header h = header(3);
    h.scenarios = 3;
    std::vector<storage::evaluation_record> want;
    {
        auto a = archive_file::create(path, h, false);
        for (std::uint64_t i = 0; i < 9; ++i) {
            auto r = evaluation(i, 3);
            if (i % 4 != 3)  // every fourth was not measured: no latencies
                for (std::size_t k = 0; k < 3; ++k) {
                    r.out.scenario_ms.push_back(tricky(i, 20 + k));
                    r.out.scenario_reference_ms.push_back(tricky(i, 30 + k));
                }
            a->append(r);
            if (r.out.scenario_ms.empty()) r.out.scenario_ms = r.out.scenario_reference_ms = std::vector<double>(3, eval::outcome::none);
            want.push_back(r);
        }
        a->append(session_row(0));
    }
    auto c = read_archive(path);
    require_header(h, c.header);
    require_rows(want, c.evaluations, "evaluations");
    {
        storage::archive_contents resumed;
        auto a = archive_file::resume(path, resumed);  // the mix's columns continue
        require_rows(want, resumed.evaluations, "evaluations");
        auto r = evaluation(9, 3);
        r.out.scenario_ms = {1.0, 2.0, 3.0};
        r.out.scenario_reference_ms = {4.0, 5.0, 6.0};
        a->append(r);
        want.push_back(r);
        a->append(session_row(1));
    }
    require_rows(want, read_archive(path).evaluations, "evaluations");
    if (with_h5py) {
        const auto [status, output] = h5py_check(path, "--rows evaluations=10 --attr scenarios=3 schema_version=5");
        INFO(output);
        CHECK(status == 0);
    }
    // schema 4 (no mix then): no such attribute or members, read as none
    const std::string old = fresh("schema4.h5");
    storage::run_header h4 = header(2);
    h4.schema = 4;
    {
        auto a = archive_file::create(old, h4, false);
        a->append(evaluation(0, 2));
        a->append(session_row(0));
    }
    const auto c4 = read_archive(old);
    CHECK(c4.header.schema == 4);
    CHECK(c4.header.scenarios == 0);
    CHECK(c4.evaluations.front().out.scenario_ms.empty());
}

TEST_CASE("strings longer than their member are cut, whole characters only, without touching their neighbours", "[hdf5]") {
    const std::string path = fresh("long_strings.h5");
    storage::evaluation_record r = evaluation(1, 2);
    r.arch = std::string(5000, 'a');
    r.out.message = std::string(254, 'm') + "\xC3\xA9" + "tail";  // é straddles the 255-byte limit
    r.hash = 0xfedcba9876543210ULL;
    storage::worker_record w = worker(1, 0);
    w.host = std::string(100, 'h');
    w.device.uuid = std::string(100, 'u');
    storage::session_record s = session_row(0);
    s.command_line = std::string(9000, 'c');
    s.wall_seconds = 12.5;
    {
        auto a = archive_file::create(path, header(2), false);
        a->append(r);
        a->append(w);
        a->append(s);
    }  // the destructor flushes
    const auto c = read_archive(path);
    REQUIRE(c.evaluations.size() == 1);
    CHECK(c.evaluations[0].arch == std::string(1023, 'a'));
    CHECK(c.evaluations[0].out.message == std::string(254, 'm'));
    CHECK(c.evaluations[0].hash == 0xfedcba9876543210ULL);
    CHECK(bits(c.evaluations[0].out.value) == bits(r.out.value));
    REQUIRE(c.workers.size() == 1);
    CHECK(c.workers[0].host == std::string(63, 'h'));
    CHECK(c.workers[0].device.uuid == std::string(63, 'u'));
    CHECK(c.workers[0].device.name == w.device.name);
    REQUIRE(c.sessions.size() == 1);
    CHECK(c.sessions[0].command_line == std::string(4095, 'c'));
    CHECK(c.sessions[0].wall_seconds == 12.5);
}

TEST_CASE("an evaluation whose point has the wrong dimension is refused", "[hdf5]") {
    const std::string path = fresh("wrong_dim.h5");
    auto a = archive_file::create(path, header(3), false);
    REQUIRE_THROWS_AS(a->append(evaluation(0, 4)), storage_error);
    REQUIRE_THROWS_WITH(a->append(evaluation(0, 2)), Contains("has 2 coordinates") && Contains(path));
}

TEST_CASE("create refuses an existing file, and replaces it when asked", "[hdf5]") {
    const std::string path = fresh("existing.h5");
    {
        auto a = archive_file::create(path, header(2), false);
        a->append(evaluation(0, 2));
    }
    const std::string refused = config_message([&] { archive_file::create(path, header(2), false); });
    CHECK_THAT(refused, Contains(path) && Contains("exists") && Contains("--replace"));
    CHECK_THAT(config_message([&] { check_new_archive(path, false); }), Contains(path) && Contains("exists"));
    CHECK(read_archive(path).evaluations.size() == 1);  // untouched

    CHECK_NOTHROW(check_new_archive(path, true));
    {
        auto a = archive_file::create(path, header(5), true);
        a->append(evaluation(9, 5));
        a->append(evaluation(10, 5));
    }
    const auto c = read_archive(path);
    CHECK(c.header.dim == 5);
    REQUIRE(c.evaluations.size() == 2);
    CHECK(c.evaluations[0].id == 9);
}

TEST_CASE("check_new_archive validates the place without creating anything", "[hdf5]") {
    const std::string path = fresh("checked.h5");
    CHECK_NOTHROW(check_new_archive(path, false));
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK_FALSE(std::filesystem::exists(path + ".lock"));
    const std::string missing = std::string(FRACNAS_TEST_TMP) + "/no_such_folder/run.h5";
    CHECK_THAT(config_message([&] { check_new_archive(missing, false); }), Contains(missing) && Contains("does not exist"));
    CHECK_THAT(config_message([&] { archive_file::create(missing, header(1), false); }), Contains(missing));
    const std::string folder = std::string(FRACNAS_TEST_TMP) + "/hdf5_archive";
    CHECK_THAT(config_message([&] { check_new_archive(folder, true); }), Contains("is a folder"));
}

TEST_CASE("a second writer is refused while the first holds the run lock, naming it", "[hdf5]") {
    const std::string path = fresh("locked.h5");
    char host[256] = {};
    (void)::gethostname(host, sizeof host - 1);
    const std::string holder = "process " + std::to_string(::getpid()) + " on " + host;
    {
        auto a = archive_file::create(path, header(2), false);
        a->append(evaluation(0, 2));
        a->flush();
        // flock locks belong to an open file description: a second open in this process is refused too
        CHECK_THAT(config_message([&] { archive_file::create(path, header(2), true); }), Contains(path) && Contains(holder));
        storage::archive_contents c;
        CHECK_THAT(config_message([&] { archive_file::resume(path, c); }), Contains(path) && Contains(holder));
        CHECK_THAT(config_message([&] { check_new_archive(path, true); }), Contains(holder));
        a->append(evaluation(1, 2));
    }
    CHECK_FALSE(std::filesystem::exists(path + ".lock"));
    storage::archive_contents c;
    auto b = archive_file::resume(path, c);  // free again
    CHECK(c.evaluations.size() == 2);
}

TEST_CASE("a reader sees exactly the flushed rows while the writer is open", "[hdf5]") {
    const std::string path = fresh("live.h5");
    const std::uint32_t dim = 4;
    auto a = archive_file::create(path, header(dim), false);
    CHECK(read_archive(path).evaluations.empty());
    std::vector<storage::evaluation_record> flushed;
    for (std::uint64_t i = 0; i < 300; ++i) flushed.push_back(evaluation(i, dim));
    for (const auto& r : flushed) a->append(r);
    a->append(event(0));
    a->flush();
    for (std::uint64_t i = 300; i < 310; ++i) a->append(evaluation(i, dim));  // appended, not flushed
    a->append(event(1));

    const auto c = read_archive(path);
    require_rows(flushed, c.evaluations, "evaluations");
    CHECK(c.events.size() == 1);
    require_header(header(dim), c.header);

    if (with_h5py) {
        // another process, through another HDF5 (h5py's own), as a SWMR reader
        const auto [status, output] =
            h5py_check(path,
                       "--swmr --rows evaluations=300 events=1 workers=0 sessions=0 --value evaluations 299 id 299 "
                       "--value evaluations 5 told " +
                           bits_text(flushed[5].told));
        INFO(output);
        CHECK(status == 0);
    }
    a->flush();
    CHECK(read_archive(path).evaluations.size() == 310);
    if (with_h5py) {
        const auto [status, output] = h5py_check(path, "--swmr --rows evaluations=310 events=2");
        INFO(output);
        CHECK(status == 0);
    }
}

#if FRACNAS_HAVE_H5PY
TEST_CASE("h5py reads a finished archive: rows, attributes, enums and bit-exact values", "[hdf5]") {
    const std::string path = fresh("h5py.h5");
    const std::uint32_t dim = 3;
    rows written;
    {
        auto a = archive_file::create(path, header(dim), false);
        written = write_rows(*a, dim, 400, 0);
    }
    const auto& e = written.evaluations[123];
    std::string x;
    for (double v : e.x) x += (x.empty() ? "" : ",") + bits_text(v);
    const std::string args =
        "--rows evaluations=400 events=800 workers=100 worker_events=134 sessions=40 search_trainings=80"
        " --attr schema_version=" +
        std::to_string(storage::schema_version) +
        " dim=3 ranks=3 hosts=node1,node2"
        " git_commit=" +
        header(dim).git_commit + " --value evaluations 123 id 123 --value evaluations 123 x " + x + " --value evaluations 123 status " +
        eval::to_string(e.out.status) + " --value evaluations 123 told " + bits_text(e.told) + " --value evaluations 123 value " +
        bits_text(e.out.value) + " --value evaluations 123 arch '" + e.arch + "'" + " --value evaluations 123 total_params " +
        std::to_string(e.total_params) + " --value events 7 what tell --value events 8 what ask" + " --value workers 1 device_name '" +
        written.workers[1].device.name + "' --value workers 1 device_uuid '" + written.workers[1].device.uuid +
        "' --value workers 1 device_index " + std::to_string(written.workers[1].device.index) + " --value sessions 3 ended_by budget";
    const auto [status, output] = h5py_check(path, args);
    INFO(output);
    CHECK(status == 0);
}
#endif

TEST_CASE("resume continues every table at its end in the next session", "[hdf5]") {
    const std::string path = fresh("resume.h5");
    const std::uint32_t dim = 2;
    rows first;
    {
        auto a = archive_file::create(path, header(dim), false);
        first = write_rows(*a, dim, 300, 0);
    }
    std::vector<storage::evaluation_record> all = first.evaluations;
    {
        storage::archive_contents c;
        auto a = archive_file::resume(path, c);
        // the first run wrote sessions 0..29 (write_rows numbers them i / 10): one past the largest
        CHECK(a->session() == 30);
        require_header(header(dim), c.header);
        require_rows(first.evaluations, c.evaluations, "evaluations");
        require_rows(first.events, c.events, "events");
        require_rows(first.search_trainings, c.search_trainings, "search_trainings");
        for (std::uint64_t i = 300; i < 700; ++i) {
            all.push_back(evaluation(i, dim));
            a->append(all.back());
        }
        a->append(worker(1, a->session()));
        a->append(session_row(a->session()));
        first.search_trainings.push_back(search_training(300, 2, eval::outcome_status::stopped, a->session()));
        a->append(first.search_trainings.back());
    }
    const auto c = read_archive(path);
    require_rows(all, c.evaluations, "evaluations");
    CHECK(c.events.size() == first.events.size());
    require_rows(first.search_trainings, c.search_trainings, "search_trainings");
    REQUIRE(c.sessions.size() == first.sessions.size() + 1);
    CHECK(c.sessions.back().session == 30);
    storage::archive_contents again;
    CHECK(archive_file::resume(path, again)->session() == 31);
}

TEST_CASE("resume after a first run that wrote no session record numbers the next session 1", "[hdf5]") {
    const std::string path = fresh("no_session.h5");
    {
        auto a = archive_file::create(path, header(1), false);
        a->append(evaluation(0, 1));
    }
    storage::archive_contents c;
    {
        auto a = archive_file::resume(path, c);
        CHECK(a->session() == 1);  // nothing numbered: the killed first run was session 0
        a->append(worker(0, 1));
        a->append(worker_event(0, 1));
    }
    CHECK(archive_file::resume(path, c)->session() == 2);  // its workers say session 1 ran, unfinished
    CHECK(c.workers.size() == 1);
    CHECK(c.sessions.empty());
}

TEST_CASE("a training search's trainings round-trip, failures and cut messages included, and resume continues them in order", "[hdf5]") {
    using eval::outcome_status;
    const std::string path = fresh("search_trainings.h5");
    // rung 0: the reference with two seeds and four candidates (two failed, one stopped); rung 1:
    // the reference and the promoted candidate 3
    std::vector<storage::search_training_record> want = {
        search_training(0, 0, outcome_status::ok, 0),       search_training(3, 0, outcome_status::ok, 0),
        search_training(5, 0, outcome_status::diverged, 0), search_training(6, 0, outcome_status::out_of_memory, 0),
        search_training(7, 0, outcome_status::stopped, 0),  search_training(0, 0, outcome_status::ok, 0, 2),
        search_training(0, 1, outcome_status::ok, 0),
    };
    want[3].message = "CUDA out of memory: " + std::string(400, 'x');  // longer than its member
    {
        auto a = archive_file::create(path, header(2), false);
        for (std::uint64_t i = 0; i < 8; ++i) a->append(evaluation(i, 2));  // the candidates' timings
        for (std::size_t k = 0; k < 3; ++k) a->append(want[k]);
        a->flush();
        CHECK(read_archive(path).search_trainings.size() == 3);  // visible once flushed, while the writer is open
        for (std::size_t k = 3; k < want.size(); ++k) a->append(want[k]);
    }  // the destructor flushes
    const auto c = read_archive(path);
    CHECK(c.header.schema == storage::schema_version);
    require_rows(want, c.search_trainings, "search_trainings");
    CHECK(c.search_trainings[0].reference);
    CHECK(c.search_trainings[0].candidate == 0);
    CHECK_FALSE(c.search_trainings[1].reference);
    CHECK(c.search_trainings[2].status == outcome_status::diverged);
    CHECK(std::isnan(c.search_trainings[2].val_loss));
    CHECK(std::isnan(c.search_trainings[2].val_perplexity));
    CHECK(c.search_trainings[3].status == outcome_status::out_of_memory);
    CHECK(c.search_trainings[3].message == want[3].message.substr(0, 255));
    CHECK(c.search_trainings[4].status == outcome_status::stopped);
    // the trend probes: none for the reference, half the budget, the largest budget, an infinite
    // and a NaN perplexity
    CHECK(c.search_trainings[0].probe_budget == 0);
    CHECK(std::isnan(c.search_trainings[0].probe_perplexity));
    CHECK(c.search_trainings[1].probe_budget == 1000000);
    CHECK(c.search_trainings[1].probe_perplexity == -std::numeric_limits<double>::infinity());
    CHECK(c.search_trainings[3].probe_budget == std::numeric_limits<std::uint64_t>::max() - 6);
    CHECK(std::isnan(c.search_trainings[4].probe_perplexity));
    CHECK(c.evaluations.size() == 8);
    if (with_h5py) {
        // every column by name, the enum's eight names, NaN losses, a cut message, and the ratio a
        // reader computes (the candidate's perplexity over the reference's of the same rung and seed)
        const std::string args =
            "--rows search_trainings=7 evaluations=8 --attr schema_version=" + std::to_string(storage::schema_version) +
            " --members search_trainings candidate,reference,arch,hash,rung,budget,seed,status,message,val_loss,val_perplexity,"
            "tokens_trained,tokens_per_second,wall_seconds,probe_budget,probe_perplexity,worker,dispatched,started,ended,session"
            " --enum search_trainings status ok=0,invalid=1,out_of_memory=2,error=3,timeout=4,device_lost=5,diverged=6,stopped=7"
            " --enum evaluations status ok=0,invalid=1,out_of_memory=2,error=3,timeout=4,device_lost=5"
            " --enum worker_events kind joined=0,calibrated=1,left_hung=2,left_device=3,late_result=4"
            " --value search_trainings 0 reference 1 --value search_trainings 0 candidate 0 --value search_trainings 1 reference 0"
            " --value search_trainings 1 candidate 3 --value search_trainings 1 arch '" +
            want[1].arch + "' --value search_trainings 1 hash " + std::to_string(want[1].hash) +
            " --value search_trainings 0 status ok --value search_trainings 2 status diverged"
            " --value search_trainings 3 status out_of_memory --value search_trainings 4 status stopped"
            " --value search_trainings 2 val_loss " +
            bits_text(eval::outcome::none) + " --value search_trainings 2 val_perplexity " + bits_text(eval::outcome::none) +
            " --value search_trainings 3 message '" + want[3].message.substr(0, 255) + "' --value search_trainings 2 message '" +
            want[2].message + "' --value search_trainings 1 val_perplexity " + bits_text(want[1].val_perplexity) +
            " --value search_trainings 4 tokens_trained " + std::to_string(want[4].tokens_trained) + " --value search_trainings 6 rung 1" +
            " --value search_trainings 6 budget " + std::to_string(want[6].budget) + " --value search_trainings 5 seed 2" +
            " --value search_trainings 4 tokens_per_second " + bits_text(want[4].tokens_per_second) +
            " --value search_trainings 4 started " + bits_text(want[4].started) + " --value search_trainings 3 worker " +
            std::to_string(want[3].worker) + " --value search_trainings 0 probe_budget 0 --value search_trainings 3 probe_budget " +
            std::to_string(want[3].probe_budget) + " --value search_trainings 0 probe_perplexity " + bits_text(eval::outcome::none) +
            " --value search_trainings 1 probe_perplexity " + bits_text(want[1].probe_perplexity) +
            " --value search_trainings 3 probe_perplexity " + bits_text(want[3].probe_perplexity) +
            " --value search_trainings 6 session 0 --ratio search_trainings 1 " +
            bits_text(want[1].val_perplexity / want[0].val_perplexity);
        const auto [status, output] = h5py_check(path, args);
        INFO(output);
        CHECK(status == 0);
    }
    {
        storage::archive_contents resumed;
        auto a = archive_file::resume(path, resumed);
        CHECK(a->session() == 1);
        require_rows(want, resumed.search_trainings, "search_trainings");
        want.push_back(search_training(3, 1, outcome_status::ok, a->session()));  // the promoted candidate, in the next session
        want.push_back(search_training(9, 0, outcome_status::error, a->session()));
        for (std::size_t k = want.size() - 2; k < want.size(); ++k) a->append(want[k]);
    }
    const auto after = read_archive(path);
    require_rows(want, after.search_trainings, "search_trainings");
    CHECK(after.evaluations.size() == 8);
    storage::archive_contents again;
    CHECK(archive_file::resume(path, again)->session() == 2);  // session 1 wrote nothing but its trainings
}

TEST_CASE("a schema-1 archive (commit 3ce3eba) reads and resumes as before, stays schema 1 and takes no search training", "[hdf5]") {
    // tests/data/archives/schema1_3ce3eba.h5 (tests/cli/search.tests.cpp says how it was made): 11
    // evaluations of 50 coordinates, 22 events, one session; no search_trainings table
    const std::string path = fresh("schema1.h5");
    std::filesystem::copy_file(std::string(FRACNAS_SOURCE_DIR) + "/tests/data/archives/schema1_3ce3eba.h5", path);
    const auto before = read_archive(path);
    CHECK(before.header.schema == 1);
    REQUIRE(before.header.dim == 50);
    REQUIRE(before.evaluations.size() == 11);
    CHECK(before.events.size() == 22);
    CHECK(before.sessions.size() == 1);
    CHECK(before.search_trainings.empty());
    const auto added = evaluation(11, 50);  // device_lost: a status of schema 1's enum
    {
        storage::archive_contents c;
        auto a = archive_file::resume(path, c);
        CHECK(a->session() == 1);
        CHECK(c.header.schema == 1);
        CHECK(c.search_trainings.empty());
        REQUIRE_THROWS_AS(a->append(search_training(3, 0, eval::outcome_status::ok, 1)), storage_error);
        REQUIRE_THROWS_WITH(
            a->append(search_training(3, 0, eval::outcome_status::ok, 1)),
            "archive '" + path + "' has schema version 1, which has no search_trainings table: a training search writes a new archive.");
        a->append(added);
        a->append(event(1));
        a->append(session_row(1));
    }
    const auto after = read_archive(path);
    CHECK(after.header.schema == 1);
    REQUIRE(after.evaluations.size() == 12);
    for (std::size_t i = 0; i < before.evaluations.size(); ++i) {
        INFO("evaluation " << i);
        CHECK(diff(before.evaluations[i], after.evaluations[i]) == "");
    }
    CHECK(diff(added, after.evaluations.back()) == "");
    CHECK(after.events.size() == 23);
    CHECK(after.sessions.size() == 2);
    CHECK(after.search_trainings.empty());
#ifdef FRACNAS_TEST_HAS_HDF5_API
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(f >= 0);
    CHECK(H5Lexists(f, "search_trainings", H5P_DEFAULT) == 0);  // no table was added
    H5Fclose(f);
#endif
    if (with_h5py) {
        const auto [status, output] =
            h5py_check(path, "--rows evaluations=12 events=23 sessions=2 --attr schema_version=1 --absent search_trainings");
        INFO(output);
        CHECK(status == 0);
    }
}

TEST_CASE("worker_events' kind: named by an enum from schema 4, a bare u8 in a schema-3 archive, which resumes as schema 3", "[hdf5]") {
    for (const std::uint32_t schema : {3U, storage::schema_version}) {
        INFO("schema " << schema);
        const std::string path = fresh("worker_event_kinds.h5");
        storage::run_header h = header(2);
        h.schema = schema;
        std::vector<storage::worker_event_record> want;
        {
            auto a = archive_file::create(path, h, false);
            for (std::uint64_t i = 0; i < 5; ++i) {  // every kind once
                want.push_back(worker_event(i, 0));
                a->append(want.back());
            }
            a->append(session_row(0));
        }
        {
            storage::archive_contents c;
            auto a = archive_file::resume(path, c);
            CHECK(c.header.schema == schema);  // an older archive continues as its schema
            require_rows(want, c.worker_events, "worker_events");
            want.push_back(worker_event(7, 1));  // left_hung, in the resumed session
            a->append(want.back());
            a->append(session_row(1));
        }
        const auto after = read_archive(path);
        CHECK(after.header.schema == schema);
        require_rows(want, after.worker_events, "worker_events");
        if (with_h5py) {
            const std::string kinds = schema >= 4 ? "joined=0,calibrated=1,left_hung=2,left_device=3,late_result=4" : "none";
            std::string args =
                "--rows worker_events=6 --attr schema_version=" + std::to_string(schema) + " --enum worker_events kind " + kinds;
            if (schema >= 4)
                args +=
                    " --value worker_events 0 kind joined --value worker_events 4 kind late_result --value worker_events 5 kind left_hung";
            else
                args += " --value worker_events 4 kind 4 --value worker_events 5 kind 2";
            const auto [status, output] = h5py_check(path, args);
            INFO(output);
            CHECK(status == 0);
        }
    }
}

TEST_CASE("a schema-2 archive reads with no trend probe, resumes as schema 2 and its appended trainings drop the probe", "[hdf5]") {
    using eval::outcome_status;
    // an archive as fracnas wrote it before schema 3: its search_trainings have 19 members, no probe
    const std::string path = fresh("schema2.h5");
    storage::run_header h = header(2);
    h.schema = 2;
    // what a schema-2 table keeps of a training: all but its probe, which reads as none
    const auto without_probe = [](storage::search_training_record r) {
        r.probe_budget = 0;
        r.probe_perplexity = eval::outcome::none;
        return r;
    };
    const std::vector<storage::search_training_record> written = {
        search_training(0, 0, outcome_status::ok, 0), search_training(6, 0, outcome_status::ok, 0),
        search_training(3, 0, outcome_status::diverged, 0), search_training(3, 1, outcome_status::ok, 0)};
    REQUIRE(written[1].probe_budget == std::numeric_limits<std::uint64_t>::max() - 6);  // the records carry probes
    REQUIRE(written[2].probe_budget == 1000000);
    std::vector<storage::search_training_record> want;
    {
        auto a = archive_file::create(path, h, false);
        for (std::uint64_t i = 0; i < 7; ++i) a->append(evaluation(i, 2));
        for (const auto& r : written) {
            a->append(r);
            want.push_back(without_probe(r));
        }
        a->append(session_row(0));
    }
    const auto before = read_archive(path);
    CHECK(before.header.schema == 2);
    require_rows(want, before.search_trainings, "search_trainings");
    for (const auto& r : before.search_trainings) {
        CHECK(r.probe_budget == 0);
        CHECK(std::isnan(r.probe_perplexity));
    }
    CHECK(before.search_trainings[1].candidate == 6);
    CHECK(before.search_trainings[2].status == outcome_status::diverged);
    CHECK(before.evaluations.size() == 7);
    {
        storage::archive_contents c;
        auto a = archive_file::resume(path, c);
        CHECK(a->session() == 1);
        CHECK(c.header.schema == 2);
        require_rows(want, c.search_trainings, "search_trainings");
        for (const auto& r : {search_training(5, 0, outcome_status::ok, 1), search_training(6, 1, outcome_status::stopped, 1)}) {
            REQUIRE(r.probe_budget != 0);
            a->append(r);
            want.push_back(without_probe(r));
        }
        a->append(evaluation(7, 2));
        a->append(session_row(1));
    }
    const auto after = read_archive(path);
    CHECK(after.header.schema == 2);  // still schema 2: no member was added
    require_rows(want, after.search_trainings, "search_trainings");
    CHECK(after.search_trainings[4].candidate == 5);
    CHECK(after.search_trainings[5].session == 1);
    CHECK(std::isnan(after.search_trainings[5].probe_perplexity));
    CHECK(after.evaluations.size() == 8);
    CHECK(after.sessions.size() == 2);
#ifdef FRACNAS_TEST_HAS_HDF5_API
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(f >= 0);
    const hid_t d = H5Dopen2(f, "search_trainings", H5P_DEFAULT);
    REQUIRE(d >= 0);
    const hid_t type = H5Dget_type(d);
    CHECK(H5Tget_nmembers(type) == 19);  // the table keeps its members
    CHECK(H5Tget_member_index(type, "probe_budget") < 0);
    CHECK(H5Tget_member_index(type, "probe_perplexity") < 0);
    H5Tclose(type);
    H5Dclose(d);
    H5Fclose(f);
#endif
    if (with_h5py) {
        const auto [status, output] = h5py_check(
            path,
            "--rows search_trainings=6 evaluations=8 sessions=2 --attr schema_version=2"
            " --members search_trainings candidate,reference,arch,hash,rung,budget,seed,status,message,val_loss,val_perplexity,"
            "tokens_trained,tokens_per_second,wall_seconds,worker,dispatched,started,ended,session"
            " --value search_trainings 1 candidate 6 --value search_trainings 5 status stopped --value search_trainings 5 session 1"
            " --value search_trainings 5 wall_seconds " +
                bits_text(want[5].wall_seconds));
        INFO(output);
        CHECK(status == 0);
    }
    storage::archive_contents again;
    CHECK(archive_file::resume(path, again)->session() == 2);
    CHECK(again.header.schema == 2);
    require_rows(want, again.search_trainings, "search_trainings");
}

TEST_CASE("an archive of schema 2 or 3 without its search_trainings table is damaged", "[hdf5]") {
    for (const std::uint32_t schema : {2U, storage::schema_version}) {
        INFO("schema " << schema);
        const std::string path = fresh("no_search_trainings.h5");
        {
            storage::run_header h = header(2);
            h.schema = schema;
            auto a = archive_file::create(path, h, false);
            a->append(evaluation(0, 2));
        }
#ifdef FRACNAS_TEST_HAS_HDF5_API
        const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
        REQUIRE(f >= 0);
        REQUIRE(H5Ldelete(f, "search_trainings", H5P_DEFAULT) >= 0);
        H5Fclose(f);
#elif FRACNAS_HAVE_H5PY
        const std::string remove =
            std::string(FRACNAS_PYTHON) + " -c \"import h5py; del h5py.File('" + path + "', 'r+')['search_trainings']\"";
        REQUIRE(std::system(remove.c_str()) == 0);
#endif
#if defined(FRACNAS_TEST_HAS_HDF5_API) || FRACNAS_HAVE_H5PY  // else nothing here can delete the table
        const std::string expected = "archive '" + path + "' is damaged: it has no dataset 'search_trainings'.";
        CHECK(config_message([&] { read_archive(path); }) == expected);
        storage::archive_contents c;
        CHECK(config_message([&] { archive_file::resume(path, c); }) == expected);
        CHECK_FALSE(std::filesystem::exists(path + ".lock"));  // the run lock was let go
#endif
    }
}

TEST_CASE("input that is not a readable archive is a config_error naming the file", "[hdf5]") {
    SECTION("a missing file") {
        const std::string path = fresh("missing.h5");
        CHECK_THAT(config_message([&] { read_archive(path); }), Contains(path) && Contains("does not exist"));
        storage::archive_contents c;
        CHECK_THAT(config_message([&] { archive_file::resume(path, c); }), Contains(path) && Contains("does not exist"));
        CHECK_FALSE(std::filesystem::exists(path + ".lock"));
    }
    SECTION("a text file") {
        const std::string path = fresh("text.h5");
        std::ofstream(path) << "not an archive\n";
        CHECK_THAT(config_message([&] { read_archive(path); }), Contains(path) && Contains("not an HDF5 file"));
    }
    SECTION("an empty file") {
        const std::string path = fresh("empty.h5");
        std::ofstream{path};
        CHECK_THAT(config_message([&] { read_archive(path); }), Contains(path) && Contains("not an HDF5 file"));
    }
    SECTION("a folder") {
        const std::string path = fresh("folder.h5");
        std::filesystem::create_directories(path);
        CHECK_THAT(config_message([&] { read_archive(path); }), Contains(path) && Contains("folder"));
        std::filesystem::remove(path);
    }
    SECTION("an archive of another schema version") {
        const std::string path = fresh("schema.h5");
        storage::run_header h = header(2);
        h.schema = storage::schema_version + 1;
        archive_file::create(path, h, false);
        CHECK(config_message([&] { read_archive(path); }) ==
              "archive '" + path + "' has schema version " + std::to_string(storage::schema_version + 1) +
                  ", and this fracnas reads versions " + std::to_string(storage::oldest_schema_version) + " to " +
                  std::to_string(storage::schema_version) + " only.");
        storage::archive_contents c;
        CHECK_THAT(config_message([&] { archive_file::resume(path, c); }), Contains(path) && Contains("schema version"));
        h.schema = storage::oldest_schema_version - 1;  // older than any fracnas wrote
        archive_file::create(path, h, true);
        CHECK_THAT(config_message([&] { read_archive(path); }), Contains(path) && Contains("has schema version 0, and"));
    }
    SECTION("an HDF5 file that is not a fracnas archive") {
        const std::string path = fresh("foreign.h5");
#ifdef FRACNAS_TEST_HAS_HDF5_API
        // HDF5's default format (superblock 0): also no SWMR reader can open it
        const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        REQUIRE(f >= 0);
        const hid_t space = H5Screate(H5S_SCALAR);
        const hid_t a = H5Acreate2(f, "something_else", H5T_NATIVE_INT, space, H5P_DEFAULT, H5P_DEFAULT);
        const int one = 1;
        H5Awrite(a, H5T_NATIVE_INT, &one);
        H5Aclose(a);
        H5Sclose(space);
        H5Fclose(f);
#elif FRACNAS_HAVE_H5PY
        const std::string make = std::string(FRACNAS_PYTHON) + " -c \"import h5py; h5py.File('" + path + "', 'w').attrs['x'] = 1\"";
        REQUIRE(std::system(make.c_str()) == 0);
#endif
#if defined(FRACNAS_TEST_HAS_HDF5_API) || FRACNAS_HAVE_H5PY  // else nothing here can make the file
        CHECK_THAT(config_message([&] { read_archive(path); }), Contains(path) && Contains("not a fracnas run archive"));
        storage::archive_contents c;
        CHECK_THAT(config_message([&] { archive_file::resume(path, c); }), Contains("not a fracnas run archive"));
#endif
    }
}

TEST_CASE("a damaged archive is a config_error naming what cannot be read", "[hdf5]") {
    SECTION("a truncated file") {
        const std::string path = fresh("truncated.h5");
        {
            auto a = archive_file::create(path, header(2), false);
            for (std::uint64_t i = 0; i < 300; ++i) a->append(evaluation(i, 2));
        }
        std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
        CHECK_THAT(config_message([&] { read_archive(path); }), Contains(path) && Contains("damaged"));
    }
#ifdef FRACNAS_TEST_HAS_HDF5_API
    const std::string path = fresh("damaged.h5");
    archive_file::create(path, header(2), false);
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(f >= 0);
    REQUIRE(H5Ldelete(f, "events", H5P_DEFAULT) >= 0);
    SECTION("a missing table") {
        H5Fclose(f);
        CHECK_THAT(config_message([&] { read_archive(path); }), Contains(path) && Contains("no dataset 'events'"));
    }
    SECTION("a table of another type") {
        const hsize_t three = 3;
        const hid_t space = H5Screate_simple(1, &three, nullptr);
        const hid_t d = H5Dcreate2(f, "events", H5T_NATIVE_INT, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        const int values[3] = {1, 2, 3};
        H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
        H5Dclose(d);
        H5Sclose(space);
        H5Fclose(f);
        CHECK_THAT(config_message([&] { read_archive(path); }),
                   Contains("archive '" + path + "' is damaged: its table 'events' cannot be read at rows 0-2 (H5Dread: "));
    }
#endif
}

#ifdef FRACNAS_TEST_HAS_HDF5_API
TEST_CASE("a write that fails for lack of space is one short sentence, not HDF5's text", "[hdf5]") {
    const std::string path = fresh("full_disk.h5"), said = path + ".said";
    std::remove(said.c_str());
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // a file-size limit stands in for a full disk: the write fails (EFBIG) part-way
        std::signal(SIGXFSZ, SIG_IGN);
        std::string message = "nothing failed";
        try {
            auto a = archive_file::create(path, header(2), false);
            a->flush();
            const rlimit limit{64 * 1024, 64 * 1024};
            ::setrlimit(RLIMIT_FSIZE, &limit);
            for (std::uint64_t i = 0; i < 20000; ++i) {
                a->append(evaluation(i, 2));
                if (i % 100 == 99) a->flush();
            }
        } catch (const std::exception& e) {
            message = e.what();
        }
        const rlimit none{RLIM_INFINITY, RLIM_INFINITY};
        ::setrlimit(RLIMIT_FSIZE, &none);
        std::ofstream(said) << message;
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFEXITED(status));
    std::ifstream in(said);
    const std::string message((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(message);
    REQUIRE_THAT(message, Contains("failed on archive '" + path + "'"));
    REQUIRE_THAT(message, EndsWith(": File too large (errno 27)."));  // not HDF5's time, descriptor and buffer text
    REQUIRE(message.find("buf = ") == std::string::npos);
    std::remove(said.c_str());
    // the file ends before the end its superblock records: read as it is, one sentence says how to
    // go on; a resume restores its end with zeros, keeps the records written before and writes on
    std::string why;
    try {
        read_archive(path);
    } catch (const config_error& e) {
        why = e.what();
    }
    INFO(why);
    REQUIRE_THAT(why, Contains("is damaged: HDF5 cannot open it (truncated file: "));
    REQUIRE_THAT(why, Contains("a search's --resume restores its end"));
    REQUIRE_THAT(fracnas::hdf5::check_resumable(path, "--resume"), Contains("its end, cut short by a failed write, restored with zeros"));
    REQUIRE(fracnas::hdf5::check_resumable(path, "--resume").empty());  // restored once
    storage::archive_contents kept;
    {
        auto a = archive_file::resume(path, kept);
        for (std::size_t i = 0; i < kept.evaluations.size(); ++i) REQUIRE(kept.evaluations[i].id == i);  // records, in order
        a->append(evaluation(kept.evaluations.size(), 2));
    }
    const auto after = read_archive(path);
    REQUIRE(after.evaluations.size() == kept.evaluations.size() + 1);
    REQUIRE(after.evaluations.back().id == kept.evaluations.size());
}

TEST_CASE("rows of fill bytes at a table's end (an append whose write failed on a full disk) are not records, and resume cuts them",
          "[hdf5]") {
    const std::string path = fresh("phantom.h5");
    {
        auto a = archive_file::create(path, header(2), false);
        for (std::uint64_t i = 0; i < 5; ++i) a->append(evaluation(i, 2));
        for (std::uint64_t i = 1; i < 3; ++i) a->append(search_training(i, 0, eval::outcome_status::ok, 0));
    }
    // what a failed write leaves: the dataset grown by the batch, its rows never written (zeros)
    {
        const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
        REQUIRE(f >= 0);
        for (const char* name : {"evaluations", "events", "search_trainings"}) {
            const hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
            REQUIRE(d >= 0);
            const hid_t space = H5Dget_space(d);
            hsize_t rows = 0;
            H5Sget_simple_extent_dims(space, &rows, nullptr);
            H5Sclose(space);
            rows += 3;
            REQUIRE(H5Dset_extent(d, &rows) >= 0);
            H5Dclose(d);
        }
        H5Fclose(f);
    }
    const auto before = read_archive(path);
    REQUIRE(before.evaluations.size() == 5);  // the three phantoms are not read as records
    for (const auto& r : before.evaluations) REQUIRE(!r.arch.empty());
    REQUIRE(before.search_trainings.size() == 2);
    {
        storage::archive_contents contents;
        auto a = archive_file::resume(path, contents);
        REQUIRE(contents.evaluations.size() == 5);
        a->append(evaluation(5, 2));
        a->append(search_training(3, 0, eval::outcome_status::diverged, a->session()));
    }
    const auto after = read_archive(path);
    REQUIRE(after.evaluations.size() == 6);  // the new record follows the last one, no hole of zeros
    REQUIRE(after.evaluations.back().id == 5);
    REQUIRE(after.events.size() == before.events.size());
    REQUIRE(after.search_trainings.size() == 3);
    REQUIRE(after.search_trainings.back().candidate == 3);
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    for (const auto& [name, records] : {std::pair<const char*, hsize_t>{"evaluations", 6}, {"search_trainings", 3}}) {
        const hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
        const hid_t space = H5Dget_space(d);
        hsize_t rows = 0;
        H5Sget_simple_extent_dims(space, &rows, nullptr);
        H5Sclose(space);
        H5Dclose(d);
        INFO(name);
        REQUIRE(rows == records);  // cut off the file, not only skipped
    }
    H5Fclose(f);
}

// Garbage over bytes 16-47 of the evaluations' chunk at `address`: read_archive and resume both
// refuse the archive as damaged, the file keeps its size and the run lock is let go.
void require_damaged_evaluations(const std::string& path, haddr_t address) {
    {
        std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
        io.seekp(static_cast<std::streamoff>(address + 16));
        const std::string garbage(32, '\x5a');
        io.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
    const auto bytes = std::filesystem::file_size(path);
    const std::string expected = "archive '" + path + "' is damaged: its table 'evaluations' cannot be read at rows ";
    CHECK_THAT(config_message([&] { read_archive(path); }), Contains(expected));
    storage::archive_contents contents;
    CHECK_THAT(config_message([&] { archive_file::resume(path, contents); }), Contains(expected));
    CHECK(std::filesystem::file_size(path) == bytes);
    CHECK(!std::filesystem::exists(path + ".lock"));  // the run lock was let go
}

TEST_CASE("a corrupt chunk of evaluations is a damaged archive for analyze and for --resume, nothing written", "[hdf5]") {
    const std::string path = fresh("corrupt_chunk.h5");
    {
        auto a = archive_file::create(path, header(2), false);
        for (std::uint64_t i = 0; i < 300; ++i) a->append(evaluation(i, 2));
    }
    // an archive of an earlier version (deflated chunks): the evaluations rewritten deflated, then
    // garbage over the compressed bytes of their first chunk
    haddr_t address = 0;
    hsize_t size = 0;
    {
        const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
        REQUIRE(f >= 0);
        hid_t d = H5Dopen2(f, "evaluations", H5P_DEFAULT);
        REQUIRE(d >= 0);
        const hid_t type = H5Dget_type(d);
        const hid_t space = H5Dget_space(d);
        std::vector<unsigned char> rows(H5Tget_size(type) * 300);  // the 300 rows in the file's own type
        REQUIRE(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()) >= 0);
        H5Dclose(d);
        REQUIRE(H5Ldelete(f, "evaluations", H5P_DEFAULT) >= 0);
        const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        const hsize_t chunk = 64;
        H5Pset_chunk(dcpl, 1, &chunk);
        H5Pset_deflate(dcpl, 4);
        d = H5Dcreate2(f, "evaluations", type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        REQUIRE(d >= 0);
        REQUIRE(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()) >= 0);
        H5Dflush(d);
        const hsize_t origin = 0;
        unsigned filter_mask = 0;
        REQUIRE(H5Dget_chunk_info_by_coord(d, &origin, &filter_mask, &address, &size) >= 0);
        H5Pclose(dcpl);
        H5Sclose(space);
        H5Tclose(type);
        H5Dclose(d);
        H5Fclose(f);
    }
    REQUIRE(size > 64);
    require_damaged_evaluations(path, address);
}

TEST_CASE("a damaged chunk of a current archive fails its checksum: a damaged archive, nothing written", "[hdf5]") {
    const std::string path = fresh("checksummed_chunk.h5");
    {
        auto a = archive_file::create(path, header(2), false);
        for (std::uint64_t i = 0; i < 300; ++i) a->append(evaluation(i, 2));
    }
    haddr_t address = 0;
    hsize_t size = 0;
    {
        const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        REQUIRE(f >= 0);
        const hid_t d = H5Dopen2(f, "evaluations", H5P_DEFAULT);
        REQUIRE(d >= 0);
        const hid_t dcpl = H5Dget_create_plist(d);
        REQUIRE(H5Pget_nfilters(dcpl) == 1);  // Fletcher-32 alone: the chunks are not compressed
        unsigned flags = 0, config = 0;
        std::size_t n = 0;
        char name[32];
        REQUIRE(H5Pget_filter2(dcpl, 0, &flags, &n, nullptr, sizeof name, name, &config) == H5Z_FILTER_FLETCHER32);
        const hsize_t origin = 0;
        unsigned filter_mask = 0;
        REQUIRE(H5Dget_chunk_info_by_coord(d, &origin, &filter_mask, &address, &size) >= 0);
        H5Pclose(dcpl);
        H5Dclose(d);
        H5Fclose(f);
    }
    REQUIRE(size > 64);
    require_damaged_evaluations(path, address);  // plausible bytes: without the checksum they would read as rows
}

TEST_CASE("a corrupt 'dim' attribute is a damaged archive, not an allocation of its size", "[hdf5]") {
    const std::string path = fresh("dim.h5");
    {
        auto a = archive_file::create(path, header(2), false);
        for (std::uint64_t i = 0; i < 3; ++i) a->append(evaluation(i, 2));
    }
    REQUIRE(read_archive(path).evaluations.size() == 3);
    for (const std::uint32_t dim : {4000000000u, 3u, 0u}) {
        const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
        REQUIRE(f >= 0);
        const hid_t attribute = H5Aopen(f, "dim", H5P_DEFAULT);
        REQUIRE(attribute >= 0);
        REQUIRE(H5Awrite(attribute, H5T_NATIVE_UINT32, &dim) >= 0);
        H5Aclose(attribute);
        H5Fclose(f);
        INFO("dim " << dim);
        CHECK_THAT(config_message([&] { read_archive(path); }),
                   Contains(path) &&
                       Contains("damaged: its 'dim' attribute says " + std::to_string(dim) + " coordinates, its evaluations hold 2"));
    }
}
#endif

TEST_CASE("a writer killed by SIGKILL loses nothing it flushed, and its lock is free", "[hdf5]") {
    const std::string path = fresh("killed.h5");
    const std::uint32_t dim = 3;
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // the run: flushes 500 evaluations, appends 50 more, and waits to be killed
        ::close(ready[0]);
        int code = 1;
        try {
            auto a = archive_file::create(path, header(dim), false);
            for (std::uint64_t i = 0; i < 500; ++i) a->append(evaluation(i, dim));
            a->append(worker(0, 0));
            a->flush();
            for (std::uint64_t i = 500; i < 550; ++i) a->append(evaluation(i, dim));
            const char byte = 'r';
            if (::write(ready[1], &byte, 1) == 1)
                for (;;) ::pause();
        } catch (...) {
        }
        ::_exit(code);
    }
    struct reaper {  // a failed check must not leave the child waiting forever
        pid_t pid;
        ~reaper() {
            if (pid > 0 && ::kill(pid, SIGKILL) == 0) ::waitpid(pid, nullptr, 0);
        }
    } reap{child};
    ::close(ready[1]);
    char byte = 0;
    const bool started = ::read(ready[0], &byte, 1) == 1;
    ::close(ready[0]);
    REQUIRE(started);

    std::vector<storage::evaluation_record> flushed;
    for (std::uint64_t i = 0; i < 500; ++i) flushed.push_back(evaluation(i, dim));
    // while it runs: another process reads it (SWMR), and a second writer is refused, naming it
    require_rows(flushed, read_archive(path).evaluations, "evaluations");
    CHECK_THAT(config_message([&] { archive_file::create(path, header(dim), true); }), Contains("process " + std::to_string(child)));

    REQUIRE(::kill(child, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    reap.pid = 0;
    CHECK(WIFSIGNALED(status));

    CHECK_NOTHROW(check_new_archive(path, true));  // the kernel released the lock with the process
    const auto c = read_archive(path);
    require_header(header(dim), c.header);
    require_rows(flushed, c.evaluations, "evaluations");
    CHECK(c.workers.size() == 1);
    if (with_h5py) {
        const auto [code, output] = h5py_check(path, "--swmr --rows evaluations=500 workers=1");
        INFO(output);
        CHECK(code == 0);
    }
    {
        storage::archive_contents now;
        auto a = archive_file::resume(path, now);
        CHECK(a->session() == 1);
        require_rows(flushed, now.evaluations, "evaluations");
        for (std::uint64_t i = 500; i < 520; ++i) {
            flushed.push_back(evaluation(i, dim));
            a->append(flushed.back());
        }
    }
    require_rows(flushed, read_archive(path).evaluations, "evaluations");
    if (with_h5py) {
        const auto [code, output] = h5py_check(path, "--rows evaluations=520 workers=1");  // closed cleanly: a plain reader
        INFO(output);
        CHECK(code == 0);
    }
}
