# Call 2 on the lent H200, carrying .devdeps, data/corpus-v1 and D-large's small parts (index.json,
# manifest, tokenizer, val, train.tokens.001): build, start driver.sh, stage those parts, return
# /tmp/r as one tar once the speed work is done (DONE1).
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=/tmp/r; mkdir -p $o
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build build-gpu --target fracnas train_speed fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
(setsid nohup bash docs/results/training_kernels_2026-12-03/driver.sh > $o/driver.log 2>&1 < /dev/null &)
PYTHONPATH=src/python python3 -m fracnas_corpus unpack data/corpus-large-v1.parts data/corpus-large-v1 2>&1 | tail -2
while [ $(( $(date +%s)-s )) -lt 560 ] && [ ! -f $o/DONE1 ]; do sleep 3; done
tar -C /tmp -cf $OUT/r.tar r; tail -4 $o/gpu_tests.txt; cat $o/machine.txt; grep -h '^n_layer\|note' $o/train_speed.txt $o/profile_*.txt | cut -c1-30,150-
