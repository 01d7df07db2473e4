// Rank 0's text to every rank (the master sends the effective configuration, which may come from
// a resumed archive only it reads). Two broadcasts: the size, then the bytes.
#include <string>
#include <vector>

#include "fracnas/mpi/mpi_dispatcher.hpp"
#include "mpi_check.hpp"

namespace fracnas::mpi {

std::string environment::broadcast_text(const std::string& text) const {
    unsigned long long size = text.size();
    FRACNAS_MPI_CHECK(MPI_Bcast(&size, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD));
    std::vector<char> bytes(text.begin(), text.end());
    bytes.resize(static_cast<std::size_t>(size));
    if (size > 0) FRACNAS_MPI_CHECK(MPI_Bcast(bytes.data(), static_cast<int>(size), MPI_CHAR, 0, MPI_COMM_WORLD));
    return std::string(bytes.begin(), bytes.end());
}

}  // namespace fracnas::mpi
