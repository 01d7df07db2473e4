// A job whose master fails while its worker waits for it: rank 0 throws with the environment alive,
// rank 1 waits in a broadcast that never comes. The environment must not call MPI_Finalize while
// that exception unwinds (it would wait for rank 1, which waits for rank 0: the job would hang);
// rank 0 exits 3 after printing the error, and the launcher ends rank 1. unwind_test.sh runs it.
#define OMPI_SKIP_MPICXX 1  // the C API only
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <iostream>
#include <stdexcept>

#include "fracnas/mpi/mpi_dispatcher.hpp"

int main(int argc, char** argv) {
    try {
        fracnas::mpi::environment env(argc, argv);
        if (env.rank() != 0) {
            int value = 0;
            MPI_Bcast(&value, 1, MPI_INT, 0, MPI_COMM_WORLD);  // rank 0 never gets there
            return 0;
        }
        throw std::runtime_error("the master failed while a worker waited for it");
    } catch (const std::exception& e) {
        std::cerr << "unwind_probe: rank 0: " << e.what() << std::endl;
        return 3;
    }
}
