#!/usr/bin/env bash
# The archive's bytes against the bytes of its datasets (issue 23: at most 4x at any size), and the
# answers per second of the search that writes it (answered / the session's wall time, as printed): a latency-model search (no measurement cost)
# flushing per the default --flush-seconds (after every result until 2026-12-03), at several budgets, one run each. The dataset bytes
# are h5py's nbytes (rows x row size) summed over the tables; the Python is the one cmake/dev.sh
# installs (it has h5py).
#   bash benchmarks/archive_size.sh [FRACNAS] [BUDGETS...]     # default build/fracnas, 20 60 500 2000 10000
set -euo pipefail
fracnas=${1:-build/fracnas}
shift || true
budgets=${*:-20 60 500 2000 10000}
python=${PYTHON:-${XDG_CACHE_HOME:-$HOME/.cache}/fracnas/torch-2.11.0/bin/python}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "machine: $(hostname) | $(nproc) cores | $("$fracnas" --version 2>&1 | head -1) | $(date -u +%FT%TZ)"
printf "%8s %14s %14s %8s %12s\n" budget file_bytes dataset_bytes ratio answers/s
for b in $budgets; do
  "$fracnas" search --evaluator model --space homogeneous --budget "$b" --archive "$dir/a$b.h5" > "$dir/out$b.txt"
  "$python" - "$dir/a$b.h5" "$b" "$dir/out$b.txt" <<'PY'
import os, re, sys
import h5py
path, budget, out = sys.argv[1:4]
m = re.search(r"ended by .* after ([0-9.]+) s: ([0-9]+) answered", open(out).read())
rate = "%.0f" % (int(m.group(2)) / float(m.group(1))) if m and float(m.group(1)) > 0 else "?"
with h5py.File(path, "r") as f:
    data = sum(d.nbytes for d in f.values())
size = os.path.getsize(path)
print("%8s %14d %14d %8.2f %12s" % (budget, size, data, size / data, rate))
PY
done
