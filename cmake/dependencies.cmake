# Finds the external stack. cmake/dev.sh installs all of it on a fresh Debian machine
# (apt packages + the PyPI torch wheel, whose CMake package it puts on CMAKE_PREFIX_PATH).
find_package(Boost 1.71 REQUIRED COMPONENTS program_options)
if(FRACNAS_BUILD_TESTS)
  # Catch2 major version 2: a v3 found first would not provide catch.hpp.
  find_package(Catch2 2 REQUIRED)
endif()
if(FRACNAS_WITH_MPI)
  find_package(MPI REQUIRED COMPONENTS CXX)
  message(STATUS "fracnas: MPI ${MPI_CXX_VERSION} (${MPI_CXX_LIBRARY_VERSION_STRING})")
endif()
if(FRACNAS_WITH_HDF5)
  find_package(HDF5 REQUIRED COMPONENTS C)
  message(STATUS "fracnas: HDF5 ${HDF5_VERSION}")
endif()
if(FRACNAS_WITH_TORCH)
  # The Python that carries torch (cmake/dev.sh passes its venv's): it locates LibTorch and runs
  # the Hugging Face reference of the model tests.
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  if(NOT Torch_DIR AND NOT DEFINED ENV{Torch_DIR})
    # LibTorch ships inside the Python torch wheel; ask it where its CMake package is.
    if(Python3_Interpreter_FOUND)
      execute_process(
        COMMAND ${Python3_EXECUTABLE} -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
        OUTPUT_VARIABLE _torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(_torch_prefix)
        list(APPEND CMAKE_PREFIX_PATH ${_torch_prefix})
      endif()
    endif()
  endif()
  find_package(Torch QUIET)
  if(NOT Torch_FOUND)
    message(FATAL_ERROR "fracnas: LibTorch was not found: the Python ${Python3_EXECUTABLE} has no torch. "
                        "Pass -DPython3_EXECUTABLE=<a Python with torch==2.11.0> (a virtual environment or the "
                        "cluster's PyTorch module), or -DTorch_DIR=<LibTorch>/share/cmake/Torch, or build without "
                        "it: -DFRACNAS_WITH_TORCH=OFF.")
  endif()
  message(STATUS "fracnas: LibTorch ${Torch_VERSION} (${TORCH_INSTALL_PREFIX})")
endif()
