#!/bin/bash
# The strong and weak scaling series of fracnas search on a Slurm cluster, then their analysis.
#   slurm/scaling.sh submit    one job per series and worker count (one_node.sbatch up to a
#                              node's GPUs, multi_node.sbatch beyond)
#   slurm/scaling.sh collect   when they have run: `fracnas analyze` side by side (CSV, JSON)
#                              and the plots, scaling.png included, per series
# Strong: the same budget for every worker count. Weak: the budget grows with the workers.
# Archives: $RUNS/scaling/<series>-<workers>.h5. Run from the repository root.
set -euo pipefail

# ---- change these for your system ------------------------------------------------------------
FRACNAS=${FRACNAS:-build/fracnas}                 # the fracnas executable (collect runs it here)
WORKERS_LIST=${WORKERS_LIST:-"1 2 4 8"}           # worker counts (one GPU each)
GPUS_PER_NODE=${GPUS_PER_NODE:-4}                 # beyond this, whole nodes of this many workers
SERIES=${SERIES:-"strong weak"}
STRONG_BUDGET=${STRONG_BUDGET:-2000}              # candidates of every strong run
WEAK_PER_WORKER=${WEAK_PER_WORKER:-250}           # candidates per worker of a weak run
SEARCH_FLAGS=${SEARCH_FLAGS:-"--space heterogeneous --seed 1"}  # the same for every run
SBATCH_FLAGS=${SBATCH_FLAGS:-}                    # e.g. "--account=abc --partition=gpu"
RUNS=${RUNS:-runs}
PLOT=${PLOT:-"python3 -m fracnas_plots"}          # the plotting package (PYTHONPATH=src/python), or cmake/dev.sh plot
# -------------------------------------------------------------------------------------------------

dir="$RUNS/scaling"
usage() { echo "usage: slurm/scaling.sh submit | collect" >&2; exit 2; }
[ $# -eq 1 ] || usage

submit() {
  mkdir -p "$dir"
  read -r -a flags <<< "$SBATCH_FLAGS"
  for series in $SERIES; do
    for n in $WORKERS_LIST; do
      case $series in
        strong) budget=$STRONG_BUDGET ;;
        weak) budget=$(( WEAK_PER_WORKER * n )) ;;
        *) echo "scaling.sh: unknown series '$series' (strong, weak)" >&2; exit 2 ;;
      esac
      archive="$dir/$series-$n.h5"
      if [ -e "$archive" ]; then echo "scaling.sh: $archive exists; skipped (remove it to run again)"; continue; fi
      if [ "$n" -le "$GPUS_PER_NODE" ]; then
        job=(--job-name="scal-$series-$n" --nodes=1 --ntasks=$(( n + 1 )) --gpus-per-node="$n" slurm/one_node.sbatch)
      else
        if [ $(( n % GPUS_PER_NODE )) -ne 0 ]; then
          echo "scaling.sh: $n workers do not fill nodes of $GPUS_PER_NODE GPUs" >&2; exit 2
        fi
        nodes=$(( n / GPUS_PER_NODE ))
        job=(--job-name="scal-$series-$n" --nodes="$nodes" --ntasks-per-node=$(( GPUS_PER_NODE + 1 ))
             --gpus-per-node="$GPUS_PER_NODE" slurm/multi_node.sbatch)
      fi
      # the job reads these from its environment (sbatch exports it)
      ARCHIVE="$archive" SEARCH_ARGS="--budget $budget $SEARCH_FLAGS" GPUS="$GPUS_PER_NODE" FRACNAS="$FRACNAS" RUNS="$RUNS" \
        sbatch "${flags[@]}" "${job[@]}"
    done
  done
}

collect() {
  for series in $SERIES; do
    archives=()
    for n in $WORKERS_LIST; do
      [ -e "$dir/$series-$n.h5" ] && archives+=("$dir/$series-$n.h5")
    done
    if [ ${#archives[@]} -eq 0 ]; then echo "scaling.sh: no $series archive in $dir yet"; continue; fi
    "$FRACNAS" analyze "${archives[@]}" --csv "$dir/${series}_" --json "$dir/$series.json" > "$dir/$series.txt"
    read -r -a plot <<< "$PLOT"
    PYTHONPATH="src/python${PYTHONPATH:+:$PYTHONPATH}" "${plot[@]}" "${archives[@]}" --out "$dir/$series-plots" > /dev/null
    echo "scaling.sh: $series: ${#archives[@]} run(s); $dir/$series.txt, $dir/${series}_*.csv, $dir/$series.json, $dir/$series-plots/"
  done
}

case $1 in
  submit) submit ;;
  collect) collect ;;
  *) usage ;;
esac
