// The MPI tests' main: initialises MPI through fracnas::mpi::environment, runs the Catch2
// session on every rank (rank 0 asserts as the master, the others serve), and makes every rank
// exit with the worst rank's code. It runs no test itself.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#define OMPI_SKIP_MPICXX 1  // the C API only
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <exception>
#include <iostream>

#include "test_env.hpp"

namespace {
const fracnas::mpi::environment* current = nullptr;
}

const fracnas::mpi::environment& fracnas::mpi::testing::test_env() {
    return *current;
}

int main(int argc, char** argv) {
    try {
        fracnas::mpi::environment env(argc, argv);
        current = &env;
        int code = 1;
        try {
            Catch::Session session;
            code = session.run(argc, argv);
        } catch (const std::exception& e) {
            std::cerr << "rank " << env.rank() << ": " << e.what() << "\n";
            env.abort(1);  // the other ranks would wait in the reduction below forever
        }
        int worst = code;
        MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        current = nullptr;
        return worst;
    } catch (const std::exception& e) {
        std::cerr << "fracnas_mpi_tests: " << e.what() << "\n";
        return 1;
    }
}
