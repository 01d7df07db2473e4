#!/usr/bin/env bash
# One entry point for a fresh Debian machine: installs what is missing, builds, runs or tests.
#   cmake/dev.sh run [fracnas arguments]   install deps, build, run `fracnas` (default: a search under mpirun)
#   cmake/dev.sh test                      install deps, build with -Werror, run every test (ctest)
#   cmake/dev.sh plot ARCHIVE... [--out D]  install deps, draw the archives' PNG plots (src/python/fracnas_plots)
#   cmake/dev.sh corpus [--out D] [...]    install deps and D's six Debian packages, prepare the training
#                                          corpus into data/corpus-v<recipe> (docs/data.md); skipped when up to date
#   cmake/dev.sh corpus --large [...]      the same for D-large (its packages: corpora.py) into data/corpus-large-v<recipe>
#   cmake/dev.sh deps | build              just that step
# Idempotent: each step checks before it installs. It does not touch anything outside the
# Debian package set, a Python virtual environment and staged corpus packages in the user cache,
# build/ and data/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
torch_version=2.11.0   # the GPU image's LibTorch; the PyPI wheel carries the C++ library
transformers_version=5.24.0  # the independent GPT-2 reference of the model tests
h5py_version=3.16.0    # reads archives independently of fracnas (tests, docs/archive.md); wheels carry their HDF5
pandas_version=3.0.6    # the plots package (src/python/fracnas_plots)
matplotlib_version=3.11.2
sentencepiece_version=0.2.3  # the corpus's tokenizer (src/python/fracnas_corpus): the token files depend on it
venv=${FRACNAS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/fracnas/torch-$torch_version}
staged=${FRACNAS_STAGED_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/fracnas/debian-staged}  # corpus packages apt cannot install here
build=${FRACNAS_BUILD_DIR:-$root/build}
apt_packages=(cmake g++ ninja-build libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools
              libboost-program-options-dev catch2 procps   # procps: pkill, in the launch scripts' test
              clang-format git                             # the tests' style check (tests/format_test.sh)
              slurm-wlm munge)                             # a private one-node Slurm (tests/launch/slurm_test.sh); its
                                                           # pmix plugin, for srun --mpi=pmix, is in slurm-wlm-basic-plugins
# the training corpus D (docs/data.md), in its order; `cmake/dev.sh corpus` installs them
corpus_packages=(r-cran-janeaustenr sword-text-web linux-doc-6.1 python3.11-doc perl-doc postgresql-doc-15)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install_missing() {  # the Debian packages given, those not installed yet
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "dev.sh: installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    # --no-remove: apt stops rather than remove a package of the machine to make room
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-remove --no-install-recommends "${missing[@]}"
  fi
}

# The corpus's packages: those not installed yet with apt; a package that apt cannot install beside
# what the machine has (NodeSource's nodejs conflicts with Debian's nodejs-doc) is staged instead:
# its .deb (the version apt would install) is downloaded and unpacked under $staged, with a dpkg
# database of its own there (status and file list), and the corpus reads its files from there
# (prepare --staged-root). Nothing installed on the machine changes for it.
corpus_install() {
  local missing=() installable=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "dev.sh: installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  # --no-remove: never remove a package of the machine (apt would remove NodeSource's nodejs for nodejs-doc)
  if DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-remove --no-install-recommends "${missing[@]}"; then return 0; fi
  local stage=()
  for p in "${missing[@]}"; do
    if apt-get install -s -qq --no-remove --no-install-recommends "$p" >/dev/null 2>&1; then installable+=("$p"); else stage+=("$p"); fi
  done
  if [ ${#installable[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-remove --no-install-recommends "${installable[@]}"
  fi
  for p in "${stage[@]}"; do stage_package "$p"; done
}

stage_package() {  # PACKAGE: its candidate .deb unpacked under $staged, registered in $staged/var/lib/dpkg
  local p=$1 deb tmp
  mkdir -p "$staged/debs" "$staged/var/lib/dpkg/info"
  if dpkg-query --admindir="$staged/var/lib/dpkg" -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then return 0; fi
  echo "dev.sh: $p cannot be installed beside this machine's packages; staging it under $staged"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq "$p" 2>/dev/null) || { rm -rf "$tmp"; echo "dev.sh: error: cannot download $p with apt-get" >&2; exit 2; }
  deb=$(ls "$tmp"/*.deb) && mv "$deb" "$staged/debs/" && rm -rf "$tmp"
  deb="$staged/debs/$(basename "$deb")"
  dpkg-deb -x "$deb" "$staged"
  dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -e 's|^\./|/|' -e 's|/$||' -e 's|^$|/.|' > "$staged/var/lib/dpkg/info/$p.list"
  { dpkg-deb -f "$deb" | sed '1a Status: install ok installed'; echo; } >> "$staged/var/lib/dpkg/status"
}

deps() {
  local extra=()
  command -v python3 >/dev/null || extra+=(python3)
  python3 -m venv --help >/dev/null 2>&1 || extra+=(python3-venv)
  apt_install_missing "${apt_packages[@]}" "${extra[@]}"
  if ! "$venv/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$torch_version')" 2>/dev/null; then
    echo "dev.sh: installing torch==$torch_version (LibTorch) into $venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q "torch==$torch_version"
  fi
  if ! "$venv/bin/python" -c "import transformers, sys; sys.exit(transformers.__version__ != '$transformers_version')" 2>/dev/null; then
    echo "dev.sh: installing transformers==$transformers_version into $venv"
    "$venv/bin/python" -m pip install -q "transformers==$transformers_version"
  fi
  if ! "$venv/bin/python" -c "import h5py, sys; sys.exit(h5py.__version__ != '$h5py_version')" 2>/dev/null; then
    echo "dev.sh: installing h5py==$h5py_version into $venv"
    "$venv/bin/python" -m pip install -q "h5py==$h5py_version"
  fi
  if ! "$venv/bin/python" -c "import pandas, matplotlib, sys; sys.exit(pandas.__version__ != '$pandas_version' or matplotlib.__version__ != '$matplotlib_version')" 2>/dev/null; then
    echo "dev.sh: installing pandas==$pandas_version and matplotlib==$matplotlib_version into $venv"
    "$venv/bin/python" -m pip install -q "pandas==$pandas_version" "matplotlib==$matplotlib_version"
  fi
  if ! "$venv/bin/python" -c "import sentencepiece, sys; sys.exit(sentencepiece.__version__ != '$sentencepiece_version')" 2>/dev/null; then
    echo "dev.sh: installing sentencepiece==$sentencepiece_version into $venv"
    "$venv/bin/python" -m pip install -q "sentencepiece==$sentencepiece_version"
  fi
}

# Prepares D (or with --large D-large) from the installed packages (python -m fracnas_corpus
# prepare): the tokenizer, train.tokens, val.tokens and manifest.json in data/corpus-v<recipe>
# (data/corpus-large-v<recipe>) or --out; any other argument goes to prepare (--vocab-size,
# --validation-share, --force, --jobs). Skipped when the folder's manifest matches the installed
# packages, the options and its files. D-large's package list is its definition's
# (src/python/fracnas_corpus/corpora.py); it is cleaned and encoded with one job per core.
corpus() {
  local out="" args=() key=d folder packages
  while [ $# -gt 0 ]; do
    case "$1" in
      --out) out=${2:?--out needs a folder}; shift 2 ;;
      --out=*) out=${1#--out=}; shift ;;
      --large) key=large; shift ;;
      *) args+=("$1"); shift ;;
    esac
  done
  if [ "$key" = d ]; then
    corpus_install "${corpus_packages[@]}"
  else
    read -r -a packages < <(PYTHONPATH="$root/src/python" "$venv/bin/python" -c \
      'from fracnas_corpus.corpora import LARGE; print(" ".join(LARGE.sources))')
    corpus_install "${packages[@]}"
    args=(--jobs "$(nproc)" "${args[@]}")
  fi
  folder=$(PYTHONPATH="$root/src/python" "$venv/bin/python" -c \
    "from fracnas_corpus.corpora import CORPORA; print(CORPORA['$key'].folder)")
  [ -d "$staged/var/lib/dpkg" ] && args=(--staged-root "$staged" "${args[@]}")
  PYTHONPATH="$root/src/python" exec "$venv/bin/python" -m fracnas_corpus prepare --corpus "$key" \
    --out "${out:-$root/data/$folder}" "${args[@]}"
}

build() {
  # Configure a new build folder, or one made with another Python or -Werror setting, only:
  # `cmake --build` re-runs CMake by itself when a CMakeLists.txt changes, and each configure
  # spends 10-30 s finding LibTorch (and prints its warnings) before anything runs.
  local torch_prefix cache="$build/CMakeCache.txt"
  if [ ! -f "$cache" ] || ! grep -q "^Python3_EXECUTABLE:[A-Z]*=$venv/bin/python\$" "$cache" ||
     ! grep -q "^FRACNAS_WERROR:[A-Z]*=${FRACNAS_WERROR:-ON}\$" "$cache"; then
    torch_prefix=$("$venv/bin/python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
          -DCMAKE_PREFIX_PATH="$torch_prefix" -DPython3_EXECUTABLE="$venv/bin/python" \
          -DFRACNAS_WERROR="${FRACNAS_WERROR:-ON}" >/dev/null
  fi
  cmake --build "$build" -j "${FRACNAS_JOBS:-2}"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  deps)  deps ;;
  build) deps; build ;;
  run)   deps; build
         if [ $# -gt 0 ]; then exec "$build/fracnas" "$@"; fi
         # The default job: a search under mpirun (a master and one worker per GPU, or one CPU
         # worker), written to runs/search-<time>.h5. Without a GPU it is shrunk to finish in about
         # three and a half minutes on two cores (206 s measured on 2026-12-03, the search 187 s, all
         # 60 candidates measured by the space-aware tree): the homogeneous space up to 12 layers,
         # decode at a 127-token context, 60 candidates.
         if [ "$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)" -gt 0 ]; then
           default=(--budget 300 --space homogeneous)
         else
           default=(--budget 60 --space homogeneous --max-layers 12 --context 127 --warmup 1 --repeats 5)
         fi
         FRACNAS="$build/fracnas" exec "$root/mpi_launch/search_local.sh" "${default[@]}" ;;
  plot)  deps; PYTHONPATH="$root/src/python" exec "$venv/bin/python" -m fracnas_plots "$@" ;;
  corpus) deps; corpus "$@" ;;
  test)  deps; build; ctest --test-dir "$build" --output-on-failure -j "${FRACNAS_JOBS:-2}" ;;
  *) echo "usage: cmake/dev.sh run [fracnas arguments] | test | plot ARCHIVE... | corpus [--large] [--out DIR] | deps | build" >&2; exit 2 ;;
esac
