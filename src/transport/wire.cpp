// The master/worker messages as bytes: every field written little-endian one byte at a time
// (no struct is ever copied raw, so the format does not depend on the host's layout), and read
// back with a bounds check before every field. It moves no bytes between processes: the MPI
// adapter does. The format is described field by field in docs/protocol.md.
#include "fracnas/transport/wire.hpp"

#include <cstring>
#include <limits>

#include "fracnas/error.hpp"

namespace fracnas::transport::wire {

namespace {

constexpr std::uint32_t max_u32 = std::numeric_limits<std::uint32_t>::max();

[[noreturn]] void malformed(const std::string& what) {
    throw mpi_error(0, what);
}

const char* kind_name(kind k) {
    switch (k) {
        case kind::hello:
            return "hello";
        case kind::task:
            return "task";
        case kind::result:
            return "result";
        case kind::stop:
            return "stop";
        case kind::bye:
            return "bye";
    }
    return "unknown";
}

// ---- writing

class writer {
public:
    writer(kind k, std::uint64_t job) : what_(k), job_(job) { buf_.resize(header_bytes); }

    void u8(std::uint8_t v) { buf_.push_back(static_cast<char>(v)); }
    void u16(std::uint16_t v) { put(v, 2); }
    void u32(std::uint32_t v) { put(v, 4); }
    void u64(std::uint64_t v) { put(v, 8); }
    void i32(std::int32_t v) { put(static_cast<std::uint32_t>(v), 4); }
    void f64(double v) {
        // the IEEE-754 bits as they are: NaN payloads and signed zeros survive
        std::uint64_t bits = 0;
        std::memcpy(&bits, &v, sizeof bits);
        u64(bits);
    }
    void str(const std::string& s) {
        if (s.size() > max_u32) malformed("a string of a message is too long to encode (over 4 GiB).");
        u32(static_cast<std::uint32_t>(s.size()));
        buf_.insert(buf_.end(), s.begin(), s.end());
    }

    // Writes the header in front of the payload and hands the buffer over.
    std::vector<char> finish() {
        const std::size_t payload = buf_.size() - header_bytes;
        if (payload > max_u32) malformed("a message payload is too long to encode (over 4 GiB).");
        std::size_t at = 0;
        put_at(at, magic, 4);
        put_at(at, version, 2);
        put_at(at, static_cast<std::uint16_t>(what_), 2);
        put_at(at, job_, 8);
        put_at(at, payload, 4);
        return std::move(buf_);
    }

private:
    void put(std::uint64_t v, int bytes) {
        for (int i = 0; i < bytes; ++i) buf_.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
    }
    void put_at(std::size_t& at, std::uint64_t v, int bytes) {
        for (int i = 0; i < bytes; ++i) buf_[at++] = static_cast<char>((v >> (8 * i)) & 0xffu);
    }

    kind what_;
    std::uint64_t job_;
    std::vector<char> buf_;
};

void put_outcome(writer& w, const eval::outcome& o) {
    w.u8(static_cast<std::uint8_t>(o.status));
    w.str(o.message);
    w.f64(o.value);
    w.f64(o.reference_ms);
    w.f64(o.decode_ms);
    w.f64(o.decode_iqr_ms);
    w.f64(o.prefill_ms);
    w.f64(o.prefill_iqr_ms);
    w.u32(o.repeats);
    w.u64(o.peak_memory_bytes);
    w.f64(o.wall_seconds);
    w.f64(o.val_loss);
    w.f64(o.val_perplexity);
    w.u64(o.tokens_trained);
    w.f64(o.tokens_per_second);
    w.f64(o.probe_perplexity);
    for (const auto* list : {&o.scenario_ms, &o.scenario_reference_ms}) {
        if (list->size() > max_u32) malformed("an outcome has too many scenarios to encode.");
        w.u32(static_cast<std::uint32_t>(list->size()));
        for (double v : *list) w.f64(v);
    }
}

void put_binding(writer& w, const eval::device_binding& d) {
    w.str(d.kind);
    w.i32(d.index);
    w.str(d.name);
    w.str(d.uuid);
}

// ---- reading

std::uint64_t get_le(const char* p, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    return v;
}

// Reads the payload of one message of an expected kind; every read is bounds-checked and the
// payload must be consumed exactly (done()).
class reader {
public:
    reader(const char* data, std::size_t size, kind expected) {
        const header h = decode_header(data, size);
        if (h.what != expected)
            malformed(std::string("expected a ") + kind_name(expected) + " message but got a " + kind_name(h.what) + " message.");
        job_ = h.job;
        p_ = data + header_bytes;
        left_ = h.payload;
        what_ = kind_name(expected);
    }

    std::uint64_t job() const noexcept { return job_; }
    std::uint8_t u8(const char* field) { return static_cast<std::uint8_t>(take(1, field)); }
    std::uint32_t u32(const char* field) { return static_cast<std::uint32_t>(take(4, field)); }
    std::uint64_t u64(const char* field) { return take(8, field); }
    std::int32_t i32(const char* field) {
        const auto u = static_cast<std::uint32_t>(take(4, field));
        std::int32_t v = 0;
        std::memcpy(&v, &u, sizeof v);  // two's complement, without an implementation-defined cast
        return v;
    }
    double f64(const char* field) {
        const std::uint64_t bits = take(8, field);
        double v = 0.0;
        std::memcpy(&v, &bits, sizeof v);
        return v;
    }
    std::string str(const char* field) {
        const std::uint32_t n = u32(field);
        if (n > left_)
            malformed(std::string("the ") + what_ + " message's " + field + " claims " + std::to_string(n) + " bytes but only " +
                      std::to_string(left_) + " remain.");
        std::string s(p_, n);
        p_ += n;
        left_ -= n;
        return s;
    }
    std::uint32_t count(const char* field, std::size_t item_bytes) {
        const std::uint32_t n = u32(field);
        if (static_cast<std::uint64_t>(n) * item_bytes > left_)
            malformed(std::string("the ") + what_ + " message is truncated or malformed: its " + field + " claims " + std::to_string(n) +
                      " items but only " + std::to_string(left_) + " bytes remain.");
        return n;
    }
    void done() const {
        if (left_ != 0)
            malformed(std::string("the ") + what_ + " message has " + std::to_string(left_) + " unread bytes after its last field.");
    }

private:
    std::uint64_t take(int bytes, const char* field) {
        const auto n = static_cast<std::size_t>(bytes);
        if (left_ < n) malformed(std::string("the ") + what_ + " message is truncated before its " + field + ".");
        const std::uint64_t v = get_le(p_, bytes);
        p_ += n;
        left_ -= n;
        return v;
    }

    std::uint64_t job_ = 0;
    const char* p_ = nullptr;
    std::size_t left_ = 0;
    const char* what_ = "";
};

eval::outcome get_outcome(reader& r) {
    eval::outcome o;
    const std::uint8_t status = r.u8("status");
    if (status > static_cast<std::uint8_t>(eval::outcome_status::stopped))
        malformed("an outcome carries the unknown status " + std::to_string(status) + ".");
    o.status = static_cast<eval::outcome_status>(status);
    o.message = r.str("message");
    o.value = r.f64("value");
    o.reference_ms = r.f64("reference_ms");
    o.decode_ms = r.f64("decode_ms");
    o.decode_iqr_ms = r.f64("decode_iqr_ms");
    o.prefill_ms = r.f64("prefill_ms");
    o.prefill_iqr_ms = r.f64("prefill_iqr_ms");
    o.repeats = r.u32("repeats");
    o.peak_memory_bytes = r.u64("peak_memory_bytes");
    o.wall_seconds = r.f64("wall_seconds");
    o.val_loss = r.f64("val_loss");
    o.val_perplexity = r.f64("val_perplexity");
    o.tokens_trained = r.u64("tokens_trained");
    o.tokens_per_second = r.f64("tokens_per_second");
    o.probe_perplexity = r.f64("probe_perplexity");
    for (auto* list : {&o.scenario_ms, &o.scenario_reference_ms}) {
        list->resize(r.count("scenario", 8));
        for (auto& v : *list) v = r.f64("scenario");
    }
    return o;
}

eval::device_binding get_binding(reader& r) {
    eval::device_binding d;
    d.kind = r.str("device kind");
    d.index = r.i32("device index");
    d.name = r.str("device name");
    d.uuid = r.str("device uuid");
    return d;
}

}  // namespace

std::vector<char> encode_hello(const hello_msg& m) {
    writer w(kind::hello, 0);
    w.str(m.host);
    put_binding(w, m.device);
    put_outcome(w, m.calibration);
    return w.finish();
}

std::vector<char> encode_task(const job& j) {
    writer w(kind::task, j.id);
    if (j.x.size() > max_u32) malformed("a task's point has too many coordinates to encode.");
    w.u32(static_cast<std::uint32_t>(j.x.size()));
    for (double v : j.x) w.f64(v);
    w.str(j.spec);
    w.u8(static_cast<std::uint8_t>(j.kind));
    w.u64(j.train.tokens);
    w.u64(j.train.seed);
    w.u32(j.train.rung);
    w.u64(j.train.probe_tokens);
    w.f64(j.deadline_seconds);
    return w.finish();
}

std::vector<char> encode_result(std::uint64_t job_id, const result_msg& m) {
    writer w(kind::result, job_id);
    put_outcome(w, m.out);
    w.f64(m.started);
    w.f64(m.ended);
    w.u8(m.recalibrated ? 1 : 0);
    return w.finish();
}

std::vector<char> encode_control(kind k) {
    if (k != kind::stop && k != kind::bye)
        malformed(std::string("a ") + kind_name(k) + " message has a payload; only stop and bye are header-only.");
    return writer(k, 0).finish();
}

header decode_header(const char* data, std::size_t size) {
    if (data == nullptr || size < header_bytes)
        malformed("a message of " + std::to_string(size) + " bytes is shorter than the " + std::to_string(header_bytes) + "-byte header.");
    header h;
    h.magic = static_cast<std::uint32_t>(get_le(data, 4));
    if (h.magic != magic) malformed("a message does not start with the fracnas magic number (not a fracnas message).");
    h.version = static_cast<std::uint16_t>(get_le(data + 4, 2));
    if (h.version != version)
        malformed("a message has protocol version " + std::to_string(h.version) + " but this build speaks version " +
                  std::to_string(version) + " (are all ranks the same fracnas?).");
    const auto k = static_cast<std::uint16_t>(get_le(data + 6, 2));
    if (k < static_cast<std::uint16_t>(kind::hello) || k > static_cast<std::uint16_t>(kind::bye))
        malformed("a message has the unknown kind " + std::to_string(k) + ".");
    h.what = static_cast<kind>(k);
    h.job = get_le(data + 8, 8);
    h.payload = static_cast<std::uint32_t>(get_le(data + 16, 4));
    if (static_cast<std::uint64_t>(h.payload) != size - header_bytes)
        malformed(std::string("a ") + kind_name(h.what) + " message announces " + std::to_string(h.payload) +
                  " payload bytes but carries " + std::to_string(size - header_bytes) + ".");
    if (h.job != 0 && h.what != kind::task && h.what != kind::result)
        malformed(std::string("a ") + kind_name(h.what) + " message carries a job id; only task and result do.");
    if (h.payload != 0 && (h.what == kind::stop || h.what == kind::bye))
        malformed(std::string("a ") + kind_name(h.what) + " message carries a payload; it must be header-only.");
    return h;
}

hello_msg decode_hello(const char* data, std::size_t size) {
    reader r(data, size, kind::hello);
    hello_msg m;
    m.host = r.str("host");
    m.device = get_binding(r);
    m.calibration = get_outcome(r);
    r.done();
    return m;
}

job decode_task(const char* data, std::size_t size) {
    reader r(data, size, kind::task);
    job j;
    j.id = r.job();
    const std::uint32_t dim = r.count("point", 8);
    j.x.resize(dim);
    for (auto& v : j.x) v = r.f64("point");
    j.spec = r.str("spec");
    const std::uint8_t k = r.u8("task kind");
    if (k > static_cast<std::uint8_t>(eval::task_kind::train)) malformed("a task has the unknown kind " + std::to_string(k) + ".");
    j.kind = static_cast<eval::task_kind>(k);
    j.train.tokens = r.u64("budget");
    j.train.seed = r.u64("seed");
    j.train.rung = r.u32("rung");
    j.train.probe_tokens = r.u64("probe_tokens");
    j.deadline_seconds = r.f64("deadline");
    r.done();
    return j;
}

result_msg decode_result(const char* data, std::size_t size) {
    reader r(data, size, kind::result);
    result_msg m;
    m.out = get_outcome(r);
    m.started = r.f64("started");
    m.ended = r.f64("ended");
    const std::uint8_t recal = r.u8("recalibrated");
    if (recal > 1) malformed("a result's recalibrated flag is " + std::to_string(recal) + ", not 0 or 1.");
    m.recalibrated = recal == 1;
    r.done();
    return m;
}

}  // namespace fracnas::transport::wire
