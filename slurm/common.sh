# What every sbatch script of slurm/ does before its srun, sourced after its "change these" block:
# the site's setup (SETUP: `module load ...`), the folder of the archives, the checks that would
# otherwise fail in every rank (no fracnas, no MPI plugin), and the `fracnas search` arguments of a
# new or a resumed run. It reads the script's variables and sets the arrays `run` and `srun_flags`;
# it chooses no layout and starts nothing.

# fracnas_prepare NAME: NAME is the script's, for its messages; exits 2 with one sentence on bad input
fracnas_prepare() {
  local name=$1 plugins
  if [ -n "${SETUP:-}" ]; then
    set +u   # module systems read unset variables
    eval "$SETUP" || { echo "$name: SETUP failed: $SETUP" >&2; exit 2; }
    set -u
  fi
  command -v "$FRACNAS" > /dev/null || { echo "$name: no fracnas executable at '$FRACNAS' (set FRACNAS, or build first: cmake/dev.sh build)" >&2; exit 2; }
  mkdir -p "$RUNS" "$(dirname "$ARCHIVE")"
  # Without an MPI plugin (Slurm's default MpiDefault=none) every rank aborts in MPI_Init: check
  # the one asked for against what this Slurm has (srun --mpi=list) before starting any rank
  srun_flags=()
  if [ -n "$SRUN_MPI" ]; then
    plugins=$(srun --mpi=list 2>&1 | awk '/^[ \t]/ {print $1} /versions available:/ {sub(/.*available:/, ""); gsub(/,/, " "); print}' | xargs)
    if ! [[ " $plugins " == *" $SRUN_MPI "* ]]; then
      echo "$name: this Slurm has no MPI plugin '$SRUN_MPI' (srun --mpi=list: ${plugins:-nothing}); set SRUN_MPI to one your MPI library supports (Open MPI: pmix), or empty for the cluster's MpiDefault" >&2
      exit 2
    fi
    srun_flags=(--mpi="$SRUN_MPI")
  fi
  local more
  read -r -a more <<< "$SRUN_FLAGS"
  srun_flags+=("${more[@]}")
  if [ -e "$ARCHIVE" ]; then
    run=(--resume "$ARCHIVE")   # the archive holds the configuration: nothing else is given
    return
  fi
  local extra
  read -r -a extra <<< "$SEARCH_ARGS"
  run=(--archive "$ARCHIVE")
  # a --device in SEARCH_ARGS takes DEVICE's place (fracnas refuses an option given twice)
  if [ -n "$DEVICE" ] && ! printf '%s\n' "${extra[@]}" | grep -qE '^--device(=|$)'; then run+=(--device "$DEVICE"); fi
  if [ -n "$CONFIG" ]; then run+=(--config "$CONFIG"); fi
  run+=("${extra[@]}")
}
