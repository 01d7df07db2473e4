# Call 3 (the same machine, right after call 2): job 2 of the same search, resumed from its archive
# (the trainings in flight continue from their saved states). LIMIT: the job's --time-limit.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call3; mkdir -p $o; B=build-gpu
timeout -s KILL $(( ${LIMIT:-400} + 150 )) $B/fracnas search --resume runs/llama.h5 --time-limit ${LIMIT:-400} --grace 120 > $o/job2.txt 2>&1
echo "job 2: exit $? at $(( $(date +%s)-s )) s" | tee $o/end.txt
ls -la runs/llama.h5.states/* >> $o/end.txt 2>&1
cp runs/llama.h5 $o/; $B/fracnas analyze runs/llama.h5 > $o/analyze.txt 2>&1
grep -v "^  " $o/job2.txt | tail -25; tail -14 $o/analyze.txt
