#!/usr/bin/env bash
# The master's answers per second with its archive (issue 23's durability target: at least 10,000
# answers/s at the default settings, 10,000 workers at 1 s tasks): a dry run of 10,000 simulated
# workers on the analytic latency model, writing a real HDF5 archive, for each --flush-seconds
# given (default: 0, the flush after every batch, and 1, the default group commit) and each task
# cost (fixed 1 s tasks end together; lognormal ones, sigma 0.5, one at a time), REPEATS runs each:
# median, min and max of answered / the session's wall time as printed. Asserts nothing.
#   bash benchmarks/master_answers.sh [FRACNAS]          # default build/fracnas
# Change these for your system:
workers=${WORKERS:-10000}        # simulated workers
budget=${BUDGET:-60000}          # answers per run
repeats=${REPEATS:-3}            # runs per setting
flushes=${FLUSHES:-0 1}          # the --flush-seconds values
set -euo pipefail
fracnas=${1:-build/fracnas}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "machine: $(hostname) | $(nproc) cores | $("$fracnas" --version 2>&1 | head -1) | $(date -u +%FT%TZ)"
echo "dry run: $workers workers, budget $budget, homogeneous space, analytic latency model, $repeats runs each"
printf "%-14s %-22s %12s %12s %12s %14s\n" flush-seconds cost median min max archive_bytes
for cost in "fixed" "lognormal --cost-spread 0.5"; do
  for f in $flushes; do
    rates=()
    for ((i = 0; i < repeats; i++)); do
      rm -f "$dir/a.h5"
      # shellcheck disable=SC2086
      out=$("$fracnas" search --dispatcher dry-run --workers "$workers" --cost $cost --evaluator model --space homogeneous \
        --budget "$budget" --flush-seconds "$f" --progress-every "$budget" --archive "$dir/a.h5")
      rates+=("$(printf '%s\n' "$out" | sed -n 's/^ended by .* after \([0-9.]*\) s: \([0-9]*\) answered.*/\2 \1/p' | awk '{ printf "%.0f", $1 / $2 }')")
    done
    sorted=$(printf '%s\n' "${rates[@]}" | sort -n)
    printf "%-14s %-22s %12s %12s %12s %14s\n" "$f" "${cost%% *}" "$(echo "$sorted" | sed -n "$(( (repeats + 1) / 2 ))p")" \
      "$(echo "$sorted" | head -1)" "$(echo "$sorted" | tail -1)" "$(stat -c %s "$dir/a.h5")"
  done
done
