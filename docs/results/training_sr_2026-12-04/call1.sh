# Call 1 on the lent H200: this tree (the stream's stochastic rounding at every width: the wide
# LayerNorm forward with the stream's add, the two-pass backward's dx; `all` with bf16 = residual_sr
# instead of residual_fp32); the [gpu] tests; the three shapes' ladders for the fp32 stream (the
# former `all`) and residual_sr (the new `all`), recipe A's first loop (baseline) for GPT-2 small's
# shape; then `fracnas train` on D at 10 M tokens for 2 x 1920, the new `all` and autocast (the
# settings of the earlier autocast seeds), paired seeds, while time is left.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call1; mkdir -p $o; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas train_speed fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
top=async+fused_adamw+fused_loss+cuda_graph+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel
timeout 300 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt; tail -2 $o/gpu_tests.txt
$B/benchmarks/train_speed --steps 60 --repeats 3 --gemm 0 --ladder $top+residual_sr > $o/train_speed_sr.txt 2>&1
$B/benchmarks/train_speed --steps 60 --repeats 3 --gemm 0 --ladder $top+residual_fp32 > $o/train_speed_fp32.txt 2>&1
echo "ladders: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
$B/benchmarks/train_speed --steps 60 --repeats 3 --gemm 0 --arch "n_layer=12 d_model=768 d_inner=3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072 n_head=12,12,12,12,12,12,12,12,12,12,12,12" --ladder baseline > $o/train_speed_baseline.txt 2>&1
echo "baseline: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
w="n_layer=2 d_model=1920 d_inner=7232,7232 n_head=30,30"
for seed in 1 2 3 4 5 6; do
  for name in all autocast; do
    [ $(( $(date +%s)-s )) -lt 535 ] || break 2
    speed=all; [ $name = autocast ] && speed=async,fused_adamw,fused_loss,cuda_graph,loss_kernel
    timeout 50 $B/fracnas train --arch "$w" --data data/corpus-v1 --tokens 10000000 --seed $seed --speed $speed --json > $o/curve_w_${name}_s$seed.json 2> $o/curve_w_${name}_s$seed.err
    echo "curve 2x1920 $name seed $seed: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
  done
done
cd $OUT && tar czf call1.tgz call1 && rm -rf call1
tar xzf call1.tgz -O call1/machine.txt; tar xzf call1.tgz -O call1/train_speed_sr.txt call1/train_speed_fp32.txt call1/train_speed_baseline.txt | grep -h '^n_layer' | cut -c1-20,150-
