#!/usr/bin/env bash
# The launch scripts, run against stand-ins for srun, sbatch, scontrol, scancel and mpirun that
# record what they are asked: shell syntax, the exact command lines each script builds, the
# device and the MPI plugin and their refusals, the multi-node host layout, resume when the archive
# exists, the time-limit warning passed on and the job requeued (and not past MAX_RESTARTS), the
# scaling series submitted one after the other; then `scaling.sh collect` on real archives.
# tests/launch/slurm_test.sh runs the same scripts on a real single-node Slurm.
#   tests/launch/launch_test.sh FRACNAS_BINARY PYTHON
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fracnas=$1
python=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() {  # check "what" expected actual
  if [ "$2" == "$3" ]; then echo "ok    $1"; else echo "FAIL  $1"; echo "  expected: $2"; echo "  actual:   $3"; fails=$((fails + 1)); fi
}

# ---- stand-ins: each appends one line to $LOG ----------------------------------------------------
bin=$tmp/bin
mkdir -p "$bin"
cat > "$bin/srun" <<'S'
#!/usr/bin/env bash
if [ "$*" = --mpi=list ]; then   # as Slurm 22.05 prints it, on stderr
  printf 'MPI plugin types are...\n' >&2; for p in ${SRUN_PLUGINS-none pmix pmi2}; do printf '\t%s\n' "$p" >&2; done
  exit 0
fi
echo "srun $*" >> "$LOG"
[ -n "${SLURM_HOSTFILE:-}" ] && echo "hostfile $(tr '\n' ' ' < "$SLURM_HOSTFILE")" >> "$LOG"
if [ -n "${SRUN_SLEEP:-}" ]; then   # a long search: ends when the USR1 warning reaches it
  trap 'echo "task got USR1" >> "$LOG"; kill $! 2>/dev/null; exit 0' USR1
  sleep "$SRUN_SLEEP" & wait
fi
exit 0
S
cat > "$bin/sbatch" <<'S'
#!/usr/bin/env bash
echo "sbatch $* | ARCHIVE=$ARCHIVE SEARCH_ARGS=$SEARCH_ARGS DEVICE=$DEVICE" >> "$LOG"
n=$(wc -l < "$LOG")
[ "$n" = "${SBATCH_REFUSE:-}" ] && { echo "sbatch: error: Batch job submission failed: Invalid account"; exit 1; } >&2
echo "10$n"   # --parsable: the job id
S
cat > "$bin/scontrol" <<'S'
#!/usr/bin/env bash
if [ "$1 $2" = "show hostnames" ]; then printf 'gpu1\ngpu2\ngpu3\n'; exit 0; fi
echo "scontrol $*" >> "$LOG"
S
cat > "$bin/scancel" <<'S'
#!/usr/bin/env bash
echo "scancel $*" >> "$LOG"
pkill -USR1 -f "$(dirname "$0")/srun"   # the steps' tasks: here, the stand-in srun
S
cat > "$bin/mpirun" <<'S'
#!/usr/bin/env bash
[ "$1" = --version ] && { echo "stand-in mpirun"; exit 0; }
echo "mpirun $*" >> "$LOG"
S
cat > "$bin/ompi-mpirun" <<'S'
#!/usr/bin/env bash
[ "$1" = --version ] && { echo "mpirun (Open MPI) 4.1.4"; exit 0; }
echo "mpirun $* | sigkill ${OMPI_MCA_odls_base_sigkill_timeout:-unset}" >> "$LOG"
S
chmod +x "$bin"/*
export PATH="$bin:$PATH" LOG=$tmp/log
runs=$tmp/runs
reset() { : > "$LOG"; }

# ---- syntax ---------------------------------------------------------------------------------------
for f in "$root"/slurm/*.sbatch "$root"/slurm/*.sh "$root"/mpi_launch/*.sh "$root"/cmake/dev.sh; do
  bash -n "$f"; check "syntax of ${f#$root/}" 0 $?
done

# ---- one node -------------------------------------------------------------------------------------
fake=$tmp/fracnas   # the scripts check that FRACNAS is an executable, the stand-in srun never runs it
printf '#!/bin/sh\nexit 0\n' > "$fake"; chmod +x "$fake"
export SLURM_JOB_ID=42 SLURM_JOB_NAME=fracnas SLURM_NTASKS=5 FRACNAS=$fake RUNS=$runs
srun="srun --mpi=pmix --cpu-bind=none $fake search"
new="--archive $runs/fracnas-42.h5"
reset; bash "$root/slurm/one_node.sbatch" > /dev/null
check "one_node: a new run" "$srun $new --device cuda --budget 1000" "$(cat "$LOG")"
touch "$runs/fracnas-42.h5"
reset; bash "$root/slurm/one_node.sbatch" > /dev/null
check "one_node: the archive exists, so it resumes" "$srun --resume $runs/fracnas-42.h5" "$(cat "$LOG")"
rm "$runs/fracnas-42.h5"
reset; CONFIG=run.ini bash "$root/slurm/one_node.sbatch" > /dev/null
check "one_node: a config file alone: its own device and budget, no default over them" "$srun $new --config run.ini" "$(cat "$LOG")"
reset; CONFIG=run.ini SEARCH_ARGS="--budget 50 --seed 3" bash "$root/slurm/one_node.sbatch" > /dev/null
check "one_node: config file and flags" "$srun $new --config run.ini --budget 50 --seed 3" "$(cat "$LOG")"
reset; DEVICE=cpu bash "$root/slurm/one_node.sbatch" > /dev/null
check "one_node: DEVICE=cpu" "$srun $new --device cpu --budget 1000" "$(cat "$LOG")"
reset; SEARCH_ARGS="--device=cpu --budget 5" bash "$root/slurm/one_node.sbatch" > /dev/null
check "one_node: a --device in SEARCH_ARGS takes DEVICE's place" "$srun $new --device=cpu --budget 5" "$(cat "$LOG")"
reset; SETUP="echo module load openmpi >> $LOG" SRUN_MPI= SRUN_FLAGS=--exact bash "$root/slurm/one_node.sbatch" > /dev/null
check "one_node: SETUP first; SRUN_MPI empty: the cluster's MpiDefault" \
  "module load openmpi|srun --exact $fake search $new --device cuda --budget 1000" "$(paste -sd'|' "$LOG")"
reset; err=$(SRUN_PLUGINS="none pmi2" bash "$root/slurm/one_node.sbatch" 2>&1 > /dev/null)
check "one_node: no pmix plugin: refused before srun, exit 2" "2|0" "$?|$(wc -l < "$LOG")"
check "one_node: no pmix plugin: the sentence" \
  "one_node.sbatch: this Slurm has no MPI plugin 'pmix' (srun --mpi=list: none pmi2); set SRUN_MPI to one your MPI library supports (Open MPI: pmix), or empty for the cluster's MpiDefault" "$err"
reset; err=$(FRACNAS=$tmp/none bash "$root/slurm/one_node.sbatch" 2>&1 > /dev/null)
check "one_node: no fracnas: refused, exit 2" "2|one_node.sbatch: no fracnas executable at '$tmp/none' (set FRACNAS, or build first: cmake/dev.sh build)" "$?|$err"

# ---- several nodes: the master's node gets G + 1 tasks --------------------------------------------
reset; SLURM_JOB_NODELIST="gpu[1-3]" GPUS=2 bash "$root/slurm/multi_node.sbatch" > /dev/null
check "multi_node: srun" "srun --distribution=arbitrary -n 7 --mpi=pmix --cpu-bind=none $fake search $new --device cuda --budget 4000" "$(head -1 "$LOG")"
check "multi_node: host layout" "hostfile gpu1 gpu1 gpu1 gpu2 gpu2 gpu3 gpu3 " "$(sed -n 2p "$LOG")"

# ---- a master without a GPU ------------------------------------------------------------------------
reset; bash "$root/slurm/master_no_gpu.sbatch" > /dev/null
check "master_no_gpu: one srun over both components" "srun --het-group=0,1 --mpi=pmix --cpu-bind=none $fake search $new --device cuda --budget 4000" "$(cat "$LOG")"

# ---- a long search: warned, passed on, requeued; then one that ends by itself ----------------------
reset
SRUN_SLEEP=30 SLURM_RESTART_COUNT=0 bash "$root/slurm/long_requeue.sbatch" > /dev/null &
job=$!
sleep 1; kill -USR1 $job; wait $job
status=$?
check "long_requeue: exit status after the warning" 0 "$status"
check "long_requeue: warning passed on, the task stopped, the job requeued" \
  "$srun $new --device cuda --budget 20000|scancel --signal=USR1 42|task got USR1|scontrol requeue 42" \
  "$(paste -sd'|' "$LOG")"
reset; SLURM_RESTART_COUNT=0 bash "$root/slurm/long_requeue.sbatch" > /dev/null
check "long_requeue: a run that ends without the warning is not requeued" 1 "$(wc -l < "$LOG")"
reset
SRUN_SLEEP=30 SLURM_RESTART_COUNT=3 MAX_RESTARTS=3 bash "$root/slurm/long_requeue.sbatch" > /dev/null 2> "$tmp/err" &
job=$!
sleep 1; kill -USR1 $job; wait $job
status=$?
check "long_requeue: warned after MAX_RESTARTS restarts: not requeued, exit 1" "1|scancel --signal=USR1 42|task got USR1" \
  "$status|$(sed 1d "$LOG" | paste -sd'|')"
check "long_requeue: warned after MAX_RESTARTS restarts: the sentence" \
  "long_requeue.sbatch: stopped by the time-limit warning after 3 restart(s), MAX_RESTARTS; not requeued, the budget is not spent: submit again with ARCHIVE=$runs/fracnas-42.h5 to go on" \
  "$(cat "$tmp/err")"

# ---- one machine under mpirun -------------------------------------------------------------------------
reset; (cd "$tmp" && GPUS=2 FRACNAS=$fracnas ARCHIVE=$runs/local.h5 bash "$root/mpi_launch/search_local.sh" --budget 10 > /dev/null)
check "search_local: 2 GPUs" "mpirun -n 3 --bind-to none $fracnas search --device cuda --archive $runs/local.h5 --budget 10" "$(cat "$LOG")"
reset; (cd "$tmp" && GPUS=0 FRACNAS=$fracnas bash "$root/mpi_launch/search_local.sh" --resume r.h5 > /dev/null)
check "search_local: CPU worker, resume" "mpirun -n 2 --bind-to none $fracnas search --device cpu --resume r.h5" "$(cat "$LOG")"
# Open MPI's mpirun: --oversubscribe, and odls_base_sigkill_timeout above --grace + 5 s (docs/cli.md, signals)
for case in "126|" "36|--grace 30" "13|--grace=7.5" "300|--grace 30|SIGKILL_TIMEOUT=300" "50||OMPI_MCA_odls_base_sigkill_timeout=50"; do
  IFS='|' read -r want args envs <<< "$case"
  reset; (cd "$tmp" && env $envs GPUS=0 MPIRUN=ompi-mpirun FRACNAS=$fracnas bash "$root/mpi_launch/search_local.sh" --resume r.h5 $args > /dev/null)
  check "search_local: Open MPI, ${args:-default grace} ${envs}" \
    "mpirun -n 2 --bind-to none --oversubscribe $fracnas search --device cpu --resume r.h5${args:+ $args} | sigkill $want" "$(cat "$LOG")"
done
# ON_WORKER_LOSS=continue: Open MPI's --enable-recovery, each rank in the wrapper that keeps rank 0's
# status (the stand-in runs none, so there is none: exit 1); another MPI, or another value: exit 2
reset; out=$(cd "$tmp" && ON_WORKER_LOSS=continue GPUS=0 MPIRUN=ompi-mpirun FRACNAS=$fracnas bash "$root/mpi_launch/search_local.sh" --resume r.h5 2>&1); code=$?
wrapper='trap : TERM INT HUP USR1; "$@"; s=$?; [ "${OMPI_COMM_WORLD_RANK:-}" != 0 ] || echo $s > "$FRACNAS_MASTER_STATUS"; exit $s'
check "search_local: continue, Open MPI" "mpirun -n 2 --bind-to none --oversubscribe --enable-recovery bash -c $wrapper fracnas-rank $fracnas search --device cpu --resume r.h5 | sigkill 126" "$(cat "$LOG")"
check "search_local: continue, no status from the master: exit 1" 1 "$code"
check "search_local: continue, no status from the master: the sentence" "search_local.sh: the master rank ended without a status; continue with: $fracnas search --resume r.h5" "$(echo "$out" | tail -1)"
reset; out=$(cd "$tmp" && ON_WORKER_LOSS=continue GPUS=0 FRACNAS=$fracnas bash "$root/mpi_launch/search_local.sh" --budget 10 2>&1); code=$?
check "search_local: continue refused with another MPI" "2|search_local.sh: ON_WORKER_LOSS=continue needs Open MPI's mpirun (its --enable-recovery); mpirun is another MPI's|" "$code|$out|$(cat "$LOG")"
reset; out=$(cd "$tmp" && ON_WORKER_LOSS=retry GPUS=0 FRACNAS=$fracnas bash "$root/mpi_launch/search_local.sh" --budget 10 2>&1); code=$?
check "search_local: a bad ON_WORKER_LOSS" "2|search_local.sh: ON_WORKER_LOSS must be stop or continue, got 'retry'|" "$code|$out|$(cat "$LOG")"

# ---- the scaling series: one run after the other ---------------------------------------------------------
scaling() { (cd "$root" && FRACNAS=$fracnas PLOT="$python -m fracnas_plots" "$@" bash slurm/scaling.sh submit); }
one="$root/slurm/one_node.sbatch" multi="$root/slurm/multi_node.sbatch" out="--output=$runs/scaling/%x-%j.out"
flags="--budget 2000 --space heterogeneous --seed 1"
reset; scaling env WORKERS_LIST="1 4 8" WORKERS_PER_NODE=4 SBATCH_FLAGS="--account=x" > /dev/null
check "scaling submit: 2 series x 3 sizes" 6 "$(wc -l < "$LOG")"
check "scaling submit: strong, 1 worker, the first" \
  "sbatch --parsable --account=x --exclusive --job-name=scal-strong-1 $out --nodes=1 --ntasks=2 --gpus-per-node=1 $one | ARCHIVE=$runs/scaling/strong-1.h5 SEARCH_ARGS=$flags DEVICE=cuda" \
  "$(sed -n 1p "$LOG")"
check "scaling submit: strong, 4 workers, after the first" \
  "sbatch --parsable --account=x --exclusive --job-name=scal-strong-4 $out --dependency=afterany:101 --nodes=1 --ntasks=5 --gpus-per-node=4 $one | ARCHIVE=$runs/scaling/strong-4.h5 SEARCH_ARGS=$flags DEVICE=cuda" \
  "$(sed -n 2p "$LOG")"
check "scaling submit: weak, 8 workers on 2 nodes, the last" \
  "sbatch --parsable --account=x --exclusive --job-name=scal-weak-8 $out --dependency=afterany:105 --nodes=2 --ntasks-per-node=5 --gpus-per-node=4 $multi | ARCHIVE=$runs/scaling/weak-8.h5 SEARCH_ARGS=$flags DEVICE=cuda" \
  "$(sed -n 6p "$LOG")"
reset; scaling env WORKERS_LIST="2" SERIES=weak WORKERS_PER_NODE=2 DEVICE=cpu EXCLUSIVE=0 WEAK_PER_WORKER=10 > /dev/null
check "scaling submit: CPU workers: no GPU asked" \
  "sbatch --parsable --job-name=scal-weak-2 $out --nodes=1 --ntasks=3 --gpus-per-node=0 $one | ARCHIVE=$runs/scaling/weak-2.h5 SEARCH_ARGS=--budget 20 --space heterogeneous --seed 1 DEVICE=cpu" \
  "$(cat "$LOG")"
reset; err=$(scaling env WORKERS_LIST="1 2 4" SBATCH_REFUSE=2 2>&1 > /dev/null)
check "scaling submit: sbatch refuses a run: exit 1, nothing after it" "1|2" "$?|$(wc -l < "$LOG")"
check "scaling submit: sbatch refuses a run: named, with sbatch's words and what was submitted" \
  "scaling.sh: sbatch refused the strong run with 2 worker(s): sbatch: error: Batch job submission failed: Invalid account (submitted before it: 101)" "$err"
reset; err=$(scaling env WORKERS_LIST="6" WORKERS_PER_NODE=4 2>&1 > /dev/null)
check "scaling submit: 6 workers do not fill nodes of 4: refused, nothing submitted" \
  "2|0|scaling.sh: 6 workers do not fill nodes of 4 workers" "$?|$(wc -l < "$LOG")|$err"
mkdir -p "$tmp/nopy"; printf '#!/bin/sh\nexit 1\n' > "$tmp/nopy/python3"; chmod +x "$tmp/nopy/python3"  # a python3 without h5py
reset; err=$(scaling env WORKERS_LIST="1" PLOT= FRACNAS="$fake" PATH="$tmp/nopy:$PATH" 2>&1 > /dev/null)
check "scaling submit: no Python for the plots of collect: refused before anything is queued" \
  "2|0|scaling.sh: no Python with h5py, pandas and matplotlib for the plots (tried python3); set PLOT (e.g. PLOT=\"cmake/dev.sh plot\"), or PLOT=none for the tables alone" \
  "$?|$(wc -l < "$LOG")|$err"

# ---- a scaling study on one machine (stand-in mpirun: no archives, so collect finds none) -------------
reset; (cd "$root" && WORKERS_LIST="1 2" GPUS=2 STRONG_BUDGET=40 WEAK_PER_WORKER=10 SEARCH_FLAGS="--seed 4" FRACNAS=$fracnas \
        RUNS=$tmp/local bash mpi_launch/scaling_local.sh > /dev/null)
check "scaling_local: exit status" 0 $?
check "scaling_local: strong then weak, one worker per GPU" \
  "mpirun -n 2 --bind-to none $fracnas search --device cuda --archive $tmp/local/scaling/strong-1.h5 --budget 40 --seed 4|mpirun -n 3 --bind-to none $fracnas search --device cuda --archive $tmp/local/scaling/strong-2.h5 --budget 40 --seed 4|mpirun -n 2 --bind-to none $fracnas search --device cuda --archive $tmp/local/scaling/weak-1.h5 --budget 10 --seed 4|mpirun -n 3 --bind-to none $fracnas search --device cuda --archive $tmp/local/scaling/weak-2.h5 --budget 20 --seed 4" \
  "$(paste -sd'|' "$LOG")"
reset; (cd "$root" && WORKERS_LIST="2" SERIES=strong STRONG_BUDGET=40 FRACNAS=$fracnas RUNS=$tmp/local2 bash mpi_launch/scaling_local.sh > /dev/null)
check "scaling_local: CPU workers bound to cores, the model evaluator by default" \
  "mpirun -n 3 --bind-to core $fracnas search --device cpu --archive $tmp/local2/scaling/strong-2.h5 --budget 40 --evaluator model --model-cost-ms 10 --algorithm random --seed 1 --queued 1" \
  "$(cat "$LOG")"
reset; (cd "$root" && WORKERS_LIST="4" GPUS=2 FRACNAS=$fracnas RUNS=$tmp/local3 bash mpi_launch/scaling_local.sh > /dev/null 2>&1)
check "scaling_local: more workers than GPUs: refused" 2 $?
reset; (cd "$root" && WORKERS_LIST="1" FRACNAS=$fake PATH="$tmp/nopy:$PATH" RUNS=$tmp/local4 bash mpi_launch/scaling_local.sh > /dev/null 2>&1)
check "scaling_local: no Python for the plots at the end: refused before the runs" "2|0" "$?|$(wc -l < "$LOG")"

# ---- scaling collect on real archives (dry runs of 2 and 8 simulated workers) ---------------------------
mkdir -p "$runs/scaling"
for n in 2 8; do
  "$fracnas" search --evaluator model --space homogeneous --budget 80 --dispatcher dry-run --workers $n \
    --archive "$runs/scaling/strong-$n.h5" > /dev/null || check "dry run $n" 0 1
done
# PLOT unset and python3 without h5py: the plots use the Python fracnas was built with (its CMakeCache.txt)
(cd "$root" && WORKERS_LIST="2 8" SERIES=strong FRACNAS=$fracnas PATH="$tmp/nopy:$PATH" bash slurm/scaling.sh collect > /dev/null)
check "scaling collect: exit status" 0 $?
check "scaling collect: the side-by-side table" 1 "$(grep -c '^runs side by side (speed-up' "$runs/scaling/strong.txt")"
check "scaling collect: CSV per run" 8 "$(ls "$runs/scaling"/strong_*.csv | wc -l)"
check "scaling collect: the scaling plot" 1 "$(ls "$runs/scaling/strong-plots/scaling.png" 2>/dev/null | wc -l)"

echo "$fails check(s) failed"
[ "$fails" -eq 0 ]
