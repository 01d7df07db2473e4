# Call 2 on the lent H200 (run twice: the first run asserted that the promoted training ends
# below the first, which this stream's floor does not allow; the assertion was wrong): this tree (issue 24's training tasks: the LibTorch worker trains a
# task on its GPU, a promotion continuing its state); the [gpu] tests, the new case among them.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call2; mkdir -p $o; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; git rev-parse HEAD 2>/dev/null; date -u; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
timeout 300 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
timeout 120 $B/tests/fracnas_tests "gpu: a worker's training task*" -s 2>&1 | tail -30 > $o/gpu_worker_training.txt
cd $OUT && tar czf call2.tgz call2 && rm -rf call2
tar xzf call2.tgz -O call2/machine.txt; tar xzf call2.tgz -O call2/gpu_tests.txt | tail -4
