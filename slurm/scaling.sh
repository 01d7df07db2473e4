#!/bin/bash
# The strong and weak scaling series of fracnas search on a Slurm cluster, then their analysis.
#   slurm/scaling.sh submit    one job per series and worker count (one_node.sbatch up to a
#                              node's workers, multi_node.sbatch beyond), each starting when the
#                              one before it has ended, so that no two runs share a node's time
#   slurm/scaling.sh collect   when they have run: `fracnas analyze` side by side (CSV, JSON)
#                              and the plots, scaling.png included, per series
#   slurm/scaling.sh check     what collect needs (fracnas, a Python for the plots); submit checks
#                              it first, so that a series is not run to fail at its end
# Strong: the same budget for every worker count. Weak: the budget grows with the workers.
# Archives and Slurm logs: $RUNS/scaling/<series>-<workers>.h5, scal-<series>-<workers>-<job>.out.
# Run from the repository root.
set -euo pipefail

# ---- change these for your system ------------------------------------------------------------
FRACNAS=${FRACNAS:-build/fracnas}                 # the fracnas executable (collect runs it here)
WORKERS_LIST=${WORKERS_LIST:-"1 2 4 8"}           # worker counts
WORKERS_PER_NODE=${WORKERS_PER_NODE:-4}           # a node's workers (its GPUs); beyond, whole nodes of this many
DEVICE=${DEVICE:-cuda}                            # cuda: a GPU per worker (--gpus-per-node); cpu: CPU workers, no GPU asked
SERIES=${SERIES:-"strong weak"}
STRONG_BUDGET=${STRONG_BUDGET:-2000}              # candidates of every strong run
WEAK_PER_WORKER=${WEAK_PER_WORKER:-250}           # candidates per worker of a weak run
SEARCH_FLAGS=${SEARCH_FLAGS:-"--space heterogeneous --seed 1"}  # the same for every run
SBATCH_FLAGS=${SBATCH_FLAGS:-}                    # e.g. "--account=abc --partition=gpu --cpus-per-task=8"
EXCLUSIVE=${EXCLUSIVE:-1}                         # 1: sbatch --exclusive (another job on a run's node disturbs its timings)
RUNS=${RUNS:-runs}
PLOT=${PLOT:-}                                    # the plot command; empty: `python -m fracnas_plots` with the Python
                                                  # fracnas was built with (its CMakeCache.txt), else python3; none: no plots
# -------------------------------------------------------------------------------------------------

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir="$RUNS/scaling"
usage() { echo "usage: slurm/scaling.sh submit | collect | check" >&2; exit 2; }
[ $# -eq 1 ] || usage

# sets plot=(the plot command) from PLOT, or says why there is none and exits 2
plot_command() {
  plot=()
  case "$PLOT" in
    none) return ;;
    ?*) read -r -a plot <<< "$PLOT"; return ;;
  esac
  local built tried=() p
  built=$(sed -n 's/^Python3_EXECUTABLE:[A-Z]*=//p' "$(dirname "$FRACNAS")/CMakeCache.txt" 2>/dev/null || true)
  for p in $built python3; do
    tried+=("$p")
    if "$p" -c 'import h5py, pandas, matplotlib' 2>/dev/null; then plot=("$p" -m fracnas_plots); return; fi
  done
  echo "scaling.sh: no Python with h5py, pandas and matplotlib for the plots (tried ${tried[*]}); set PLOT (e.g. PLOT=\"cmake/dev.sh plot\"), or PLOT=none for the tables alone" >&2
  exit 2
}

check() {
  command -v "$FRACNAS" > /dev/null || { echo "scaling.sh: no fracnas executable at '$FRACNAS' (set FRACNAS, or build first: cmake/dev.sh build)" >&2; exit 2; }
  plot_command
}

submit() {
  check
  case $DEVICE in cuda|cpu) ;; *) echo "scaling.sh: DEVICE must be cuda or cpu, not '$DEVICE'" >&2; exit 2 ;; esac
  local flags=() job gpus n series budget archive prev="" submitted=() id
  read -r -a flags <<< "$SBATCH_FLAGS"
  [ "$EXCLUSIVE" = 1 ] && flags+=(--exclusive)
  # checked before anything is queued: the series' names, and whole nodes beyond one
  for series in $SERIES; do
    [ "$series" = strong ] || [ "$series" = weak ] || { echo "scaling.sh: unknown series '$series' (strong, weak)" >&2; exit 2; }
  done
  for n in $WORKERS_LIST; do
    if [ "$n" -gt "$WORKERS_PER_NODE" ] && [ $(( n % WORKERS_PER_NODE )) -ne 0 ]; then
      echo "scaling.sh: $n workers do not fill nodes of $WORKERS_PER_NODE workers" >&2; exit 2
    fi
  done
  mkdir -p "$dir"
  err=$(mktemp)   # sbatch's words, when it refuses a run
  trap 'rm -f "$err"' EXIT
  for series in $SERIES; do
    for n in $WORKERS_LIST; do
      budget=$STRONG_BUDGET
      [ "$series" = weak ] && budget=$(( WEAK_PER_WORKER * n ))
      archive="$dir/$series-$n.h5"
      if [ -e "$archive" ]; then echo "scaling.sh: $archive exists; skipped (remove it to run again)"; continue; fi
      if [ "$n" -le "$WORKERS_PER_NODE" ]; then
        gpus=$n; [ "$DEVICE" = cpu ] && gpus=0
        job=(--nodes=1 --ntasks=$(( n + 1 )) --gpus-per-node="$gpus" "$here/one_node.sbatch")
      else
        gpus=$WORKERS_PER_NODE; [ "$DEVICE" = cpu ] && gpus=0
        job=(--nodes=$(( n / WORKERS_PER_NODE )) --ntasks-per-node=$(( WORKERS_PER_NODE + 1 )) --gpus-per-node="$gpus"
             "$here/multi_node.sbatch")
      fi
      # the job reads these from its environment (sbatch exports it); each run waits for the one before
      if ! id=$(ARCHIVE="$archive" SEARCH_ARGS="--budget $budget $SEARCH_FLAGS" DEVICE="$DEVICE" GPUS="$WORKERS_PER_NODE" \
                FRACNAS="$FRACNAS" RUNS="$RUNS" \
                sbatch --parsable "${flags[@]}" --job-name="scal-$series-$n" --output="$dir/%x-%j.out" \
                ${prev:+--dependency=afterany:$prev} "${job[@]}" 2> "$err"); then
        echo "scaling.sh: sbatch refused the $series run with $n worker(s): $(tr '\n' ' ' < "$err")(submitted before it: ${submitted[*]:-none})" >&2
        exit 1
      fi
      prev=${id%%;*}
      submitted+=("$prev")
      echo "scaling.sh: $series, $n worker(s), $budget candidates: job $prev"
    done
  done
}

collect() {
  check
  local series archives n
  for series in $SERIES; do
    archives=()
    for n in $WORKERS_LIST; do
      [ -e "$dir/$series-$n.h5" ] && archives+=("$dir/$series-$n.h5")
    done
    if [ ${#archives[@]} -eq 0 ]; then echo "scaling.sh: no $series archive in $dir yet"; continue; fi
    "$FRACNAS" analyze "${archives[@]}" --csv "$dir/${series}_" --json "$dir/$series.json" > "$dir/$series.txt"
    if [ ${#plot[@]} -gt 0 ]; then
      PYTHONPATH="$here/../src/python${PYTHONPATH:+:$PYTHONPATH}" "${plot[@]}" "${archives[@]}" --out "$dir/$series-plots" > /dev/null
    fi
    echo "scaling.sh: $series: ${#archives[@]} run(s); $dir/$series.txt, $dir/${series}_*.csv, $dir/$series.json${plot[0]:+, $dir/$series-plots/}"
  done
}

case $1 in
  submit) submit ;;
  collect) collect ;;
  check) check ;;
  *) usage ;;
esac
