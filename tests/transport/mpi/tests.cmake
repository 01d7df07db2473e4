# The MPI adapter's tests: one executable with its own main (MPI through fracnas::mpi::environment;
# every rank exits with the worst rank's code), each test case run as its own ctest entry under
# mpiexec with a master and two workers. Included by tests/CMakeLists.txt when fracnas_mpi exists.
file(GLOB FRACNAS_MPI_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
add_executable(fracnas_mpi_tests ${FRACNAS_MPI_TEST_SOURCES})
target_link_libraries(fracnas_mpi_tests PRIVATE fracnas_mpi fracnas_app Catch2::Catch2 fracnas_warnings MPI::MPI_CXX)

# Three ranks on whatever cores there are (CI has two): Open MPI needs --oversubscribe for that
# (FindMPI does not always fill in the library version string, so ask mpiexec itself).
set(_fracnas_mpi_flags ${MPIEXEC_NUMPROC_FLAG} 3)
execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE _fracnas_mpiexec_version ERROR_QUIET)
if(MPI_CXX_LIBRARY_VERSION_STRING MATCHES "Open MPI" OR _fracnas_mpiexec_version MATCHES "Open MPI|OpenRTE")
  list(APPEND _fracnas_mpi_flags --oversubscribe)
endif()

# One entry per TEST_CASE, found by its second tag ("[mpi][hang]" -> "mpi: hang").
file(GLOB _fracnas_mpi_cases CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.tests.cpp)
foreach(_file IN LISTS _fracnas_mpi_cases)
  file(STRINGS ${_file} _lines REGEX "\"\\[mpi\\]\\[[a-z_]+\\]\"")
  foreach(_line IN LISTS _lines)
    string(REGEX MATCH "\\[mpi\\]\\[([a-z_]+)\\]" _ ${_line})
    set(_tag ${CMAKE_MATCH_1})
    add_test(NAME "mpi: ${_tag}"
      COMMAND ${MPIEXEC_EXECUTABLE} ${_fracnas_mpi_flags} ${MPIEXEC_PREFLAGS}
              $<TARGET_FILE:fracnas_mpi_tests> "[${_tag}]" ${MPIEXEC_POSTFLAGS})
    set_tests_properties("mpi: ${_tag}" PROPERTIES
      TIMEOUT 60
      LABELS mpi
      ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
  endforeach()
endforeach()

# An exception that unwinds past mpi::environment on the master while a worker waits for it: the
# job must end (no MPI_Finalize during the unwinding), fail, and keep rank 0's sentence.
add_executable(fracnas_mpi_unwind_probe ${CMAKE_CURRENT_LIST_DIR}/unwind/unwind_probe.cpp)
target_link_libraries(fracnas_mpi_unwind_probe PRIVATE fracnas_mpi fracnas_warnings MPI::MPI_CXX)
string(REPLACE "${MPIEXEC_NUMPROC_FLAG};3" "" _fracnas_mpi_extra "${_fracnas_mpi_flags}")
add_test(NAME "mpi: an exception unwinding on the master ends the job instead of hanging in MPI_Finalize"
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/unwind/unwind_test.sh ${MPIEXEC_EXECUTABLE} $<TARGET_FILE:fracnas_mpi_unwind_probe>
          ${_fracnas_mpi_extra} ${MPIEXEC_PREFLAGS})
set_tests_properties("mpi: an exception unwinding on the master ends the job instead of hanging in MPI_Finalize" PROPERTIES
  TIMEOUT 60
  LABELS mpi
  ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
