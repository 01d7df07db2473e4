# Call 1 on the lent H200 (carrying .devdeps and data/corpus-v1): build; the [gpu] tests; the
# speed ladder of fracnas's own kernels and the changed fused_dense on top of `all`; the eager
# profile with all of them; GPT-2 small's shape on D with `all` and with the kernels added (the
# loss curve before and after). Everything into one tar under $OUT.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=/tmp/r; mkdir -p $o
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build build-gpu --target fracnas train_speed fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
(setsid nohup bash docs/results/training_kernels_2026-12-03/driver.sh > $o/driver.log 2>&1 < /dev/null &)
while [ $(( $(date +%s)-s )) -lt 560 ] && [ ! -f $o/DONE ]; do sleep 5; done
tar -C /tmp -cf $OUT/r.tar r; ls -la $o; tail -4 $o/gpu_tests.txt; cat $o/train_speed.txt 2>/dev/null | tail -16
