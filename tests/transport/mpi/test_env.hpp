// The MPI environment the test main set up, for the test cases (there is one per process).
// Nothing else: the cases decide who is master and who serves.
#pragma once

#include "fracnas/mpi/mpi_dispatcher.hpp"

namespace fracnas::mpi::testing {

/// The environment main() created; valid for the whole Catch2 session.
const environment& test_env();

}  // namespace fracnas::mpi::testing
