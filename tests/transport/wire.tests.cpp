// The master/worker message codec without MPI: every message round-trips field by field
// (NaN, signed zero, long strings, empty points), and truncated, corrupted, foreign-version or
// mislabelled buffers are rejected with mpi_error(0) and a sentence that says why.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "fracnas/error.hpp"
#include "fracnas/transport/wire.hpp"

using namespace fracnas;
using namespace fracnas::transport;

namespace {

const double nan_value = std::numeric_limits<double>::quiet_NaN();
const double inf_value = std::numeric_limits<double>::infinity();

// Equal, or both NaN (bit for bit when both are NaN is checked separately).
bool same(double a, double b) {
    return (std::isnan(a) && std::isnan(b)) || a == b;
}

eval::outcome full_outcome() {
    eval::outcome o;
    o.status = eval::outcome_status::out_of_memory;
    o.message = "CUDA out of memory: tried to allocate 2.00 GiB.";
    o.value = 1.25;
    o.reference_ms = 3.5;
    o.decode_ms = nan_value;
    o.decode_iqr_ms = -0.0;
    o.prefill_ms = inf_value;
    o.prefill_iqr_ms = 1e-300;
    o.repeats = 4000000000u;
    o.peak_memory_bytes = 0xfedcba9876543210ull;
    o.wall_seconds = 12.75;
    o.val_loss = 4.5;
    o.val_perplexity = nan_value;
    o.tokens_trained = 0xfffffffffffffff0ull;
    o.tokens_per_second = -0.0;
    o.probe_perplexity = 1.5e9;
    o.scenario_ms = {0.75, nan_value, 12.5};
    o.scenario_reference_ms = {1.0, 2.0, -0.0};
    return o;
}

void require_same(const eval::outcome& a, const eval::outcome& b) {
    REQUIRE(a.status == b.status);
    REQUIRE(a.message == b.message);
    REQUIRE(same(a.value, b.value));
    REQUIRE(same(a.reference_ms, b.reference_ms));
    REQUIRE(same(a.decode_ms, b.decode_ms));
    REQUIRE(same(a.decode_iqr_ms, b.decode_iqr_ms));
    REQUIRE(std::signbit(a.decode_iqr_ms) == std::signbit(b.decode_iqr_ms));
    REQUIRE(same(a.prefill_ms, b.prefill_ms));
    REQUIRE(same(a.prefill_iqr_ms, b.prefill_iqr_ms));
    REQUIRE(a.repeats == b.repeats);
    REQUIRE(a.peak_memory_bytes == b.peak_memory_bytes);
    REQUIRE(same(a.wall_seconds, b.wall_seconds));
    REQUIRE(same(a.val_loss, b.val_loss));
    REQUIRE(same(a.val_perplexity, b.val_perplexity));
    REQUIRE(a.tokens_trained == b.tokens_trained);
    REQUIRE(same(a.tokens_per_second, b.tokens_per_second));
    REQUIRE(std::signbit(a.tokens_per_second) == std::signbit(b.tokens_per_second));
    REQUIRE(same(a.probe_perplexity, b.probe_perplexity));
    for (const auto& [x, y] : {std::pair{&a.scenario_ms, &b.scenario_ms}, std::pair{&a.scenario_reference_ms, &b.scenario_reference_ms}}) {
        REQUIRE(x->size() == y->size());
        for (std::size_t i = 0; i < x->size(); ++i) REQUIRE(std::memcmp(&(*x)[i], &(*y)[i], sizeof(double)) == 0);
    }
}

wire::hello_msg sample_hello() {
    wire::hello_msg m;
    m.host = "gpu-node-017";
    m.device = eval::device_binding{"cuda", 3, "NVIDIA H200", "GPU-6f2a1c3e-0000-1111-2222-333344445555"};
    m.calibration = full_outcome();
    m.calibration.status = eval::outcome_status::ok;
    m.calibration.message.clear();
    return m;
}

job sample_task() {
    job j;
    j.id = 0x0123456789abcdefull;
    j.x = {0.0, 0.25, 1.0, nan_value, -0.0};
    j.spec = "n_layer=2 d_model=512 d_inner=1024,1536 n_head=8,4";
    j.kind = eval::task_kind::train;
    j.train.tokens = 20000000;
    j.train.seed = 0xffffffffffffffffull;
    j.train.rung = 3;
    j.train.probe_tokens = 0xfedcba9876543210ull;
    j.deadline_seconds = 1800.5;
    return j;
}

wire::result_msg sample_result() {
    wire::result_msg m;
    m.out = full_outcome();
    m.started = 10.5;
    m.ended = 11.0;
    m.recalibrated = true;
    return m;
}

// Every message of the protocol, encoded.
std::vector<std::vector<char>> all_messages() {
    return {wire::encode_hello(sample_hello()), wire::encode_task(sample_task()), wire::encode_result(42, sample_result()),
            wire::encode_control(wire::kind::stop), wire::encode_control(wire::kind::bye)};
}

// Decodes a buffer as the message its header names.
void decode_any(const std::vector<char>& b) {
    const auto h = wire::decode_header(b.data(), b.size());
    switch (h.what) {
        case wire::kind::hello:
            wire::decode_hello(b.data(), b.size());
            break;
        case wire::kind::task:
            wire::decode_task(b.data(), b.size());
            break;
        case wire::kind::result:
            wire::decode_result(b.data(), b.size());
            break;
        case wire::kind::stop:
        case wire::kind::bye:
            break;
    }
}

void put_u32(std::vector<char>& b, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b.at(at + static_cast<std::size_t>(i)) = static_cast<char>((v >> (8 * i)) & 0xffu);
}

}  // namespace

TEST_CASE("wire: the header is 20 little-endian bytes in a fixed order", "[transport][wire]") {
    const auto b = wire::encode_task(sample_task());
    REQUIRE(wire::header_bytes == 20);
    // magic "FNAS" as the little-endian 0x464e4153
    REQUIRE(static_cast<unsigned char>(b[0]) == 0x53);
    REQUIRE(static_cast<unsigned char>(b[3]) == 0x46);
    REQUIRE(static_cast<unsigned char>(b[4]) == wire::version);  // version, low byte first
    REQUIRE(static_cast<unsigned char>(b[6]) == static_cast<unsigned char>(wire::kind::task));
    REQUIRE(static_cast<unsigned char>(b[8]) == 0xef);  // the job id, low byte first
    REQUIRE(static_cast<unsigned char>(b[15]) == 0x01);
    const auto h = wire::decode_header(b.data(), b.size());
    REQUIRE(h.magic == wire::magic);
    REQUIRE(h.version == wire::version);
    REQUIRE(h.what == wire::kind::task);
    REQUIRE(h.job == 0x0123456789abcdefull);
    REQUIRE(h.payload == b.size() - wire::header_bytes);
    // task payload: dim (4), 5 doubles (40), spec length (4) and text, kind (1), budget (8),
    // seed (8), rung (4), probe_tokens (8), deadline (8)
    REQUIRE(h.payload == 4 + 5 * 8 + 4 + sample_task().spec.size() + 1 + 8 + 8 + 4 + 8 + 8);
}

TEST_CASE("wire: hello round-trips with its binding and calibration", "[transport][wire]") {
    const auto m = sample_hello();
    const auto b = wire::encode_hello(m);
    const auto h = wire::decode_header(b.data(), b.size());
    REQUIRE(h.what == wire::kind::hello);
    REQUIRE(h.job == 0);
    const auto d = wire::decode_hello(b.data(), b.size());
    REQUIRE(d.host == m.host);
    REQUIRE(d.device.kind == "cuda");
    REQUIRE(d.device.index == 3);
    REQUIRE(d.device.name == "NVIDIA H200");
    REQUIRE(d.device.uuid == m.device.uuid);
    require_same(d.calibration, m.calibration);

    // a worker that cannot start: negative index, empty uuid, a failure with its reason
    wire::hello_msg bad;
    bad.host = "";
    bad.device = eval::device_binding{};
    bad.calibration.status = eval::outcome_status::error;
    bad.calibration.message = "the evaluator could not be built: no CUDA device is visible.";
    const auto b2 = wire::encode_hello(bad);
    const auto d2 = wire::decode_hello(b2.data(), b2.size());
    REQUIRE(d2.host.empty());
    REQUIRE(d2.device.index == -1);
    REQUIRE(d2.device.kind == "cpu");
    REQUIRE(d2.device.uuid.empty());
    require_same(d2.calibration, bad.calibration);
}

TEST_CASE("wire: task round-trips its id, point (NaN, -0), spec and what to do (a timing or a training)", "[transport][wire]") {
    const auto j = sample_task();
    const auto b = wire::encode_task(j);
    const auto d = wire::decode_task(b.data(), b.size());
    REQUIRE(d.id == j.id);
    REQUIRE(d.spec == j.spec);
    REQUIRE(d.kind == eval::task_kind::train);
    REQUIRE(d.train.tokens == 20000000);
    REQUIRE(d.train.seed == 0xffffffffffffffffull);
    REQUIRE(d.train.rung == 3);
    REQUIRE(d.train.probe_tokens == 0xfedcba9876543210ull);
    REQUIRE(d.deadline_seconds == 1800.5);
    job timing;  // the defaults: a timing, no budget, the master's deadline
    timing.x = {0.5};
    const auto bt0 = wire::encode_task(timing);
    const auto dt0 = wire::decode_task(bt0.data(), bt0.size());
    REQUIRE(dt0.kind == eval::task_kind::time);
    REQUIRE(dt0.train.tokens == 0);
    REQUIRE(dt0.train.seed == 1);
    REQUIRE(dt0.train.probe_tokens == 0);
    REQUIRE(dt0.deadline_seconds == 0.0);
    REQUIRE(d.x.size() == j.x.size());
    for (std::size_t i = 0; i < j.x.size(); ++i) {
        // bit for bit: the NaN and the sign of zero are kept
        REQUIRE(std::memcmp(&d.x[i], &j.x[i], sizeof(double)) == 0);
    }
    // an empty point and an empty spec (a synthetic job has no spec)
    job e;
    e.id = 0;
    const auto be = wire::encode_task(e);
    const auto de = wire::decode_task(be.data(), be.size());
    REQUIRE(de.id == 0);
    REQUIRE(de.x.empty());
    REQUIRE(de.spec.empty());
}

TEST_CASE("wire: result round-trips every outcome field, the times and the flag", "[transport][wire]") {
    for (int s = 0; s <= 5; ++s) {
        auto m = sample_result();
        m.out.status = static_cast<eval::outcome_status>(s);
        m.recalibrated = (s % 2) == 0;
        const auto b = wire::encode_result(7000000000ull + static_cast<std::uint64_t>(s), m);
        const auto h = wire::decode_header(b.data(), b.size());
        REQUIRE(h.what == wire::kind::result);
        REQUIRE(h.job == 7000000000ull + static_cast<std::uint64_t>(s));
        const auto d = wire::decode_result(b.data(), b.size());
        require_same(d.out, m.out);
        REQUIRE(d.started == m.started);
        REQUIRE(d.ended == m.ended);
        REQUIRE(d.recalibrated == m.recalibrated);
    }
    // a default outcome: every latency NaN
    wire::result_msg n;
    const auto b = wire::encode_result(1, n);
    const auto d = wire::decode_result(b.data(), b.size());
    require_same(d.out, n.out);
    REQUIRE(std::isnan(d.out.value));
    REQUIRE(!d.recalibrated);
}

TEST_CASE("wire: long strings and long points survive", "[transport][wire]") {
    std::string long_text(3u << 20, 'x');  // 3 MiB
    for (std::size_t i = 0; i < long_text.size(); i += 97) long_text[i] = static_cast<char>(i % 251);
    long_text[5] = '\0';  // embedded NUL bytes are part of the string
    wire::result_msg m;
    m.out.status = eval::outcome_status::error;
    m.out.message = long_text;
    const auto b = wire::encode_result(3, m);
    REQUIRE(wire::decode_result(b.data(), b.size()).out.message == long_text);

    job j;
    j.id = 9;
    j.spec = long_text;
    j.x.assign(100000, 0.5);
    j.x[777] = nan_value;
    const auto bt = wire::encode_task(j);
    const auto d = wire::decode_task(bt.data(), bt.size());
    REQUIRE(d.spec == long_text);
    REQUIRE(d.x.size() == 100000);
    REQUIRE(std::isnan(d.x[777]));
    REQUIRE(d.x[99999] == 0.5);
}

TEST_CASE("wire: stop and bye are header-only", "[transport][wire]") {
    for (auto k : {wire::kind::stop, wire::kind::bye}) {
        const auto b = wire::encode_control(k);
        REQUIRE(b.size() == wire::header_bytes);
        const auto h = wire::decode_header(b.data(), b.size());
        REQUIRE(h.what == k);
        REQUIRE(h.payload == 0);
        REQUIRE(h.job == 0);
    }
    REQUIRE_THROWS_AS(wire::encode_control(wire::kind::task), mpi_error);
    REQUIRE_THROWS_WITH(wire::encode_control(wire::kind::hello), Catch::Contains("only stop and bye"));
}

TEST_CASE("wire: every truncation of every message is rejected", "[transport][wire]") {
    for (const auto& b : all_messages()) {
        for (std::size_t n = 0; n < b.size(); ++n) {
            try {
                decode_any(std::vector<char>(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n)));
                FAIL("a " << n << "-byte prefix of a " << b.size() << "-byte message was accepted");
            } catch (const mpi_error& e) {
                REQUIRE(e.code() == 0);
            }
        }
        REQUIRE_NOTHROW(decode_any(b));
    }
    // a truncated payload whose header was patched to match is caught inside the payload
    auto b = wire::encode_hello(sample_hello());
    b.resize(b.size() - 3);
    put_u32(b, 16, static_cast<std::uint32_t>(b.size() - wire::header_bytes));
    REQUIRE_THROWS_WITH(wire::decode_hello(b.data(), b.size()), Catch::Contains("truncated"));
    REQUIRE_THROWS_WITH(wire::decode_header(nullptr, 0), Catch::Contains("shorter than the 20-byte header"));
}

TEST_CASE("wire: corrupt, foreign and mislabelled buffers are rejected with a reason", "[transport][wire]") {
    const auto task = wire::encode_task(sample_task());
    const auto check = [](std::vector<char> b, const std::string& why) {
        try {
            decode_any(b);
            FAIL("a corrupt buffer was accepted (expected: " << why << ")");
        } catch (const mpi_error& e) {
            REQUIRE(e.code() == 0);
            REQUIRE_THAT(e.what(), Catch::Contains(why));
        }
    };
    {
        auto b = task;
        b[0] = 'X';
        check(b, "magic");
    }
    {
        auto b = task;
        b[4] = static_cast<char>(wire::version + 1);
        check(b,
              "protocol version " + std::to_string(wire::version + 1) + " but this build speaks version " + std::to_string(wire::version));
    }
    {
        auto b = task;
        b[6] = 9;
        check(b, "unknown kind 9");
    }
    {
        auto b = task;
        b.push_back('\0');  // one byte more than the header announces
        check(b, "announces");
    }
    {
        auto b = task;  // a trailing byte that the header does announce
        b.push_back('\0');
        put_u32(b, 16, static_cast<std::uint32_t>(b.size() - wire::header_bytes));
        check(b, "unread bytes");
    }
    {
        auto b = task;  // the point claims far more coordinates than there are bytes
        put_u32(b, wire::header_bytes, 0x10000000u);
        check(b, "items but only");
    }
    {
        auto b = task;  // the spec's length runs past the end
        put_u32(b, wire::header_bytes + 4 + 5 * 8, 0xffffffffu);
        check(b, "spec claims 4294967295 bytes");
    }
    {
        auto b = task;  // the task kind byte, after the point and the spec
        b[wire::header_bytes + 4 + 5 * 8 + 4 + sample_task().spec.size()] = 2;
        check(b, "unknown kind 2");
    }
    {
        auto r = wire::encode_result(5, sample_result());
        r[wire::header_bytes] = 8;  // status byte: 6 diverged and 7 stopped are statuses
        check(r, "unknown status 8");
    }
    {
        auto r = wire::encode_result(5, sample_result());
        r.back() = 2;  // the recalibrated flag
        check(r, "not 0 or 1");
    }
    {
        auto s = wire::encode_control(wire::kind::stop);
        s[8] = 1;  // a job id on a stop
        check(s, "carries a job id");
    }
    {
        auto s = wire::encode_control(wire::kind::bye);  // a payload on a bye
        s.push_back('x');
        put_u32(s, 16, 1);
        check(s, "header-only");
    }
    // the right bytes decoded as the wrong kind
    const auto hello = wire::encode_hello(sample_hello());
    REQUIRE_THROWS_WITH(wire::decode_task(hello.data(), hello.size()), Catch::Contains("expected a task message but got a hello message"));
    REQUIRE_THROWS_WITH(wire::decode_result(task.data(), task.size()), Catch::Contains("expected a result"));
    REQUIRE_THROWS_WITH(wire::decode_hello(task.data(), task.size()), Catch::Contains("expected a hello"));
}

TEST_CASE("wire: a training's result crosses with its status, diverged and stopped included", "[transport][wire]") {
    for (const auto status : {eval::outcome_status::ok, eval::outcome_status::diverged, eval::outcome_status::stopped}) {
        wire::result_msg m;
        m.out.status = status;
        m.out.message = status == eval::outcome_status::ok ? "" : "the loss became NaN at step 17.";
        m.out.val_loss = 3.25;
        m.out.val_perplexity = std::exp(3.25);
        m.out.value = m.out.val_perplexity;
        m.out.tokens_trained = 2500000;
        m.out.tokens_per_second = 612345.5;
        m.started = 1.0;
        m.ended = 31.0;
        const auto b = wire::encode_result(9, m);
        const auto d = wire::decode_result(b.data(), b.size());
        require_same(d.out, m.out);
        REQUIRE(wire::decode_header(b.data(), b.size()).job == 9);
    }
}
