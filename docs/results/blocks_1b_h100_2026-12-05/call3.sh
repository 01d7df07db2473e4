# Call 3 (the same warm H100 as call 1, its build-gpu kept): the 1-GPU strong run (2,000
# candidates, seed 1, the default job's search on the heterogeneous space) three times without and
# three times with --queued 1, alternating; fracnas analyze of each archive. From the repository root:
#   bash docs/results/blocks_1b_h100_2026-12-05/call3.sh
# (run as one line; its `wall ... s` figure is empty because that machine has no bc: analyze's
# `sessions` line gives the wall time). Files of run 3 did not come back (the call's file count).
source .devdeps/gpu-env.sh >/dev/null; B=build-gpu; cmake --build $B --target fracnas >/dev/null 2>&1 || echo build failed; mkdir -p $OUT/q runs/q; for i in 1 2 3; do for q in 0 1; do a=runs/q/s$i-q$q.h5; rm -f $a; extra=; [ $q = 1 ] && extra="--queued 1"; t=$(date +%s.%N); GPUS=1 ARCHIVE=$a FRACNAS=$B/fracnas timeout 120 bash mpi_launch/search_local.sh --space heterogeneous --seed 1 --budget 2000 --progress-every 100000 $extra > $OUT/q/s$i-q$q.out 2>&1; echo "run $i queued $q exit $? wall $(echo "$(date +%s.%N) - $t" | bc) s"; $B/fracnas analyze $a > $OUT/q/s$i-q$q.analyze.txt 2>&1; grep -h "^sessions\|answers/s\|all:\|idle:" $OUT/q/s$i-q$q.analyze.txt; done; done; nvidia-smi --query-gpu=name --format=csv,noheader
