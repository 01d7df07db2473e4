// Moving one wire message in or out over MPI_COMM_WORLD (its kind is its tag; its size comes
// from a matched probe), and the spin-then-sleep backoff that keeps pollers off the CPU.
// It interprets no payload and keeps no state between messages: the master and worker do.
#include <algorithm>
#include <limits>
#include <thread>

#include "fracnas/error.hpp"
#include "mpi_check.hpp"

namespace fracnas::mpi::detail {

namespace wire = transport::wire;

bool try_receive(int source, std::vector<char>& buf, incoming& in) {
    int flag = 0;
    MPI_Message msg = MPI_MESSAGE_NULL;
    MPI_Status status;
    FRACNAS_MPI_CHECK(MPI_Improbe(source, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &msg, &status));
    if (!flag) return false;
    int count = 0;
    FRACNAS_MPI_CHECK(MPI_Get_count(&status, MPI_BYTE, &count));
    if (count < 0) count = 0;
    const auto size = static_cast<std::size_t>(count);
    if (buf.size() < size) buf.resize(size);
    // a matched receive: no other probe can take this message between the probe and here
    FRACNAS_MPI_CHECK(MPI_Mrecv(buf.data(), count, MPI_BYTE, &msg, MPI_STATUS_IGNORE));
    in.source = status.MPI_SOURCE;
    in.head = wire::decode_header(buf.data(), size);
    if (status.MPI_TAG != static_cast<int>(in.head.what))
        throw mpi_error(0, "rank " + std::to_string(in.source) + " sent a message under tag " + std::to_string(status.MPI_TAG) +
                               " whose header says kind " + std::to_string(static_cast<int>(in.head.what)) + ".");
    return true;
}

void send_blocking(int dest, const std::vector<char>& msg, wire::kind k) {
    if (msg.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw mpi_error(0, "a message of " + std::to_string(msg.size()) + " bytes is too large for one MPI send.");
    FRACNAS_MPI_CHECK(MPI_Send(msg.data(), static_cast<int>(msg.size()), MPI_BYTE, dest, static_cast<int>(k), MPI_COMM_WORLD));
}

namespace {
backoff::clock::duration to_duration(double seconds) {
    return std::chrono::duration_cast<backoff::clock::duration>(std::chrono::duration<double>(seconds));
}
}  // namespace

backoff::backoff(double spin_seconds, double first_sleep_seconds, double max_sleep_seconds)
    : spin_(to_duration(spin_seconds)), first_(to_duration(first_sleep_seconds)), max_(to_duration(max_sleep_seconds)), sleep_(first_) {}

void backoff::reset() {
    idle_ = false;
}

void backoff::pause(clock::time_point limit) {
    const auto now = clock::now();
    if (!idle_) {
        idle_ = true;
        idle_since_ = now;
        sleep_ = first_;
    }
    if (now - idle_since_ < spin_ || now >= limit) return;  // still spinning: poll again at once
    const auto nap = std::min(sleep_, limit - now);
    std::this_thread::sleep_for(nap);
    sleep_ = std::min(sleep_ * 2, max_);
}

}  // namespace fracnas::mpi::detail
