# Calls 3 and on (the same machine, back to back): the next job of the same search, resumed from
# its archive; the training states of the earlier jobs are still in runs/dlc.h5.states. LIMIT and
# N from the command: LIMIT=380 N=3 bash call3.sh
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call$N; mkdir -p $o; B=build-gpu
timeout $(( LIMIT + 170 )) $B/fracnas search --resume runs/dlc.h5 --time-limit $LIMIT --grace 150 > $o/search.txt 2>&1
echo "search: exit $? at $(( $(date +%s)-s )) s" | tee $o/end.txt
du -sh runs/dlc.h5.states >> $o/end.txt 2>&1
cp runs/dlc.h5 $o/; $B/fracnas analyze runs/dlc.h5 > $o/analyze.txt 2>&1; $B/fracnas analyze runs/dlc.h5 --json > $o/analyze.json 2>&1
grep -v "^  " $o/search.txt | tail -30; tail -25 $o/analyze.txt
