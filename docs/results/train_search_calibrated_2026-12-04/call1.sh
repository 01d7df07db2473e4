# Call 1 on the lent H200 (issue 24, the second training search on D-large): build this tree, run
# the [gpu] tests, and stage the first four of D-large's five packed parts (docs/data.md: carried
# as data/corpus-large-v1.parts/{index.json,manifest.json.000.xz,tokenizer.model.000.xz,
# val.tokens.000.xz,train.tokens.000.xz} beside .devdeps).
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call1; mkdir -p $o; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; df -h . | tail -1; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
PYTHONPATH=src/python python3 -m fracnas_corpus unpack data/corpus-large-v1.parts data/corpus-large-v1 2>&1 | tail -2 | tee -a $o/machine.txt
timeout 150 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
tail -2 $o/gpu_tests.txt; cat $o/machine.txt
