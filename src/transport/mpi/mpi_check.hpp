// Private to the MPI adapter: the checking macro every MPI call goes through, the probe-based
// receive of one wire message, and the spin-then-sleep backoff both sides poll with.
// It is not installed and no public header includes it (it includes mpi.h).
#pragma once

// The C API only: no deprecated C++ bindings (their headers warn, and they need libmpi_cxx).
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <chrono>
#include <string>
#include <vector>

#include "fracnas/transport/wire.hpp"

namespace fracnas::mpi::detail {

/// Throws mpi_error(code) naming the MPI function of `call`, the file and line, and
/// MPI_Error_string(code).
[[noreturn]] void throw_mpi(int code, const char* call, const char* file, int line);

inline void check(int code, const char* call, const char* file, int line) {
    if (code != MPI_SUCCESS) throw_mpi(code, call, file, line);
}

/// This process's MPI_Get_processor_name.
std::string processor_name();

/// One message taken off the wire: who sent it, its checked header; the bytes are in the buffer
/// passed to try_receive.
struct incoming {
    int source = -1;
    transport::wire::header head;
};

/// Takes one message from `source` (or MPI_ANY_SOURCE) if one has arrived: MPI_Improbe for its
/// size, MPI_Mrecv into buf (grown as needed, never shrunk), then the header is checked and
/// must match the tag. Returns false at once when nothing is there. Throws mpi_error.
bool try_receive(int source, std::vector<char>& buf, incoming& in);

/// A blocking send of one encoded message under its kind's tag (a worker's side only).
void send_blocking(int dest, const std::vector<char>& msg, transport::wire::kind k);

/// Spin, then sleep: pause() after a poll that found nothing busy-returns for the first
/// spin_seconds, then sleeps for a pause that doubles from first_sleep up to max_sleep, never
/// past `limit`. reset() after a poll that found something.
class backoff {
public:
    using clock = std::chrono::steady_clock;
    backoff(double spin_seconds, double first_sleep_seconds, double max_sleep_seconds);
    void pause(clock::time_point limit);
    void reset();

private:
    clock::duration spin_, first_, max_, sleep_;
    clock::time_point idle_since_{};
    bool idle_ = false;
};

}  // namespace fracnas::mpi::detail

/// Runs an MPI call and throws mpi_error naming it, with this file and line, when it fails.
#define FRACNAS_MPI_CHECK(call) ::fracnas::mpi::detail::check((call), #call, __FILE__, __LINE__)
