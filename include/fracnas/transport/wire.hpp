// The messages between the master and its workers, as bytes: a fixed header (magic, protocol
// version, kind, job id, payload size) and a little-endian payload (docs/protocol.md). Encoding
// and decoding are standard C++, so that the protocol is tested without MPI; the MPI adapter only
// moves these buffers. Decoding checks everything and throws mpi_error(0) on a bad message.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fracnas/transport/dispatcher.hpp"

namespace fracnas::transport::wire {

inline constexpr std::uint32_t magic = 0x464e4153;  // "FNAS"
// 2: task kinds (timing or training), training outcomes, every status; 3: trend probes; 4: scenario latencies
inline constexpr std::uint16_t version = 4;

/// Message kinds; each is also the MPI tag it travels under.
enum class kind : std::uint16_t {
    hello = 1,   ///< worker -> master, once: binding and first reference timing (or why it cannot work)
    task = 2,    ///< master -> worker: one job
    result = 3,  ///< worker -> master: one job's outcome, with start/end times and recalibration
    stop = 4,    ///< master -> worker: finish, reply bye, exit
    bye = 5,     ///< worker -> master: stopped
};

struct header {
    std::uint32_t magic = wire::magic;
    std::uint16_t version = wire::version;
    kind what = kind::hello;
    std::uint64_t job = 0;      ///< task/result: the job id
    std::uint32_t payload = 0;  ///< bytes after the header
};
inline constexpr std::size_t header_bytes = 4 + 2 + 2 + 8 + 4;

struct hello_msg {
    std::string host;
    eval::device_binding device;
    eval::outcome calibration;  ///< ok with reference_ms, or the reason the worker cannot start
};
struct result_msg {
    eval::outcome out;
    double started = 0.0, ended = 0.0;  ///< worker clock, seconds since its own start
    bool recalibrated = false;          ///< out.reference_ms is a new timing
};

std::vector<char> encode_hello(const hello_msg& m);
std::vector<char> encode_task(const job& j);
std::vector<char> encode_result(std::uint64_t job_id, const result_msg& m);
std::vector<char> encode_control(kind k);  ///< stop or bye: header only

/// Reads and checks the header of a message of `size` bytes.
header decode_header(const char* data, std::size_t size);
hello_msg decode_hello(const char* data, std::size_t size);
job decode_task(const char* data, std::size_t size);
result_msg decode_result(const char* data, std::size_t size);

}  // namespace fracnas::transport::wire
