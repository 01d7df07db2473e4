# One device call (written 2026-12-05 when no machine could be started all session; run as calls 1
# and 2 of README.md beside it on an H100 the session after), carrying .devdeps. Build; issue 25's
# last table: each block option's effect on the Llama-3.2-1B shape (run.sh beside this, stopped
# LIMIT (360) s after the call began; run.sh's working folder is $OUT/call1/blocks_1b, so what was
# measured comes back even if the call is cut); the [gpu] tests (726d3e1's review mends have not run
# on a GPU); then, if CALL_LIMIT (585) leaves 200 s, issue 26's timing stage on this one GPU
# (../scaling_next_lease/run.sh timing: the strong and weak series at 1 GPU and the strong one again
# with --queued 1, with analyze's idle split; since --queued auto became the default, that stage's
# second series is --queued 0). From the repository root:
#   bash docs/results/blocks_1b_h100_2026-12-05/call.sh
# It prints table.py's tables (each option row against the shape as Llama-3.2-1B has it).
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call1; mkdir -p $o; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; python3 -c "import torch; print(torch.__version__)"; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
mkdir -p runs $o/blocks_1b; rm -rf runs/blocks_1b; ln -s $o/blocks_1b runs/blocks_1b
BUILD=$B bash docs/results/blocks_1b_h100_2026-12-05/run.sh $o/blocks_1b $s ${LIMIT:-360}
echo "blocks_1b: $(grep -c . $o/blocks_1b/done.txt) lines in done.txt at $(( $(date +%s)-s )) s" >> $o/machine.txt
timeout 200 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
left=$(( ${CALL_LIMIT:-585} - ($(date +%s)-s) ))
[ $left -gt 200 ] && B=$B timeout $left bash docs/results/scaling_next_lease/run.sh timing $o/timing_1gpu > $o/timing_1gpu.out 2>&1
echo "timing stage: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
cat $o/machine.txt; tail -3 $o/gpu_tests.txt; tail -1 $o/blocks_1b/done.txt; tail -30 $o/timing_1gpu.out 2> /dev/null
python3 docs/results/blocks_1b_h100_2026-12-05/table.py $o/blocks_1b/llama_1b_options.jsonl
