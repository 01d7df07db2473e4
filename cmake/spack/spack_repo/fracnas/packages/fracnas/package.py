# Spack recipe for fracnas, in Spack 1.x's package-repository layout (spack_repo/<namespace>/,
# repository API v2.0). It has not been run with Spack here; checked by tests/package: it compiles
# and sets only CMake options the project has.
#   spack repo add <fracnas clone>/cmake/spack/spack_repo/fracnas
#   spack install fracnas@main +torch +mpi +hdf5 +plots      (set `git` below to your clone's URL first)
# The variants torch, mpi and hdf5 map one to one onto fracnas's CMake options (FRACNAS_WITH_TORCH,
# _MPI, _HDF5); tests and benchmarks are not built in a Spack install.

from spack_repo.builtin.build_systems.cmake import CMakePackage

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

    variant("torch", default=True, description="LibTorch evaluator and trainer (GPU workers)")
    variant("mpi", default=True, description="MPI master and workers")
    variant("hdf5", default=True, description="HDF5 run archive, resume and fracnas analyze")
    variant("plots", default=True, description="the Python plots of archives (fracnas_plots: h5py, pandas, matplotlib)")

    depends_on("cxx", type="build")
    depends_on("c", type="build")
    depends_on("cmake@3.22:", type="build")
    depends_on("boost@1.74:+program_options")  # 1.74 is Debian 12's, the one tested
    depends_on("mpi", when="+mpi")
    depends_on("hdf5@1.10:~mpi", when="+hdf5")
    # its LibTorch (TorchConfig.cmake) is what fracnas links; 2.11.0 is the version tested (the
    # GPU image's), in spack-packages since 2026
    depends_on("py-torch@2.11", when="+torch")
    # CMake asks this Python where LibTorch is; the plots run with it
    depends_on("python@3.10:", type=("build", "run"), when="+torch")
    depends_on("python@3.10:", type="run", when="+plots")
    depends_on("py-h5py@3.16:", type="run", when="+plots")
    depends_on("py-pandas@3:", type="run", when="+plots")
    depends_on("py-matplotlib@3.11:", type="run", when="+plots")

    def cmake_args(self):
        args = [
            self.define_from_variant("FRACNAS_WITH_TORCH", "torch"),
            self.define_from_variant("FRACNAS_WITH_MPI", "mpi"),
            self.define_from_variant("FRACNAS_WITH_HDF5", "hdf5"),
            self.define("FRACNAS_BUILD_TESTS", False),
            self.define("FRACNAS_BUILD_BENCHMARKS", False),
        ]
        if self.spec.satisfies("+torch"):
            # py-torch's cmake_prefix_paths (its TorchConfig.cmake) also reach CMAKE_PREFIX_PATH
            # through Spack's CMake build environment
            args.append(self.define("Python3_EXECUTABLE", self.spec["python"].command.path))
        return args
