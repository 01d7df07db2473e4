#!/usr/bin/env bash
# Installs the build into a temporary prefix (cmake --install), then configures and builds a
# program outside the tree against it (find_package(fracnas)) and runs it; checks the installed
# CLI runs and the scripts and plotting package are in share/fracnas.
#   tests/package/package_test.sh BUILD_DIR CXX_COMPILER
set -eu
build=$1
cxx=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
test -f "$tmp/prefix/lib/cmake/fracnas/fracnasConfig.cmake" || { echo "FAIL no fracnasConfig.cmake"; exit 1; }
for f in bin/fracnas include/fracnas/core/optimizer.hpp share/fracnas/slurm/one_node.sbatch \
         share/fracnas/mpi_launch/search_local.sh share/fracnas/python/fracnas_plots/plots.py; do
  test -e "$tmp/prefix/$f" || { echo "FAIL not installed: $f"; exit 1; }
done
"$tmp/prefix/bin/fracnas" --version | grep -q '^fracnas 0\.' || { echo "FAIL the installed fracnas does not run"; exit 1; }
cmake -S "$here/consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_BUILD_TYPE=Release > "$tmp/configure.log" || { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/consumer" > "$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
out=$("$tmp/consumer/consumer")
echo "$out"
echo "$out" | grep -q '^evaluations 300 best ' || { echo "FAIL the consumer's optimizer did not run its budget"; exit 1; }
echo "$out" | grep -q '^gpt2-small decoder parameters 85056000$' || { echo "FAIL the consumer's count"; exit 1; }
# the Spack recipe is Python that compiles, in Spack 1.x's repository layout, and sets only options the project has
root=$(cd "$here/../.." && pwd)
recipe="$root/cmake/spack/spack_repo/fracnas/packages/fracnas/package.py"
python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' "$recipe" || { echo "FAIL the Spack recipe is not valid Python"; exit 1; }
grep -q '^  namespace: fracnas$' "$root/cmake/spack/spack_repo/fracnas/repo.yaml" || { echo "FAIL the Spack repository's namespace is not its folder's"; exit 1; }
for opt in $(grep -o 'FRACNAS_[A-Z0-9_]*' "$recipe" | sort -u); do
  grep -q "option($opt " "$root/CMakeLists.txt" || { echo "FAIL the Spack recipe sets $opt, which CMakeLists.txt does not define"; exit 1; }
done
echo "package test passed"
