#!/usr/bin/env bash
# Runs unwind_probe under mpiexec -n 2: passes when the job ends (no hang past the limit) with a
# failure and rank 0's sentence, i.e. the master's environment did not finalize while its
# exception unwound. Usage: unwind_test.sh MPIEXEC PROBE [EXTRA MPIEXEC FLAGS...]
set -u
mpiexec=$1 probe=$2
shift 2
limit=30
out=$(timeout -k 5 "$limit" "$mpiexec" -n 2 "$@" "$probe" 2>&1)
rc=$?
echo "$out"
echo "mpiexec ended with $rc"
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "FAIL: the job hung for $limit s: rank 0 waited in MPI_Finalize for a rank that waited for it"
    exit 1
fi
if [ "$rc" -eq 0 ]; then
    echo "FAIL: the job ended 0 although its master failed"
    exit 1
fi
if ! grep -q "unwind_probe: rank 0: the master failed while a worker waited for it" <<<"$out"; then
    echo "FAIL: rank 0's sentence is missing"
    exit 1
fi
echo "ok: the job ended, failed, and rank 0 said why"
