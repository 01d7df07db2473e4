# Call 4 on the lent H200, carrying .devdeps and data/corpus-v1: build, start driver4.sh, return
# /tmp/r as one tar once its speed work is done (DONE1); the curves go on for call5.sh.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=/tmp/r; rm -rf $o; mkdir -p $o
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build build-gpu --target fracnas train_speed fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
(setsid nohup bash docs/results/training_adamw_2026-12-03/driver4.sh > $o/driver.log 2>&1 < /dev/null &)
while [ $(( $(date +%s)-s )) -lt 570 ] && [ ! -f $o/DONE1 ]; do sleep 3; done
tar -C /tmp -cf $OUT/r.tar r; tail -3 $o/gpu_tests.txt; cat $o/machine.txt; grep -h 'tokens/s\|^n_layer\|note\|profile' $o/train_speed_*.txt $o/profile_*.txt | cut -c1-40,150-
