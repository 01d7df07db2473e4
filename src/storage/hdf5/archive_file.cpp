// The run archive on the HDF5 C API (archive_file.hpp; the schema is docs/archive.md): one table
// per record type, each a 1-D chunked compound dataset that the master extends in SWMR mode, and
// the reader that loads a whole archive back. It stores no variable-length data (SWMR cannot), uses
// no parallel HDF5, and keeps nothing in memory but the rows appended since the last flush.
#include "fracnas/hdf5/archive_file.hpp"

#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "fracnas/error.hpp"
#include "run_lock.hpp"

// Checks an HDF5 call (a negative hid_t, herr_t or htri_t is a failure): throws storage_error
// naming the archive, the call, and this file and line, with HDF5's own description.
#define FRACNAS_H5_OR_THROW(path, call) ::fracnas::hdf5::checked((call), #call, (path), __FILE__, __LINE__)

namespace fracnas::hdf5 {
namespace {

std::string in_quotes(const std::string& path) {
    return "'" + path + "'";
}

// HDF5 prints its error stack to stderr by default; fracnas reports errors itself. The setting
// is per thread in a thread-safe HDF5 build, so every entry point calls this. The first call also
// keeps HDF5 from closing, at exit, files whose close already failed (HDF5 1.10 then crashed in
// its exit handler after a failed write: exit 139 instead of the error's exit status); every file
// fracnas opens is closed by its owner.
void quiet_hdf5() {
    static const bool no_atexit = H5dont_atexit() >= 0;
    (void)no_atexit;
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

herr_t innermost_error(unsigned n, const H5E_error2_t* e, void* out) {
    if (n == 0 && e != nullptr && e->desc != nullptr) *static_cast<std::string*>(out) = e->desc;
    return 0;
}

// The most specific message on HDF5's error stack (walked upward it comes first), then clears it.
std::string hdf5_reason() {
    std::string reason;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error, &reason);
    H5Eclear2(H5E_DEFAULT);
    while (!reason.empty() && (reason.back() == '.' || reason.back() == ' ')) reason.pop_back();
    // a failed read or write of the file: HDF5's text carries the time, the descriptor, buffer
    // addresses and byte counts around the system's message; keep what it was and the message
    const std::string key = "error message = '";
    if (const auto at = reason.find(key); at != std::string::npos) {
        const auto from = at + key.size();
        const auto to = reason.find('\'', from);
        std::string short_reason =
            reason.substr(0, reason.find(':')) + ": " + reason.substr(from, to == std::string::npos ? to : to - from);
        if (const auto e = reason.find("errno = "); e != std::string::npos) {
            const auto digits = reason.substr(e + 8, reason.find_first_not_of("0123456789", e + 8) - (e + 8));
            if (!digits.empty()) short_reason += " (errno " + digits + ")";
        }
        reason = short_reason;
    }
    return reason.empty() ? "no reason given" : reason;
}

template <class T>
T checked(T result, const char* call, const std::string& path, const char* file, int line) {
    if (result >= 0) return result;
    std::string name(call);
    name = name.substr(0, name.find('('));
    const std::string where = std::filesystem::path(file).filename().string() + ":" + std::to_string(line);
    throw storage_error(path, "HDF5 call " + name + " failed on archive " + in_quotes(path) + " (" + where + "): " + hdf5_reason() + ".");
}

// ---- handles: every hid_t is closed exactly once, also when an exception leaves a scope.
class h5id {
public:
    h5id() = default;
    h5id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
    h5id(h5id&& o) noexcept : id_(std::exchange(o.id_, -1)), close_(o.close_) {}
    h5id& operator=(h5id&& o) noexcept {
        if (this != &o) {
            reset();
            id_ = std::exchange(o.id_, -1);
            close_ = o.close_;
        }
        return *this;
    }
    h5id(const h5id&) = delete;
    h5id& operator=(const h5id&) = delete;
    ~h5id() { reset(); }
    hid_t get() const noexcept { return id_; }
    void reset() noexcept {
        if (id_ >= 0 && close_ != nullptr) close_(id_);  // a failed close is left on the (cleared) error stack
        id_ = -1;
    }

private:
    hid_t id_ = -1;
    herr_t (*close_)(hid_t) = nullptr;
};

// ---- fixed sizes of the string members (bytes, including the terminating NUL)
namespace width {
constexpr std::size_t arch = 1024, message = 256, host = 64, device_kind = 16, device_name = 128, uuid = 64, timestamp = 40, ended_by = 64,
                      command_line = 4096;
}

constexpr const char* marker_name = "fracnas_archive";
constexpr const char* training_table = "trainings";                // optional: written by fracnas train --from
constexpr const char* search_training_table = "search_trainings";  // schema 2 on; a schema-1 archive has none
constexpr const char* marker_value = "fracnas run archive";
// Chunks are not compressed and hold at most this many bytes (at least a row): a flush rewrites a
// table's last chunk, and a deflated chunk, whose size changes, moved to new space each time while
// its old copies stayed dead (SWMR reuses no space): a 2,000-answer search wrote 35 MB for 3.2 MB of
// rows. An uncompressed chunk is rewritten in place, and a small one wastes little in a table's
// last, part-filled chunk (benchmarks/archive_size.sh: 3.7x the rows' bytes at one answer, 1.0x
// from 500 on).
constexpr std::size_t chunk_bytes = 4 * 1024;

// Copies s into a fixed string member of width bytes: at most width - 1 bytes, cut before a UTF-8
// continuation byte so that a multi-byte character is never split, NUL-padded (dst is zeroed).
void put_text(unsigned char* dst, std::size_t width_bytes, const std::string& s) {
    std::size_t n = std::min(s.size(), width_bytes - 1);
    while (n > 0 && n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0U) == 0x80U) --n;
    std::memcpy(dst, s.data(), n);
}

std::string get_text(const unsigned char* src, std::size_t width_bytes) {
    const char* p = reinterpret_cast<const char*>(src);
    return std::string(p, static_cast<std::size_t>(std::find(p, p + width_bytes, '\0') - p));
}

// ---- a table's schema: members in order, each with its HDF5 kind and how to copy it to and from a
// packed row of bytes. The memory and file compound types share that packed layout.
// status: schema 1's evaluation statuses (ok..device_lost); training_status: every outcome_status
enum class kind { u8, u32, u64, i32, f64, text, f64_array, status, training_status, event_what, worker_event_kind };

template <class R>
struct field {
    const char* name;
    kind type;
    std::size_t size;  // bytes in a row
    std::function<void(const R&, unsigned char*)> put;
    std::function<void(R&, const unsigned char*)> get;
    std::size_t offset = 0;
};

template <class T>
constexpr kind kind_of() {
    if constexpr (std::is_same_v<T, std::uint8_t>) {
        return kind::u8;
    } else if constexpr (std::is_same_v<T, std::uint32_t>) {
        return kind::u32;
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
        return kind::u64;
    } else if constexpr (std::is_same_v<T, std::int32_t>) {
        return kind::i32;
    } else {
        static_assert(std::is_same_v<T, double>, "a member type the archive has no HDF5 type for");
        return kind::f64;
    }
}

// A numeric member of type T read by get(record) and written back by set(record, T).
template <class R, class T, class Get, class Set>
field<R> number(const char* name, Get get, Set set, kind type = kind_of<T>()) {
    return field<R>{name, type, sizeof(T),
                    [get](const R& r, unsigned char* p) {
                        const T v = static_cast<T>(get(r));
                        std::memcpy(p, &v, sizeof v);
                    },
                    [set](R& r, const unsigned char* p) {
                        T v{};
                        std::memcpy(&v, p, sizeof v);
                        set(r, v);
                    }};
}

template <class R, class T>
field<R> member(const char* name, T R::*m, kind type = kind_of<T>()) {
    return number<R, T>(
        name, [m](const R& r) { return r.*m; }, [m](R& r, T v) { r.*m = v; }, type);
}

template <class R>
field<R> flag(const char* name, bool R::*m) {
    return number<R, std::uint8_t>(
        name, [m](const R& r) { return r.*m ? 1 : 0; }, [m](R& r, std::uint8_t v) { r.*m = v != 0; });
}

template <class R>
field<R> text(const char* name, std::size_t width_bytes, std::string R::*m) {
    return field<R>{name, kind::text, width_bytes, [m, width_bytes](const R& r, unsigned char* p) { put_text(p, width_bytes, r.*m); },
                    [m, width_bytes](R& r, const unsigned char* p) { r.*m = get_text(p, width_bytes); }};
}

// A member of the evaluation's outcome, flattened into the evaluations row.
template <class T>
field<storage::evaluation_record> outcome_member(const char* name, T eval::outcome::*m) {
    using R = storage::evaluation_record;
    return number<R, T>(
        name, [m](const R& r) { return r.out.*m; }, [m](R& r, T v) { r.out.*m = v; });
}

// The evaluations' members: the point's `dim` coordinates, and from schema 5 a serving mix's
// `scenarios` latencies and its reference's (none without a mix).
std::vector<field<storage::evaluation_record>> evaluation_fields(std::uint32_t dim, std::uint32_t scenarios) {
    using R = storage::evaluation_record;
    std::vector<field<R>> f;
    f.push_back(member("id", &R::id));
    f.push_back(member("phase", &R::phase));
    f.push_back(member("task", &R::task));
    if (dim > 0) {
        const std::size_t n = dim;
        f.push_back(field<R>{"x", kind::f64_array, n * sizeof(double),
                             [n](const R& r, unsigned char* p) { std::memcpy(p, r.x.data(), n * sizeof(double)); },
                             [n](R& r, const unsigned char* p) {
                                 r.x.resize(n);
                                 std::memcpy(r.x.data(), p, n * sizeof(double));
                             }});
    }
    f.push_back(text("arch", width::arch, &R::arch));
    f.push_back(member("hash", &R::hash));
    f.push_back(member("decoder_params", &R::decoder_params));
    f.push_back(member("total_params", &R::total_params));
    f.push_back(member("min_params", &R::min_params));
    f.push_back(flag("feasible", &R::feasible));
    f.push_back(flag("cached", &R::cached));
    f.push_back(number<R, std::uint8_t>(
        "status", [](const R& r) { return static_cast<std::uint8_t>(r.out.status); },
        [](R& r, std::uint8_t v) { r.out.status = static_cast<eval::outcome_status>(v); }, kind::status));
    f.push_back(field<R>{"message", kind::text, width::message,
                         [](const R& r, unsigned char* p) { put_text(p, width::message, r.out.message); },
                         [](R& r, const unsigned char* p) { r.out.message = get_text(p, width::message); }});
    f.push_back(outcome_member("value", &eval::outcome::value));
    f.push_back(outcome_member("reference_ms", &eval::outcome::reference_ms));
    f.push_back(outcome_member("decode_ms", &eval::outcome::decode_ms));
    f.push_back(outcome_member("decode_iqr_ms", &eval::outcome::decode_iqr_ms));
    f.push_back(outcome_member("prefill_ms", &eval::outcome::prefill_ms));
    f.push_back(outcome_member("prefill_iqr_ms", &eval::outcome::prefill_iqr_ms));
    f.push_back(outcome_member("repeats", &eval::outcome::repeats));
    f.push_back(outcome_member("peak_memory_bytes", &eval::outcome::peak_memory_bytes));
    f.push_back(outcome_member("wall_seconds", &eval::outcome::wall_seconds));
    if (scenarios > 0) {
        const std::size_t n = scenarios;
        for (const auto& [name, list] : {std::pair{"scenario_ms", &eval::outcome::scenario_ms},
                                         std::pair{"scenario_reference_ms", &eval::outcome::scenario_reference_ms}})
            f.push_back(field<R>{name, kind::f64_array, n * sizeof(double),
                                 [n, list = list](const R& r, unsigned char* p) {
                                     std::vector<double> v = r.out.*list;
                                     v.resize(n, eval::outcome::none);  // a failed evaluation has none
                                     std::memcpy(p, v.data(), n * sizeof(double));
                                 },
                                 [n, list = list](R& r, const unsigned char* p) {
                                     (r.out.*list).resize(n);
                                     std::memcpy((r.out.*list).data(), p, n * sizeof(double));
                                 }});
    }
    f.push_back(member("ratio", &R::ratio));
    f.push_back(member("told", &R::told));
    f.push_back(member("worker", &R::worker));
    f.push_back(member("dispatched", &R::dispatched));
    f.push_back(member("started", &R::started));
    f.push_back(member("ended", &R::ended));
    return f;
}

std::vector<field<storage::event_record>> event_fields() {
    using R = storage::event_record;
    std::vector<field<R>> f;
    f.push_back(number<R, std::uint8_t>(
        "what", [](const R& r) { return static_cast<std::uint8_t>(r.what); },
        [](R& r, std::uint8_t v) { r.what = static_cast<R::kind>(v); }, kind::event_what));
    f.push_back(member("phase", &R::phase));
    f.push_back(member("requested", &R::requested));
    f.push_back(member("first", &R::first));
    f.push_back(member("count", &R::count));
    f.push_back(member("value", &R::value));
    f.push_back(member("failed", &R::failed));
    f.push_back(member("time", &R::time));
    return f;
}

std::vector<field<storage::worker_record>> worker_fields() {
    using R = storage::worker_record;
    std::vector<field<R>> f;
    f.push_back(member("rank", &R::rank));
    f.push_back(text("host", width::host, &R::host));
    f.push_back(field<R>{"device_kind", kind::text, width::device_kind,
                         [](const R& r, unsigned char* p) { put_text(p, width::device_kind, r.device.kind); },
                         [](R& r, const unsigned char* p) { r.device.kind = get_text(p, width::device_kind); }});
    f.push_back(number<R, std::int32_t>(
        "device_index", [](const R& r) { return r.device.index; }, [](R& r, std::int32_t v) { r.device.index = v; }));
    f.push_back(field<R>{"device_name", kind::text, width::device_name,
                         [](const R& r, unsigned char* p) { put_text(p, width::device_name, r.device.name); },
                         [](R& r, const unsigned char* p) { r.device.name = get_text(p, width::device_name); }});
    f.push_back(field<R>{"device_uuid", kind::text, width::uuid,
                         [](const R& r, unsigned char* p) { put_text(p, width::uuid, r.device.uuid); },
                         [](R& r, const unsigned char* p) { r.device.uuid = get_text(p, width::uuid); }});
    f.push_back(member("reference_ms", &R::reference_ms));
    f.push_back(member("joined", &R::joined));
    f.push_back(member("session", &R::session));
    return f;
}

// Whether its worker_events' kind is an enum (schema 4 on; before, a bare u8 of the same values).
bool has_named_worker_events(std::uint32_t schema) {
    return schema >= 4;
}

std::vector<field<storage::worker_event_record>> worker_event_fields(std::uint32_t schema) {
    using R = storage::worker_event_record;
    std::vector<field<R>> f;
    f.push_back(member("kind", &R::kind, has_named_worker_events(schema) ? kind::worker_event_kind : kind::u8));
    f.push_back(member("worker", &R::worker));
    f.push_back(member("time", &R::time));
    f.push_back(member("reference_ms", &R::reference_ms));
    f.push_back(text("message", width::message, &R::message));
    f.push_back(member("session", &R::session));
    return f;
}

std::vector<field<storage::session_record>> session_fields() {
    using R = storage::session_record;
    std::vector<field<R>> f;
    f.push_back(member("session", &R::session));
    f.push_back(text("started", width::timestamp, &R::started));
    f.push_back(member("wall_seconds", &R::wall_seconds));
    f.push_back(text("ended_by", width::ended_by, &R::ended_by));
    f.push_back(text("command_line", width::command_line, &R::command_line));
    return f;
}

std::vector<field<storage::training_record>> training_fields() {
    using R = storage::training_record;
    std::vector<field<R>> f;
    f.push_back(text("arch", width::arch, &R::arch));
    f.push_back(member("hash", &R::hash));
    f.push_back(text("status", width::ended_by, &R::status));
    f.push_back(text("message", width::message, &R::message));
    f.push_back(member("tokens", &R::tokens));
    f.push_back(member("steps", &R::steps));
    f.push_back(member("val_loss", &R::val_loss));
    f.push_back(member("val_perplexity", &R::val_perplexity));
    f.push_back(member("tokens_per_second", &R::tokens_per_second));
    f.push_back(member("wall_seconds", &R::wall_seconds));
    f.push_back(text("recipe", width::command_line, &R::recipe));
    f.push_back(text("device", width::device_name, &R::device));
    f.push_back(text("started", width::timestamp, &R::started));
    return f;
}

// Whether an archive of this schema has the search_trainings table (schema 2 on).
bool has_search_trainings(std::uint32_t schema) {
    return schema >= 2;
}

// Whether its search_trainings table has the trend probe's members (schema 3 on).
bool has_trend_probes(std::uint32_t schema) {
    return schema >= 3;
}

// The search_trainings members of an archive of this schema: schema 2's nineteen, and from schema 3
// the trend probe's two after wall_seconds. A row read from a schema-2 table keeps the record's
// defaults for them (no probe: 0 and NaN); a row appended to one drops them.
std::vector<field<storage::search_training_record>> search_training_fields(std::uint32_t schema) {
    using R = storage::search_training_record;
    std::vector<field<R>> f;
    f.push_back(member("candidate", &R::candidate));
    f.push_back(flag("reference", &R::reference));
    f.push_back(text("arch", width::arch, &R::arch));
    f.push_back(member("hash", &R::hash));
    f.push_back(member("rung", &R::rung));
    f.push_back(member("budget", &R::budget));
    f.push_back(member("seed", &R::seed));
    f.push_back(number<R, std::uint8_t>(
        "status", [](const R& r) { return static_cast<std::uint8_t>(r.status); },
        [](R& r, std::uint8_t v) { r.status = static_cast<eval::outcome_status>(v); }, kind::training_status));
    f.push_back(text("message", width::message, &R::message));
    f.push_back(member("val_loss", &R::val_loss));
    f.push_back(member("val_perplexity", &R::val_perplexity));
    f.push_back(member("tokens_trained", &R::tokens_trained));
    f.push_back(member("tokens_per_second", &R::tokens_per_second));
    f.push_back(member("wall_seconds", &R::wall_seconds));
    if (has_trend_probes(schema)) {
        f.push_back(member("probe_budget", &R::probe_budget));
        f.push_back(member("probe_perplexity", &R::probe_perplexity));
    }
    f.push_back(member("worker", &R::worker));
    f.push_back(member("dispatched", &R::dispatched));
    f.push_back(member("started", &R::started));
    f.push_back(member("ended", &R::ended));
    f.push_back(member("session", &R::session));
    return f;
}

// ---- a table: its schema, and the writer's state (dataset, rows on disk, rows waiting)
template <class R>
struct table {
    const char* name;
    std::vector<field<R>> fields;
    std::size_t row_size = 0;
    hsize_t chunk_rows = 0;
    h5id dataset, memory_type;
    hsize_t on_disk = 0;                 // rows in the dataset (written and flushed, or being flushed)
    std::vector<unsigned char> pending;  // rows appended since, packed
    hsize_t pending_rows = 0;

    table(const char* table_name, std::vector<field<R>> members) : name(table_name), fields(std::move(members)) {
        for (auto& f : fields) {
            f.offset = row_size;
            row_size += f.size;
        }
        // the largest power of two of rows that keeps a chunk within chunk_bytes, in [1, 1024]
        chunk_rows = 1024;
        while (chunk_rows > 1 && chunk_rows * row_size > chunk_bytes) chunk_rows /= 2;
    }

    void append(const R& r) {
        const std::size_t at = pending.size();
        pending.resize(at + row_size);  // zero-filled: strings are NUL-padded, no byte is left undefined
        for (const auto& f : fields) f.put(r, pending.data() + at + f.offset);
        ++pending_rows;
    }
};

struct tables {
    table<storage::evaluation_record> evaluations;
    table<storage::event_record> events;
    table<storage::worker_record> workers;
    table<storage::worker_event_record> worker_events;
    table<storage::session_record> sessions;
    table<storage::search_training_record> search_trainings;

    // The tables of an archive with this header (the search_trainings of schema 1 are never opened).
    explicit tables(const storage::run_header& h)
        : evaluations("evaluations", evaluation_fields(h.dim, h.scenarios)),
          events("events", event_fields()),
          workers("workers", worker_fields()),
          worker_events("worker_events", worker_event_fields(h.schema)),
          sessions("sessions", session_fields()),
          search_trainings(search_training_table, search_training_fields(h.schema)) {}

    // Every table, in the order flush() writes them: a reader that loads them in the reverse order
    // never sees a tell (events) before its evaluation or its training, a training before its
    // candidate's evaluation, nor an evaluation before its worker.
    template <class F>
    void each_in_write_order(F&& f) {
        f(workers);
        f(worker_events);
        f(evaluations);
        f(search_trainings);
        f(events);
        f(sessions);
    }
};

// ---- HDF5 types
// The statuses ok 0 to last, by eval::to_string's names. HDF5 converts enums by name and refuses to
// write a memory enum with members the file's lacks (an archive written before would not resume),
// so a table's enum never grows: the evaluations' holds the statuses of schema 1, ok 0 to
// device_lost 5, and a status added to the vocabulary (a training's diverged, stopped) enters the
// archive with a table of its own (search_trainings, schema 2: ok 0 to stopped 7). A status added
// after stopped needs a schema of its own again.
h5id status_enum(eval::outcome_status last, const std::string& path) {
    h5id t{FRACNAS_H5_OR_THROW(path, H5Tenum_create(H5T_STD_U8LE)), H5Tclose};
    for (unsigned v = 0; v <= static_cast<unsigned>(last); ++v) {
        const auto value = static_cast<std::uint8_t>(v);
        FRACNAS_H5_OR_THROW(path, H5Tenum_insert(t.get(), eval::to_string(static_cast<eval::outcome_status>(v)), &value));
    }
    return t;
}

h5id worker_event_kind_enum(const std::string& path) {
    h5id t{FRACNAS_H5_OR_THROW(path, H5Tenum_create(H5T_STD_U8LE)), H5Tclose};
    std::uint8_t value = 0;
    for (const char* name : storage::worker_event_kinds) {
        FRACNAS_H5_OR_THROW(path, H5Tenum_insert(t.get(), name, &value));
        ++value;
    }
    return t;
}

h5id event_what_enum(const std::string& path) {
    h5id t{FRACNAS_H5_OR_THROW(path, H5Tenum_create(H5T_STD_U8LE)), H5Tclose};
    const auto ask = static_cast<std::uint8_t>(storage::event_record::kind::ask);
    const auto tell = static_cast<std::uint8_t>(storage::event_record::kind::tell);
    FRACNAS_H5_OR_THROW(path, H5Tenum_insert(t.get(), "ask", &ask));
    FRACNAS_H5_OR_THROW(path, H5Tenum_insert(t.get(), "tell", &tell));
    return t;
}

h5id fixed_string(std::size_t size, const std::string& path) {
    h5id t{FRACNAS_H5_OR_THROW(path, H5Tcopy(H5T_C_S1)), H5Tclose};
    FRACNAS_H5_OR_THROW(path, H5Tset_size(t.get(), size));
    FRACNAS_H5_OR_THROW(path, H5Tset_strpad(t.get(), H5T_STR_NULLTERM));
    FRACNAS_H5_OR_THROW(path, H5Tset_cset(t.get(), H5T_CSET_UTF8));
    return t;
}

// A member's type: little-endian in the file, native in memory (the same bytes on x86_64).
h5id member_type(kind type, std::size_t size, bool in_file, const std::string& path) {
    auto copy = [&](hid_t file_type, hid_t memory_type) {
        return h5id{FRACNAS_H5_OR_THROW(path, H5Tcopy(in_file ? file_type : memory_type)), H5Tclose};
    };
    switch (type) {
        case kind::u8:
            return copy(H5T_STD_U8LE, H5T_NATIVE_UINT8);
        case kind::u32:
            return copy(H5T_STD_U32LE, H5T_NATIVE_UINT32);
        case kind::u64:
            return copy(H5T_STD_U64LE, H5T_NATIVE_UINT64);
        case kind::i32:
            return copy(H5T_STD_I32LE, H5T_NATIVE_INT32);
        case kind::f64:
            return copy(H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE);
        case kind::text:
            return fixed_string(size, path);
        case kind::status:
            return status_enum(eval::outcome_status::device_lost, path);
        case kind::training_status:
            return status_enum(eval::outcome_status::stopped, path);
        case kind::event_what:
            return event_what_enum(path);
        case kind::worker_event_kind:
            return worker_event_kind_enum(path);
        case kind::f64_array: {
            const hsize_t n = size / sizeof(double);
            return h5id{FRACNAS_H5_OR_THROW(path, H5Tarray_create2(in_file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE, 1, &n)), H5Tclose};
        }
    }
    throw storage_error(path, "archive " + in_quotes(path) + ": unknown member kind (a fracnas bug).");
}

template <class R>
h5id row_type(const table<R>& t, bool in_file, const std::string& path) {
    h5id c{FRACNAS_H5_OR_THROW(path, H5Tcreate(H5T_COMPOUND, t.row_size)), H5Tclose};
    for (const auto& f : t.fields) {
        const h5id m = member_type(f.type, f.size, in_file, path);
        FRACNAS_H5_OR_THROW(path, H5Tinsert(c.get(), f.name, f.offset, m.get()));
    }
    return c;
}

// The file access of every open: format bounds of HDF5 1.10 (what SWMR needs; readable by any
// HDF5 >= 1.10 whichever library wrote it), and no HDF5 file locking: the run lock keeps writers
// apart, and HDF5's own flock would make a reader (h5py, HDFView) block a resume.
h5id file_access(const std::string& path, bool clear_status_flags) {
    h5id fapl{FRACNAS_H5_OR_THROW(path, H5Pcreate(H5P_FILE_ACCESS)), H5Pclose};
    FRACNAS_H5_OR_THROW(path, H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V110, H5F_LIBVER_V110));
#if H5_VERSION_GE(1, 10, 7)
    FRACNAS_H5_OR_THROW(path, H5Pset_file_locking(fapl.get(), false, true));
#endif
    if (clear_status_flags) {
        // A run killed while writing leaves "open for write" flags in the superblock, and HDF5 then
        // refuses to open the file for writing (h5clear resets them). Only callers that hold the
        // run lock, or have checked that nobody does, set this: no writer is alive then. The
        // property is the one h5clear sets; HDF5 1.10 registers it on file access lists, else add it.
        const char* name = "clear_status_flags";
        hbool_t yes = true;
        if (FRACNAS_H5_OR_THROW(path, H5Pexist(fapl.get(), name)) > 0)
            FRACNAS_H5_OR_THROW(path, H5Pset(fapl.get(), name, &yes));
        else
            FRACNAS_H5_OR_THROW(path, H5Pinsert2(fapl.get(), name, sizeof yes, &yes, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr));
    }
    return fapl;
}

// ---- root attributes
void write_text_attribute(hid_t object, const char* name, const std::string& value, const std::string& path) {
    const h5id type = fixed_string(value.size() + 1, path);
    const h5id space{FRACNAS_H5_OR_THROW(path, H5Screate(H5S_SCALAR)), H5Sclose};
    const h5id a{FRACNAS_H5_OR_THROW(path, H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT)), H5Aclose};
    FRACNAS_H5_OR_THROW(path, H5Awrite(a.get(), type.get(), value.c_str()));
}

void write_u32_attribute(hid_t object, const char* name, std::uint32_t value, const std::string& path) {
    const h5id space{FRACNAS_H5_OR_THROW(path, H5Screate(H5S_SCALAR)), H5Sclose};
    const h5id a{FRACNAS_H5_OR_THROW(path, H5Acreate2(object, name, H5T_STD_U32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT)), H5Aclose};
    FRACNAS_H5_OR_THROW(path, H5Awrite(a.get(), H5T_NATIVE_UINT32, &value));
}

config_error damaged(const std::string& path, const std::string& what) {
    return config_error("--archive", "archive " + in_quotes(path) + " is damaged: " + what + ".");
}

bool has_attribute(hid_t object, const char* name, const std::string& path) {
    return FRACNAS_H5_OR_THROW(path, H5Aexists(object, name)) > 0;
}

std::string read_text_attribute(hid_t object, const char* name, const std::string& path) {
    if (!has_attribute(object, name, path)) throw damaged(path, std::string("it has no root attribute '") + name + "'");
    const h5id a{FRACNAS_H5_OR_THROW(path, H5Aopen(object, name, H5P_DEFAULT)), H5Aclose};
    const h5id type{FRACNAS_H5_OR_THROW(path, H5Aget_type(a.get())), H5Tclose};
    if (H5Tget_class(type.get()) != H5T_STRING) throw damaged(path, std::string("its root attribute '") + name + "' is not text");
    if (FRACNAS_H5_OR_THROW(path, H5Tis_variable_str(type.get())) > 0) {  // fracnas writes fixed strings; others may not
        const h5id memory = fixed_string(1, path);
        FRACNAS_H5_OR_THROW(path, H5Tset_size(memory.get(), H5T_VARIABLE));
        char* chars = nullptr;
        FRACNAS_H5_OR_THROW(path, H5Aread(a.get(), memory.get(), &chars));
        std::string value = chars != nullptr ? chars : "";
        H5free_memory(chars);
        return value;
    }
    const std::size_t size = H5Tget_size(type.get());
    std::vector<unsigned char> buffer(size + 1, 0);
    FRACNAS_H5_OR_THROW(path, H5Aread(a.get(), type.get(), buffer.data()));
    return get_text(buffer.data(), size);
}

std::uint32_t read_u32_attribute(hid_t object, const char* name, const std::string& path) {
    if (!has_attribute(object, name, path)) throw damaged(path, std::string("it has no root attribute '") + name + "'");
    const h5id a{FRACNAS_H5_OR_THROW(path, H5Aopen(object, name, H5P_DEFAULT)), H5Aclose};
    const h5id type{FRACNAS_H5_OR_THROW(path, H5Aget_type(a.get())), H5Tclose};
    if (H5Tget_class(type.get()) != H5T_INTEGER) throw damaged(path, std::string("its root attribute '") + name + "' is not an integer");
    std::uint32_t value = 0;
    FRACNAS_H5_OR_THROW(path, H5Aread(a.get(), H5T_NATIVE_UINT32, &value));
    return value;
}

void write_header(hid_t file, const storage::run_header& h, const std::string& path) {
    write_text_attribute(file, marker_name, marker_value, path);
    write_u32_attribute(file, "schema_version", h.schema, path);
    write_text_attribute(file, "fracnas_version", h.fracnas_version, path);
    write_text_attribute(file, "git_commit", h.git_commit, path);
    write_text_attribute(file, "command_line", h.command_line, path);
    write_text_attribute(file, "config", h.config, path);
    write_u32_attribute(file, "dim", h.dim, path);
    if (h.schema >= 5) write_u32_attribute(file, "scenarios", h.scenarios, path);
    write_u32_attribute(file, "ranks", h.ranks, path);
    write_text_attribute(file, "hosts", h.hosts, path);
    write_text_attribute(file, "created", h.created, path);
}

// Whether the root carries the fracnas marker (a foreign file's attribute of that name may be anything).
bool is_marked(hid_t file, const std::string& path) {
    if (!has_attribute(file, marker_name, path)) return false;
    try {
        return read_text_attribute(file, marker_name, path) == marker_value;
    } catch (const error&) {
        return false;
    }
}

storage::run_header read_header(hid_t file, const std::string& path) {
    if (!is_marked(file, path))
        throw config_error("--archive", "file " + in_quotes(path) + " is an HDF5 file but not a fracnas run archive (it has no '" +
                                            marker_name + "' root attribute).");
    storage::run_header h;
    h.schema = read_u32_attribute(file, "schema_version", path);
    if (h.schema < storage::oldest_schema_version || h.schema > storage::schema_version)
        throw config_error("--archive", "archive " + in_quotes(path) + " has schema version " + std::to_string(h.schema) +
                                            ", and this fracnas reads versions " + std::to_string(storage::oldest_schema_version) + " to " +
                                            std::to_string(storage::schema_version) + " only.");
    h.fracnas_version = read_text_attribute(file, "fracnas_version", path);
    h.git_commit = read_text_attribute(file, "git_commit", path);
    h.command_line = read_text_attribute(file, "command_line", path);
    h.config = read_text_attribute(file, "config", path);
    h.dim = read_u32_attribute(file, "dim", path);
    if (h.schema >= 5) h.scenarios = read_u32_attribute(file, "scenarios", path);
    if (h.scenarios > 1024) throw damaged(path, "its root attribute 'scenarios' is " + std::to_string(h.scenarios));
    h.ranks = read_u32_attribute(file, "ranks", path);
    h.hosts = read_text_attribute(file, "hosts", path);
    h.created = read_text_attribute(file, "created", path);
    return h;
}

// ---- datasets
template <class R>
void create_dataset(hid_t file, const table<R>& t, const std::string& path) {
    const h5id type = row_type(t, true, path);
    const hsize_t empty = 0, unlimited = H5S_UNLIMITED;
    const h5id space{FRACNAS_H5_OR_THROW(path, H5Screate_simple(1, &empty, &unlimited)), H5Sclose};
    const h5id dcpl{FRACNAS_H5_OR_THROW(path, H5Pcreate(H5P_DATASET_CREATE)), H5Pclose};
    FRACNAS_H5_OR_THROW(path, H5Pset_chunk(dcpl.get(), 1, &t.chunk_rows));
    // a Fletcher-32 checksum per chunk (4 bytes): a chunk whose bytes were damaged is refused on
    // read (a damaged archive), where an unfiltered chunk would be read as rows of garbage
    FRACNAS_H5_OR_THROW(path, H5Pset_fletcher32(dcpl.get()));
    const h5id d{FRACNAS_H5_OR_THROW(path, H5Dcreate2(file, t.name, type.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT)),
                 H5Dclose};
}

// Rows in a 1-D dataset.
hsize_t rows_of(hid_t dataset, const char* name, const std::string& path) {
    const h5id space{FRACNAS_H5_OR_THROW(path, H5Dget_space(dataset)), H5Sclose};
    if (FRACNAS_H5_OR_THROW(path, H5Sget_simple_extent_ndims(space.get())) != 1)
        throw damaged(path, std::string("its dataset '") + name + "' is not a table of rows");
    hsize_t rows = 0;
    FRACNAS_H5_OR_THROW(path, H5Sget_simple_extent_dims(space.get(), &rows, nullptr));
    return rows;
}

h5id open_dataset(hid_t file, const char* name, const std::string& path) {
    if (FRACNAS_H5_OR_THROW(path, H5Lexists(file, name, H5P_DEFAULT)) <= 0)
        throw damaged(path, std::string("it has no dataset '") + name + "'");
    return h5id{FRACNAS_H5_OR_THROW(path, H5Dopen2(file, name, H5P_DEFAULT)), H5Dclose};
}

template <class R>
std::vector<R> read_rows(hid_t file, const table<R>& t, const std::string& path) {
    const h5id d = open_dataset(file, t.name, path);
    const hsize_t rows = rows_of(d.get(), t.name, path);
    if (rows > std::numeric_limits<std::size_t>::max() / t.row_size)
        throw damaged(path, std::string("its dataset '") + t.name + "' claims an impossible number of rows");
    std::vector<R> out;
    if (rows == 0) return out;
    out.resize(static_cast<std::size_t>(rows));
    const h5id type = row_type(t, false, path);
    const h5id file_space{FRACNAS_H5_OR_THROW(path, H5Dget_space(d.get())), H5Sclose};
    // whole chunks, about 1 MiB at a time: the packed rows never need as much memory again as the records
    const hsize_t block = t.chunk_rows * std::max<hsize_t>(1, (hsize_t{1} << 20) / (t.chunk_rows * t.row_size));
    std::vector<unsigned char> buffer(static_cast<std::size_t>(std::min(block, rows)) * t.row_size);
    std::size_t records = 0;  // rows up to the last one that is not all fill bytes
    for (hsize_t start = 0; start < rows; start += block) {
        const hsize_t count = std::min(block, rows - start);
        FRACNAS_H5_OR_THROW(path, H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr));
        const h5id memory_space{FRACNAS_H5_OR_THROW(path, H5Screate_simple(1, &count, nullptr)), H5Sclose};
        std::fill(buffer.begin(), buffer.end(), 0);
        // a read that fails here (a corrupt chunk: "inflate() failed"; rows of another type) is a
        // damaged file, as every other reader of the archive says: bad input, not a fault of the run
        if (H5Dread(d.get(), type.get(), memory_space.get(), file_space.get(), H5P_DEFAULT, buffer.data()) < 0)
            throw damaged(path, std::string("its table '") + t.name + "' cannot be read at rows " + std::to_string(start) + "-" +
                                    std::to_string(start + count - 1) + " (H5Dread: " + hdf5_reason() + ")");
        for (hsize_t i = 0; i < count; ++i) {
            R& r = out[static_cast<std::size_t>(start + i)];
            const unsigned char* row = buffer.data() + static_cast<std::size_t>(i) * t.row_size;
            for (const auto& f : t.fields) f.get(r, row + f.offset);
            if (std::any_of(row, row + t.row_size, [](unsigned char b) { return b != 0; }))
                records = static_cast<std::size_t>(start + i) + 1;
        }
    }
    // Every record has a non-zero byte (a name, a time, a count); rows of fill bytes at a table's
    // end are an append whose write failed after the dataset grew (a disk that filled): phantoms,
    // not records. resume() cuts them off the file.
    out.resize(records);
    return out;
}

// Cuts the phantom rows read_rows skipped off the end of each table (before SWMR writing starts:
// a dataset only grows then), so that the next append follows the last record.
void drop_phantom_rows(hid_t file, const storage::archive_contents& c, const std::string& path) {
    tables t(c.header);
    const auto cut = [&](auto& table, std::size_t records) {
        const h5id d = open_dataset(file, table.name, path);
        hsize_t rows = rows_of(d.get(), table.name, path);
        if (rows <= records) return;
        rows = records;
        FRACNAS_H5_OR_THROW(path, H5Dset_extent(d.get(), &rows));
    };
    cut(t.workers, c.workers.size());
    cut(t.worker_events, c.worker_events.size());
    cut(t.evaluations, c.evaluations.size());
    if (has_search_trainings(c.header.schema)) cut(t.search_trainings, c.search_trainings.size());
    cut(t.events, c.events.size());
    cut(t.sessions, c.sessions.size());
}

// Writes a table's pending rows at its end and flushes the dataset: true when there were any.
template <class R>
bool write_pending(table<R>& t, const std::string& path) {
    if (t.pending_rows == 0) return false;
    const hsize_t total = t.on_disk + t.pending_rows;
    FRACNAS_H5_OR_THROW(path, H5Dset_extent(t.dataset.get(), &total));
    const h5id file_space{FRACNAS_H5_OR_THROW(path, H5Dget_space(t.dataset.get())), H5Sclose};
    const hsize_t start = t.on_disk, count = t.pending_rows;
    FRACNAS_H5_OR_THROW(path, H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr));
    const h5id memory_space{FRACNAS_H5_OR_THROW(path, H5Screate_simple(1, &count, nullptr)), H5Sclose};
    FRACNAS_H5_OR_THROW(
        path, H5Dwrite(t.dataset.get(), t.memory_type.get(), memory_space.get(), file_space.get(), H5P_DEFAULT, t.pending.data()));
    // raw data, then the dataset's metadata (its new extent): a SWMR reader sees the rows whole
    FRACNAS_H5_OR_THROW(path, H5Dflush(t.dataset.get()));
    t.on_disk = total;
    t.pending.clear();
    t.pending_rows = 0;
    return true;
}

// The superblock's end of file, and the bytes on the disk itself (a flushed row survives a crash
// of the node, not only of the process).
void sync_file(hid_t file, const std::string& path) {
    FRACNAS_H5_OR_THROW(path, H5Fflush(file, H5F_SCOPE_LOCAL));
    void* handle = nullptr;
    FRACNAS_H5_OR_THROW(path, H5Fget_vfd_handle(file, H5P_DEFAULT, &handle));
    if (handle != nullptr && ::fsync(*static_cast<int*>(handle)) != 0)
        throw storage_error(path, "syncing archive " + in_quotes(path) + " to disk failed: " + std::strerror(errno) + ".");
}

// ---- opening an archive for reading
std::string folder_of(const std::string& path) {
    const std::string parent = std::filesystem::path(path).parent_path().string();
    return parent.empty() ? "." : parent;
}

void check_folder(const std::string& path) {
    if (path.empty()) throw config_error("--archive", "the archive's file name is empty.");
    const std::string folder = folder_of(path);
    struct stat st {};
    if (::stat(folder.c_str(), &st) != 0)
        throw config_error("--archive",
                           "cannot create archive " + in_quotes(path) + ": its folder " + in_quotes(folder) + " does not exist.");
    if (!S_ISDIR(st.st_mode))
        throw config_error("--archive", "cannot create archive " + in_quotes(path) + ": " + in_quotes(folder) + " is not a folder.");
    if (::access(folder.c_str(), W_OK | X_OK) != 0)
        throw config_error("--archive",
                           "cannot create archive " + in_quotes(path) + ": its folder " + in_quotes(folder) + " is not writable.");
}

// Whether path exists; a folder there is refused.
bool archive_exists(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return false;
    if (S_ISDIR(st.st_mode)) throw config_error("--archive", "archive " + in_quotes(path) + " is a folder, not a file.");
    return true;
}

// HDF5's reason for refusing a file shorter than the end its superblock records
const std::string cut_reason = "truncated file: ";

// Opens path read-only: as a SWMR reader first (a run may be writing it; a finished archive opens
// that way too), then plainly (a foreign HDF5 file of an older format). A file whose write flags a
// killed run left set opens only with may_clear_flags (nobody holds the run lock); without swmr,
// only plainly (a reader that knows no run writes it: HDF5's SWMR reader retries a bad checksum
// for a long while). Input problems are config_errors.
h5id open_for_reading(const std::string& path, bool may_clear_flags, bool swmr = true) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) throw config_error("--archive", "archive " + in_quotes(path) + " does not exist.");
        throw config_error("--archive", "cannot read archive " + in_quotes(path) + ": " + std::strerror(errno) + ".");
    }
    if (S_ISDIR(st.st_mode)) throw config_error("--archive", "archive " + in_quotes(path) + " is a folder, not a file.");
    if (::access(path.c_str(), R_OK) != 0)
        throw config_error("--archive", "cannot read archive " + in_quotes(path) + ": " + std::strerror(errno) + ".");
    const h5id fapl = file_access(path, false);
#if H5_VERSION_GE(1, 12, 0)
    const htri_t is_hdf5 = H5Fis_accessible(path.c_str(), fapl.get());
#else
    const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
#endif
    if (is_hdf5 <= 0) {
        H5Eclear2(H5E_DEFAULT);
        throw config_error("--archive", "file " + in_quotes(path) + " is not an HDF5 file (so not a fracnas run archive).");
    }
    std::string reason;  // of the last failed attempt, taken at once: any later HDF5 call clears it
    auto attempt = [&](unsigned flags, hid_t access) {
        const hid_t id = H5Fopen(path.c_str(), flags, access);
        if (id < 0) reason = hdf5_reason();
        return id;
    };
    hid_t id = swmr ? attempt(H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl.get()) : -1;
    if (id < 0) id = attempt(H5F_ACC_RDONLY, fapl.get());
    if (id < 0 && may_clear_flags) id = attempt(H5F_ACC_RDONLY, file_access(path, true).get());
    if (id < 0 && reason.rfind(cut_reason, 0) == 0)
        throw damaged(path, "HDF5 cannot open it (" + reason +
                                "): a write was cut short (a full disk or a file-size limit); a search's --resume restores its end and "
                                "keeps the records written before");
    if (id < 0) throw damaged(path, "HDF5 cannot open it (" + reason + ")");
    return h5id{id, H5Fclose};
}

// The header's `dim` against the coordinates its evaluations hold: a corrupt attribute would
// otherwise size every row by it (4e9 coordinates: bad_alloc, not "damaged").
void check_dim(hid_t file, std::uint32_t dim, const std::string& path) {
    const h5id d = open_dataset(file, "evaluations", path);
    const h5id type{FRACNAS_H5_OR_THROW(path, H5Dget_type(d.get())), H5Tclose};
    std::size_t stored = 0;
    if (H5Tget_class(type.get()) == H5T_COMPOUND) {
        const int x = H5Tget_member_index(type.get(), "x");  // negative when absent (a dim of 0)
        if (x >= 0) {
            const h5id member{FRACNAS_H5_OR_THROW(path, H5Tget_member_type(type.get(), static_cast<unsigned>(x))), H5Tclose};
            stored = H5Tget_size(member.get()) / sizeof(double);
        }
    }
    if (stored != dim)
        throw damaged(path,
                      "its 'dim' attribute says " + std::to_string(dim) + " coordinates, its evaluations hold " + std::to_string(stored));
}

storage::archive_contents read_whole(const std::string& path, bool may_clear_flags, bool swmr = true) {
    const h5id file = open_for_reading(path, may_clear_flags, swmr);
    storage::archive_contents c;
    c.header = read_header(file.get(), path);
    check_dim(file.get(), c.header.dim, path);
    tables t(c.header);
    // the reverse of the write order (see tables): a table read later is never older than one read before
    c.sessions = read_rows(file.get(), t.sessions, path);
    c.events = read_rows(file.get(), t.events, path);
    // an archive of schema 2 on without the table is damaged (read_rows says so); schema 1 has none
    if (has_search_trainings(c.header.schema)) c.search_trainings = read_rows(file.get(), t.search_trainings, path);
    c.evaluations = read_rows(file.get(), t.evaluations, path);
    c.worker_events = read_rows(file.get(), t.worker_events, path);
    c.workers = read_rows(file.get(), t.workers, path);
    const table<storage::training_record> trainings(training_table, training_fields());
    if (FRACNAS_H5_OR_THROW(path, H5Lexists(file.get(), training_table, H5P_DEFAULT)) > 0)
        c.trainings = read_rows(file.get(), trainings, path);
    return c;
}

}  // namespace

// ---- the writer
struct archive_file::impl {
    std::string path;
    std::unique_ptr<run_lock> lock;  // declared first: released after the file is closed
    h5id file;
    std::uint32_t session = 0;
    std::uint32_t dim = 0;
    tables rows;                   // laid out by the archive's schema: an older archive continues as its schema
    bool search_trainings = true;  // the file has that table (false: a schema-1 archive, resumed)
    bool unflushed = false;        // rows written to HDF5 whose file flush has not succeeded yet

    impl(std::string archive_path, std::unique_ptr<run_lock> held, const storage::run_header& header)
        : path(std::move(archive_path)),
          lock(std::move(held)),
          dim(header.dim),
          rows(header),
          search_trainings(has_search_trainings(header.schema)) {}

    ~impl() {
        // the datasets and types first, then the file: HDF5 closes a file only when nothing in it is open
        rows.each_in_write_order([](auto& t) {
            t.dataset.reset();
            t.memory_type.reset();
        });
        file.reset();
    }

    // Every table the file has, in write order (a schema-1 archive has no search_trainings).
    template <class F>
    void each_table(F&& f) {
        rows.each_in_write_order([&](auto& t) {
            if constexpr (std::is_same_v<std::decay_t<decltype(t)>, table<storage::search_training_record>>)
                if (!search_trainings) return;
            f(t);
        });
    }

    // After H5Fstart_swmr_write: opens each dataset for appending at its end.
    void open_tables() {
        each_table([this](auto& t) {
            t.dataset = open_dataset(file.get(), t.name, path);
            t.on_disk = rows_of(t.dataset.get(), t.name, path);
            t.memory_type = row_type(t, false, path);
        });
    }

    void start_swmr() { FRACNAS_H5_OR_THROW(path, H5Fstart_swmr_write(file.get())); }
};

namespace {

// Refuses (config_error(option)) an archive whose run lock another run holds, naming it; `then`
// says what the user can do.
void refuse_if_held(const std::string& path, const std::string& option, const std::string& then) {
    const std::string holder = run_lock::holder(path);
    if (!holder.empty())
        throw config_error(option, "archive " + in_quotes(path) + " is being written by another run (" + holder + "); " + then);
}

}  // namespace

void check_new_archive(const std::string& path, bool replace) {
    check_folder(path);
    refuse_if_held(path, "--archive", "wait for it to end or choose another file.");
    if (archive_exists(path) && !replace)
        throw config_error("--archive",
                           "archive " + in_quotes(path) + " exists; pass --replace to overwrite it, or --resume to continue it.");
}

storage::archive_contents read_archive(const std::string& path) {
    quiet_hdf5();
    return read_whole(path, run_lock::holder(path).empty());
}

void append_training(const std::string& path, const storage::training_record& r) {
    quiet_hdf5();
    const run_lock lock(path);  // no search writes it meanwhile
    // a missing, foreign or other-schema file refused with read_archive's sentence; the tables
    // themselves are not read
    read_header(open_for_reading(path, true).get(), path);
    table<storage::training_record> t(training_table, training_fields());
    // we hold the run lock, so write flags left in the superblock are a killed run's: clear them
    const h5id fapl = file_access(path, true);
    const h5id file{FRACNAS_H5_OR_THROW(path, H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get())), H5Fclose};
    FRACNAS_H5_OR_THROW(path, H5Fincrement_filesize(file.get(), 0));
    if (FRACNAS_H5_OR_THROW(path, H5Lexists(file.get(), training_table, H5P_DEFAULT)) <= 0) create_dataset(file.get(), t, path);
    t.dataset = open_dataset(file.get(), training_table, path);
    t.on_disk = rows_of(t.dataset.get(), training_table, path);
    // after the last record, not after phantom rows of a failed earlier append (read_rows)
    const hsize_t records = read_rows(file.get(), t, path).size();
    if (records < t.on_disk) {
        t.on_disk = records;
        FRACNAS_H5_OR_THROW(path, H5Dset_extent(t.dataset.get(), &t.on_disk));
    }
    t.memory_type = row_type(t, false, path);
    t.append(r);
    write_pending(t, path);
    t.dataset.reset();
    t.memory_type.reset();
    sync_file(file.get(), path);
}

namespace {

// An existing archive that this process must write into: its file and folder (the run lock's)
// writable, or config_error(option) "... is not writable (reason); <then>".
void refuse_unwritable(const std::string& path, const std::string& option, const std::string& then) {
    if (::access(path.c_str(), W_OK) != 0)
        throw config_error(option, "archive " + in_quotes(path) + " is not writable (" + std::strerror(errno) + "); " + then);
    const std::string folder = folder_of(path);
    if (::access(folder.c_str(), W_OK | X_OK) != 0)
        throw config_error(option, "archive " + in_quotes(path) + ": its folder " + in_quotes(folder) +
                                       " is not writable (its run lock is made there); " + then);
}

// A write that failed part-way (a full disk, a file-size limit) can leave the file shorter than the
// end its superblock records, which HDF5 refuses to open. For a writable file that HDF5 refuses so,
// the end is restored with zeros and the whole archive read: what was never written reads as fill
// rows, which the readers skip and a resume cuts (drop_phantom_rows). When it still cannot be read,
// the file is cut back to its size and the sentence says why. Returns what was done, or "".
std::string restore_cut_end(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::access(path.c_str(), W_OK) != 0) return "";
    const h5id fapl = file_access(path, true);
    const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
    if (id >= 0) {
        H5Fclose(id);
        return "";
    }
    const std::string reason = hdf5_reason();
    const auto stored_at = reason.find("stored_eof = ");
    if (reason.rfind(cut_reason, 0) != 0 || stored_at == std::string::npos) return "";
    const unsigned long long stored = std::strtoull(reason.c_str() + stored_at + 13, nullptr, 10);
    const auto size = static_cast<unsigned long long>(st.st_size);
    if (stored <= size || stored > (1ULL << 50) || ::truncate(path.c_str(), static_cast<off_t>(stored)) != 0) return "";
    try {
        // not as a SWMR reader, which retries a bad checksum for a long while (no writer runs)
        read_whole(path, true, false);
    } catch (const std::exception& e) {
        const int undone = ::truncate(path.c_str(), st.st_size);  // back to the bytes it had (if that fails, the sentence holds)
        (void)undone;
        throw damaged(path, "HDF5 cannot open it (" + reason + "), and with its end restored it still cannot be read (" + e.what() + ")");
    }
    return "its end, cut short by a failed write, restored with zeros (" + std::to_string(size) + " of " + std::to_string(stored) +
           " bytes were on disk); answers never written are asked again";
}

// An existing archive this process is about to write into: no run holds it (else "... held_then"),
// read_archive's header checks pass, file and folder writable (else "... unwritable_then"); an
// end that a failed write cut is restored first (restore_cut_end, whose note it returns).
std::string check_writable_archive(const std::string& path, const std::string& option, const std::string& held_then,
                                   const std::string& unwritable_then) {
    quiet_hdf5();
    refuse_if_held(path, option, held_then);
    std::string note = restore_cut_end(path);
    read_header(open_for_reading(path, true).get(), path);  // a missing, foreign or damaged file: read_archive's sentence
    refuse_unwritable(path, option, unwritable_then);
    return note;
}

}  // namespace

std::string check_appendable(const std::string& path, const std::string& option) {
    return check_writable_archive(path, option, "the trainings could not be recorded in it: wait for that run to end.",
                                  "the trainings could not be recorded in it.");
}

std::string check_resumable(const std::string& path, const std::string& option) {
    return check_writable_archive(path, option, "a run is continued once it has stopped: wait for it to end.",
                                  "the continued run is written into it.");
}

archive_file::archive_file(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

std::unique_ptr<archive_file> archive_file::create(const std::string& path, const storage::run_header& header, bool replace) {
    quiet_hdf5();
    check_folder(path);
    auto lock = std::make_unique<run_lock>(path);  // before looking at the file: a running run is named
    if (archive_exists(path)) {
        if (!replace)
            throw config_error("--archive",
                               "archive " + in_quotes(path) + " exists; pass --replace to overwrite it, or --resume to continue it.");
        // a new file rather than a truncated one: a reader that still has the old one open keeps it
        if (::unlink(path.c_str()) != 0)
            throw config_error("--archive", "cannot remove archive " + in_quotes(path) + " to replace it: " + std::strerror(errno) + ".");
    }
    // the tables of header.schema: storage::schema_version's, unless a test writes an older archive
    auto p = std::make_unique<impl>(path, std::move(lock), header);
    try {
        const h5id fapl = file_access(path, false);
        p->file = h5id{FRACNAS_H5_OR_THROW(path, H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get())), H5Fclose};
        write_header(p->file.get(), header, path);
        p->each_table([&](auto& t) { create_dataset(p->file.get(), t, path); });
        p->start_swmr();  // only datasets may be open then: none is
        p->open_tables();
    } catch (...) {
        // a half-made archive would only be refused by the next create: remove it (the lock is still held)
        p->rows.each_in_write_order([](auto& t) { t.dataset.reset(); });
        p->file.reset();
        ::unlink(path.c_str());
        throw;
    }
    return std::unique_ptr<archive_file>(new archive_file(std::move(p)));
}

std::unique_ptr<archive_file> archive_file::resume(const std::string& path, storage::archive_contents& contents) {
    quiet_hdf5();
    auto lock = std::make_unique<run_lock>(path);  // before reading: nobody writes while we read
    contents = read_whole(path, true);
    // the next session: one past the largest number any table holds; 1 when the first run (session
    // 0) was killed before it wrote a single numbered record
    std::uint64_t next = 1;
    for (const auto& s : contents.sessions) next = std::max<std::uint64_t>(next, std::uint64_t{s.session} + 1);
    for (const auto& w : contents.workers) next = std::max<std::uint64_t>(next, std::uint64_t{w.session} + 1);
    for (const auto& e : contents.worker_events) next = std::max<std::uint64_t>(next, std::uint64_t{e.session} + 1);
    for (const auto& t : contents.search_trainings) next = std::max<std::uint64_t>(next, std::uint64_t{t.session} + 1);
    if (next > std::numeric_limits<std::uint32_t>::max()) throw damaged(path, "its session numbers are exhausted");

    // an older archive continues as its schema: a schema-1 archive gets no search_trainings, a
    // schema-2 one's rows no probe members
    auto p = std::make_unique<impl>(path, std::move(lock), contents.header);
    p->session = static_cast<std::uint32_t>(next);
    // we hold the run lock, so write flags left in the superblock are a killed run's: clear them
    const h5id fapl = file_access(path, true);
    p->file = h5id{FRACNAS_H5_OR_THROW(path, H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get())), H5Fclose};
    // a killed SWMR writer may have left data past the end of file the superblock records: never
    // allocate over it
    FRACNAS_H5_OR_THROW(path, H5Fincrement_filesize(p->file.get(), 0));
    drop_phantom_rows(p->file.get(), contents, path);
    p->start_swmr();
    p->open_tables();
    return std::unique_ptr<archive_file>(new archive_file(std::move(p)));
}

archive_file::~archive_file() {
    if (!impl_) return;
    quiet_hdf5();
    try {
        flush();
    } catch (...) {
        // a destructor cannot report it; what was flushed before stays readable
    }
    impl_.reset();
}

void archive_file::append(const storage::evaluation_record& r) {
    if (r.x.size() != impl_->dim)
        throw storage_error(impl_->path, "evaluation " + std::to_string(r.id) + " has " + std::to_string(r.x.size()) +
                                             " coordinates, but archive " + in_quotes(impl_->path) + " stores " +
                                             std::to_string(impl_->dim) + ".");
    impl_->rows.evaluations.append(r);
}
void archive_file::append(const storage::event_record& r) {
    impl_->rows.events.append(r);
}
void archive_file::append(const storage::worker_record& r) {
    impl_->rows.workers.append(r);
}
void archive_file::append(const storage::worker_event_record& r) {
    impl_->rows.worker_events.append(r);
}
void archive_file::append(const storage::session_record& r) {
    impl_->rows.sessions.append(r);
}
void archive_file::append(const storage::search_training_record& r) {
    // refused here, not at the flush, where the row would stay pending and fail every flush after
    if (!impl_->search_trainings)
        throw storage_error(impl_->path, "archive " + in_quotes(impl_->path) +
                                             " has schema version 1, which has no search_trainings table: a training search writes a "
                                             "new archive.");
    impl_->rows.search_trainings.append(r);
}

void archive_file::flush() {
    quiet_hdf5();
    impl& s = *impl_;
    // Each table is written and flushed whole before the next: a failure leaves the tables before it
    // flushed, its own and later rows pending (a later flush retries them), and older rows intact.
    s.rows.each_in_write_order([&s](auto& t) {
        if (write_pending(t, s.path)) s.unflushed = true;
    });
    if (!s.unflushed) return;
    sync_file(s.file.get(), s.path);
    s.unflushed = false;
}

std::uint32_t archive_file::session() const {
    return impl_->session;
}

const std::string& archive_file::path() const noexcept {
    return impl_->path;
}

}  // namespace fracnas::hdf5
