#!/usr/bin/env bash
# A strong and a weak scaling series of fracnas search on this machine, then their analysis:
# every run goes through search_local.sh (the master plus N workers under mpirun), its archive to
# $RUNS/scaling/<series>-<N>.h5; then slurm/scaling.sh collect (`fracnas analyze` side by side,
# CSV, JSON, the plots and scaling.png), so a laptop, one GPU node and a cluster give the same files.
#   mpi_launch/scaling_local.sh            run the series (an existing archive is kept), then collect
# Strong: the same budget for every worker count. Weak: the budget grows with the workers.
# CPU workers of the analytic model (the default) show what the master and the dispatch cost;
# GPU workers (GPUS > 0: one per GPU) what a real search gets. Run from the repository root.
set -euo pipefail

# ---- change these for your system ------------------------------------------------------------
FRACNAS=${FRACNAS:-build/fracnas}                 # the fracnas executable
WORKERS_LIST=${WORKERS_LIST:-"1 2 4 8 15"}        # worker counts (with GPUS > 0: at most GPUS)
GPUS=${GPUS:-0}                                   # 0: CPU workers; else one worker per GPU
SERIES=${SERIES:-"strong weak"}
STRONG_BUDGET=${STRONG_BUDGET:-1000}              # candidates of every strong run
WEAK_PER_WORKER=${WEAK_PER_WORKER:-100}           # candidates per worker of a weak run
SEARCH_FLAGS=${SEARCH_FLAGS:-"--evaluator model --model-cost-ms 10 --algorithm random --seed 1 --queued 1"}
MPI_FLAGS=${MPI_FLAGS:-$([ "$GPUS" -gt 0 ] && echo "--bind-to none" || echo "--bind-to core")}  # one core per CPU rank
RUNS=${RUNS:-runs}
PLOT=${PLOT:-}                                    # the plots' command (slurm/scaling.sh); empty: the Python fracnas was built with
# -------------------------------------------------------------------------------------------------

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir="$RUNS/scaling"
mkdir -p "$dir"
read -r -a search_flags <<< "$SEARCH_FLAGS"
# checked before anything runs: the series' names, and a GPU for each worker
for series in $SERIES; do
  [ "$series" = strong ] || [ "$series" = weak ] || { echo "scaling_local.sh: unknown series '$series' (strong, weak)" >&2; exit 2; }
done
for n in $WORKERS_LIST; do
  if [ "$GPUS" -gt 0 ] && [ "$n" -gt "$GPUS" ]; then echo "scaling_local.sh: $n workers need $n GPUs; GPUS is $GPUS" >&2; exit 2; fi
done
# and what the analysis at the end needs (a Python with h5py for the plots), not to fail after the runs
FRACNAS="$FRACNAS" PLOT="$PLOT" "$here/../slurm/scaling.sh" check
for series in $SERIES; do
  for n in $WORKERS_LIST; do
    budget=$STRONG_BUDGET
    [ "$series" = weak ] && budget=$(( WEAK_PER_WORKER * n ))
    archive="$dir/$series-$n.h5"
    if [ -e "$archive" ]; then echo "scaling_local.sh: $archive exists; kept (remove it to run again)"; continue; fi
    start=$(date +%s%N)
    GPUS=$GPUS WORKERS=$n ARCHIVE="$archive" MPI_FLAGS="$MPI_FLAGS" FRACNAS="$FRACNAS" \
      "$here/search_local.sh" --budget "$budget" "${search_flags[@]}" > "$dir/$series-$n.log" 2>&1 \
      || { echo "scaling_local.sh: the $series run with $n workers failed; see $dir/$series-$n.log" >&2; exit 1; }
    echo "scaling_local.sh: $series, $n worker(s), $budget candidates: $(( ($(date +%s%N) - start) / 1000000 )) ms"
  done
done
SERIES="$SERIES" WORKERS_LIST="$WORKERS_LIST" RUNS="$RUNS" FRACNAS="$FRACNAS" PLOT="$PLOT" "$here/../slurm/scaling.sh" collect
