# Call 1 on the lent H200: this tree; the [gpu] tests; then the first training search on the GPU
# (issue 24): LibTorch timings and trainings in one worker, D (data/corpus-v1, 8.5 M training
# tokens) with rungs of 2, 4 and 8 M tokens (8 M: one epoch, no token read twice), eta 3, the
# floor at half GPT-2 small's decoder parameters, a 12-layer, 1536-wide heterogeneous space; it
# stops asking after 330 s and drains in-flight work for up to 60 s, as a job with a time limit
# does. The archive and its training states stay in runs/ for call 2's --resume.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call1; mkdir -p $o runs; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
timeout 120 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt; tail -2 $o/gpu_tests.txt
rm -rf runs/ts.h5 runs/ts.h5.states
timeout 470 $B/fracnas search --budget 400 --rungs 2000000,4000000,8000000 --train-data data/corpus-v1 \
  --min-params 42528000 --max-layers 12 --max-width 1536 --progress-every 5 \
  --time-limit 330 --grace 60 --archive runs/ts.h5 > $o/search.txt 2>&1
echo "search: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
du -sh runs/ts.h5.states >> $o/machine.txt 2>&1
cp runs/ts.h5 $o/
cd $OUT && tar czf call1.tgz call1 && rm -rf call1
tar xzf call1.tgz -O call1/machine.txt; tar xzf call1.tgz -O call1/search.txt | grep -v "^  " | tail -25
