# Issue 26 on a lent machine with several GPUs (nvidia-h200-x2, -x4 or -x8), one stage per device
# call, each well under the 600 s a call may run, from the repository root after the build:
#   bash docs/results/scaling_next_lease/run.sh timing   $OUT/timing     # call 1 (after the build)
#   bash docs/results/scaling_next_lease/run.sh training $OUT/training   # call 2 (D-large's parts carried)
#   bash docs/results/scaling_next_lease/run.sh faults   $OUT/faults     # call 3
# timing:   the spread across GPUs (the reference and one candidate timed on every GPU at once, raw
#           and as ratios), then the strong (2,000 candidates) and weak (250 per GPU) series of the
#           timing search at 1, 2, 4, ... GPUs up to all of them, and the analysis side by side;
# training: the same training search on one GPU and on all of them (D-large, rungs of 2, 4 and
#           8 M tokens), bounded by its budget of 100 candidates, so that the two answers can be compared;
# faults:   one worker rank killed (SIGKILL) 5 s into a search on all GPUs: with the default
#           launcher the job stops and --resume finishes it; with ON_WORKER_LOSS=continue the
#           others finish it.
# REHEARSE=1 runs every stage on this machine's CPUs with the analytic model and simulated
# trainings (two workers), to check the script, not to measure anything.
set -uo pipefail
stage=${1:?stage: timing, training or faults} out=${2:?output folder}
mkdir -p "$out" runs
B=${B:-build-gpu}
FRACNAS=$B/fracnas
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
s0=$(date +%s)
at() { echo "$1 at $(( $(date +%s) - s0 )) s" | tee -a "$out/log.txt"; }
if [ "${REHEARSE:-0}" = 1 ]; then
  FRACNAS=${FRACNAS_REHEARSE:-build/fracnas}
  N=2
  GPUS_OF() { echo 0; }
  timing_flags="--evaluator model --model-cost-ms 10"
  KILL_AFTER=${KILL_AFTER:-2}
  training_flags="--evaluator model --train-ms-per-mtoken 300 --train-model dlarge"
  export MPI_FLAGS="--bind-to none"
else
  N=$(nvidia-smi -L | grep -c '^GPU')
  GPUS_OF() { echo "$1"; }
  timing_flags=""
  KILL_AFTER=${KILL_AFTER:-5}
  training_flags="--train-data data/corpus-large-v1"
  { nvidia-smi --query-gpu=index,name,uuid,driver_version,clocks.max.sm,power.limit,temperature.gpu --format=csv
    nvidia-smi topo -m; date -u; } > "$out/machine.txt" 2>&1
fi
counts=""; for n in 1 2 4 8 16; do [ "$n" -le "$N" ] && counts="$counts $n"; done
case " $counts " in *" $N "*) ;; *) counts="$counts $N" ;; esac
counts=${counts# }
echo "stage $stage, $N GPU(s), counts: $counts" | tee "$out/log.txt"
# the pid of the fracnas process of MPI rank $1 below this shell (found by its environment)
rank_pid() {
  local p
  for p in $(pgrep -f "$(basename "$FRACNAS") search"); do
    [ "$(readlink -f /proc/$p/exe)" = "$(readlink -f "$FRACNAS")" ] || continue
    tr '\0' '\n' < /proc/$p/environ 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && { echo "$p"; return; }
  done
}
kill_rank_after() {  # kill_rank_after RANK SECONDS LOG: SIGKILL to that rank SECONDS after the pool formed
  ( for _ in $(seq 600); do grep -q "in the pool of" "$3" 2> /dev/null && break; sleep 0.5; done
    sleep "$2"; p=$(rank_pid "$1")
    [ -n "$p" ] && kill -KILL "$p" && echo "run.sh: SIGKILL to rank $1 (pid $p) $2 s after the pool formed" >> "$3" ) &
}

case "$stage" in
timing)
  if [ "${REHEARSE:-0}" != 1 ]; then
    # every GPU at once, as in a search: GPT-2 small and 2 x 1920 (the 1-GPU strong run's best),
    # decode at a 1,023-token cache, bf16, graphs; raw milliseconds and the ratio per GPU
    cand="n_layer=2 d_model=1920 d_inner=7488,7424 n_head=30,30"
    for i in $(seq 0 $(( N - 1 ))); do
      timeout 120 $FRACNAS eval --device cuda --cuda-index "$i" --arch "$cand" --reference gpt2-small \
        --measure decode --json > "$out/spread_gpu$i.json" 2> "$out/spread_gpu$i.err" &
    done
    wait
    python3 - "$out" "$N" <<'PY' | tee "$out/spread.txt"
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
rows = []
for i in range(n):
    try:
        d = json.load(open(f"{out}/spread_gpu{i}.json"))
        rows.append((i, d["decode"]["median_ms"], d["reference"]["decode"]["median_ms"], d["ratio"]["decode"]))
    except Exception as e:
        print(f"gpu {i}: no result ({e!r})")
print("gpu  candidate ms  gpt2-small ms  ratio")
for i, c, r, q in rows:
    print(f"{i:3d}  {c:12.4f}  {r:13.4f}  {q:.4f}")
if rows:
    for name, k in (("candidate ms", 1), ("gpt2-small ms", 2), ("ratio", 3)):
        v = [row[k] for row in rows]
        print(f"{name}: min {min(v):.4f}, max {max(v):.4f}, max/min {max(v) / min(v):.4f}")
PY
    at "spread"
  fi
  GPUS=$(GPUS_OF "$N") WORKERS_LIST="$counts" STRONG_BUDGET=2000 WEAK_PER_WORKER=250 RUNS="$out/runs" \
    SEARCH_FLAGS="--space heterogeneous --seed 1 $timing_flags" FRACNAS=$FRACNAS PLOT=${PLOT:-} \
    timeout 480 bash mpi_launch/scaling_local.sh > "$out/scaling_local.out" 2>&1
  at "strong and weak series: exit $?"
  mv "$out"/runs/scaling/*.h5 runs/ 2> /dev/null  # the archives stay on the machine
  cp -r "$out"/runs/scaling/* "$out"/ && rm -rf "$out/runs"  # summaries, CSV, JSON and plots go back
  tail -4 "$out/scaling_local.out"
  grep -h "^sessions\|^answered\|all:\|idle:" "$out"/strong.txt "$out"/weak.txt 2> /dev/null
  # time permitting, the strong series again with one task per worker (--queued 0): the default,
  # --queued auto, queues one behind each running one in a timing search, which hides the master's
  # turn and the way to the worker (on one H100: 98.1% busy against 93.3%, ../scaling.md)
  if [ $(( $(date +%s) - s0 )) -lt 330 ]; then
    mkdir -p "$out/queued0"
    GPUS=$(GPUS_OF "$N") WORKERS_LIST="$counts" STRONG_BUDGET=2000 SERIES=strong RUNS="$out/queued0/runs" \
      SEARCH_FLAGS="--space heterogeneous --seed 1 --queued 0 $timing_flags" FRACNAS=$FRACNAS PLOT=${PLOT:-} \
      timeout $(( 560 - ($(date +%s) - s0) )) bash mpi_launch/scaling_local.sh > "$out/queued0/scaling_local.out" 2>&1
    at "strong series with --queued 0: exit $?"
    mkdir -p runs/queued0 && mv "$out"/queued0/runs/scaling/*.h5 runs/queued0/ 2> /dev/null
    cp -r "$out"/queued0/runs/scaling/* "$out"/queued0/ && rm -rf "$out/queued0/runs"
    grep -h "^sessions\|^answered\|all:\|idle:" "$out"/queued0/strong.txt 2> /dev/null
  fi
  ;;
training)
  if [ "${REHEARSE:-0}" != 1 ] && [ ! -f data/corpus-large-v1/train.tokens ]; then
    PYTHONPATH=src/python python3 -m fracnas_corpus unpack data/corpus-large-v1.parts data/corpus-large-v1 2>&1 | tail -2 | tee "$out/unpack.txt"
    at "unpacked"
  fi
  # the problem of docs/results/train_search.md's first search, on D-large: rungs of 2, 4 and 8 M
  # tokens, eta 3, the floor at half GPT-2 small's decoder parameters, budget 100 candidates; the
  # 1-GPU run stops asking at 280 s and the N-GPU run at 100 s should they get that far
  problem="--budget 100 --rungs 2000000,4000000,8000000 --eta 3 --min-params 42528000 --max-layers 12 --max-width 1536 --seed 1 --progress-every 10"
  for n in 1 "$N"; do
    limit=$([ "$n" = 1 ] && echo 280 || echo 100)
    rm -rf "runs/train-$n.h5" "runs/train-$n.h5.states"
    GPUS=$(GPUS_OF "$n") WORKERS=$n ARCHIVE="runs/train-$n.h5" FRACNAS=$FRACNAS \
      timeout -s KILL $(( limit + 80 )) bash mpi_launch/search_local.sh $problem $training_flags --time-limit $limit --grace 60 > "$out/train-$n.txt" 2>&1
    at "training search on $n GPU(s): exit $?"
    $FRACNAS analyze "runs/train-$n.h5" > "$out/train-$n.analyze.txt" 2>&1
    $FRACNAS analyze --json - "runs/train-$n.h5" > "$out/train-$n.json" 2>&1
    grep -v "^  " "$out/train-$n.txt" | tail -12
    rm -rf "runs/train-$n.h5.states"
  done
  # side by side: trainings per hour, busy share, speed-up of the timings
  $FRACNAS analyze "runs/train-1.h5" "runs/train-$N.h5" > "$out/train-side.txt" 2>&1
  sed -n '/^runs side by side/,$p' "$out/train-side.txt"
  ;;
faults)
  search="--space heterogeneous --seed 1 --budget 5000 --grace 30 $timing_flags"
  victim=$(( N > 2 ? 3 : 1 ))
  # 1. the default launcher: the job stops, the master drains; then --resume
  rm -f runs/fault-stop.h5
  kill_rank_after "$victim" "$KILL_AFTER" "$out/stop.txt"
  GPUS=$(GPUS_OF "$N") WORKERS=$N ARCHIVE=runs/fault-stop.h5 FRACNAS=$FRACNAS \
    timeout 200 bash mpi_launch/search_local.sh $search --progress-every 500 >> "$out/stop.txt" 2>&1
  at "stop: exit $?"
  GPUS=$(GPUS_OF "$N") WORKERS=$N FRACNAS=$FRACNAS \
    timeout 200 bash mpi_launch/search_local.sh --resume runs/fault-stop.h5 --progress-every 500 > "$out/stop_resume.txt" 2>&1
  at "stop, resumed: exit $?"
  $FRACNAS analyze runs/fault-stop.h5 --csv "$out/stop_" > "$out/stop.analyze.txt" 2>&1
  # 2. ON_WORKER_LOSS=continue: the others finish; the lost task is re-queued after 10 s
  rm -f runs/fault-continue.h5
  kill_rank_after "$victim" "$KILL_AFTER" "$out/continue.txt"
  ON_WORKER_LOSS=continue GPUS=$(GPUS_OF "$N") WORKERS=$N ARCHIVE=runs/fault-continue.h5 FRACNAS=$FRACNAS \
    timeout 200 bash mpi_launch/search_local.sh $search --task-deadline 10 --progress-every 500 >> "$out/continue.txt" 2>&1
  at "continue: exit $?"
  $FRACNAS analyze runs/fault-continue.h5 --csv "$out/continue_" > "$out/continue.analyze.txt" 2>&1
  for f in stop stop_resume continue; do echo "== $f"; grep -v "^  \|^progress" "$out/$f.txt" | grep -v "^---\|PMIX\|^$" | tail -8; done
  grep -h "left the pool\|SIGKILL to rank" "$out"/stop.txt "$out"/continue.txt
  for f in stop continue; do
    echo "== $f: analyze"; sed -n '4,6p' "$out/$f.analyze.txt"
    # every id once; no architecture measured twice (feasible, not from the cache)
    python3 - "$out/${f}_evaluations.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ids = [r["id"] for r in rows]
measured = [r["hash"] for r in rows if r["feasible"] == "1" and r["cached"] == "0"]
print(f"{len(rows)} rows, {len(set(ids))} distinct ids, {len(measured)} measured, {len(set(measured))} distinct architectures measured")
PY
  done
  ;;
*) echo "run.sh: unknown stage '$stage' (timing, training, faults)" >&2; exit 2 ;;
esac
