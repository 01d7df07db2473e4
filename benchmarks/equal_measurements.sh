#!/usr/bin/env bash
# Searches compared at equal measured candidates (issue 11): for each algorithm, each number of
# measurements and each seed, one `fracnas search --measurements M` (the budget of answers is left
# large, so that cache hits and infeasible candidates do not end a run early), and its best
# feasible latency. Then, per algorithm and M: the median best, its ratio to the best found by any
# run, and how many seeds came within 5% of that best.
#
#   FRACNAS=build/fracnas ALGORITHMS="soo evolution random" MEASUREMENTS="50 100 200" SEEDS=20 \
#     SEARCH_FLAGS="--evaluator model --space heterogeneous" bash benchmarks/equal_measurements.sh
#
# Every run's line (algorithm, measurements, seed, best ms) goes to $OUT_FILE (default
# equal_measurements.txt), then the summary to stdout.
set -euo pipefail
FRACNAS=${FRACNAS:-build/fracnas}
ALGORITHMS=${ALGORITHMS:-soo evolution random}
MEASUREMENTS=${MEASUREMENTS:-50 100 200}
SEEDS=${SEEDS:-20}
SEARCH_FLAGS=${SEARCH_FLAGS:---evaluator model --space heterogeneous}
OUT_FILE=${OUT_FILE:-equal_measurements.txt}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: > "$OUT_FILE"
for a in $ALGORITHMS; do
  for m in $MEASUREMENTS; do
    for s in $(seq 1 "$SEEDS"); do
      # shellcheck disable=SC2086  # SEARCH_FLAGS is a list of options
      best=$("$FRACNAS" search $SEARCH_FLAGS --budget 1000000 --measurements "$m" --algorithm "$a" --seed "$s" \
               --archive "$work/run.h5" --replace --top 1 | awk '/^best /{getline; if (!done) print $1; done = 1}')
      echo "$a $m $s ${best:-none}" >> "$OUT_FILE"
    done
  done
done
python3 - "$OUT_FILE" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    a, m, seed, best = line.split()
    runs.setdefault((a, int(m)), []).append(float("nan") if best == "none" else float(best))
best = min(x for v in runs.values() for x in v if x == x)
print("best feasible latency over all runs: %.4f ms" % best)
print("%-10s %6s %10s %8s %10s %9s" % ("algorithm", "meas.", "median ms", "x best", "within 5%", "distinct"))
for (a, m), v in runs.items():
    ok = [x for x in v if x == x]
    med = statistics.median(ok) if ok else float("nan")
    print("%-10s %6d %10.4f %8.3f %7d/%-2d %9d" % (a, m, med, med / best, sum(x <= 1.05 * best for x in ok), len(v), len(set(ok))))
PY
