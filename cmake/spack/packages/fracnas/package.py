# Spack recipe for fracnas. This folder is a Spack repository:
#   spack repo add <fracnas clone>/cmake/spack
#   spack install fracnas@main +torch +mpi +hdf5      (set `git` below to your clone's URL first)
# The variants map one to one onto fracnas's CMake options (FRACNAS_WITH_TORCH, _MPI, _HDF5);
# tests and benchmarks are not built in a Spack install.

from spack.package import *


class Fracnas(CMakePackage):
    """Hardware-aware neural architecture search of GPT-like decoders with fractal
    decomposition: an MPI master owns the fractal tree, GPU workers time candidates with
    LibTorch, one HDF5 archive per run."""

    homepage = "https://example.org/fracnas"  # replace with the project's page
    git = "https://example.org/fracnas.git"    # replace with your clone's URL

    maintainers("fracnas")
    license("UNKNOWN")

    version("main", branch="main")

    variant("torch", default=True, description="LibTorch evaluator (GPU workers)")
    variant("mpi", default=True, description="MPI master and workers")
    variant("hdf5", default=True, description="HDF5 run archive, resume and fracnas analyze")

    depends_on("cxx", type="build")
    depends_on("c", type="build")
    depends_on("cmake@3.22:", type="build")
    depends_on("boost+program_options")
    depends_on("mpi", when="+mpi")
    depends_on("hdf5@1.10:~mpi", when="+hdf5")
    depends_on("py-torch@2.11", when="+torch")  # its LibTorch (TorchConfig.cmake) is what fracnas links
    depends_on("python", type=("build", "run"))

    def cmake_args(self):
        args = [
            self.define_from_variant("FRACNAS_WITH_TORCH", "torch"),
            self.define_from_variant("FRACNAS_WITH_MPI", "mpi"),
            self.define_from_variant("FRACNAS_WITH_HDF5", "hdf5"),
            self.define("FRACNAS_BUILD_TESTS", False),
            self.define("FRACNAS_BUILD_BENCHMARKS", False),
            self.define("Python3_EXECUTABLE", self.spec["python"].command.path),
        ]
        # py-torch's cmake_prefix_paths (its TorchConfig.cmake) reach CMAKE_PREFIX_PATH through
        # Spack's CMake build environment
        return args
