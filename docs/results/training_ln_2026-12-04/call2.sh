# Call 2 on the lent H200: this tree with gemm_tune (each GEMM shape's algorithm timed among
# cuBLASLt's candidates); the [gpu] tests; the ladders of the three shapes with and without
# gemm_tune for the bf16 stream, the fp32 stream (all) and residual_sr; then `fracnas train` on D at
# 10 M tokens, residual_sr and autocast (the settings of the earlier seeds 1-5) for seeds 6-10,
# paired, while time is left. Written under $OUT as it goes, then one tar.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call2; mkdir -p $o; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas train_speed fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
top=async+fused_adamw+fused_loss+cuda_graph+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel
timeout 300 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt; tail -2 $o/gpu_tests.txt
$B/benchmarks/train_speed --steps 60 --repeats 3 --ladder $top,gemm_tune > $o/train_speed_bf16.txt 2>&1
$B/benchmarks/train_speed --steps 60 --repeats 3 --gemm 0 --ladder $top+residual_fp32,gemm_tune > $o/train_speed_all.txt 2>&1
$B/benchmarks/train_speed --steps 60 --repeats 3 --gemm 0 --ladder $top+residual_sr,gemm_tune > $o/train_speed_sr.txt 2>&1
echo "ladders: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
for seed in 6 7 8 9 10; do
  for name in sr autocast; do
    [ $(( $(date +%s)-s )) -lt 545 ] || break 2
    speed=async,fused_adamw,fused_loss,cuda_graph,loss_kernel
    [ $name = sr ] && speed=async,fused_adamw,fused_loss,cuda_graph,bf16_weights,loss_kernel,norm_kernel,fused_dense,adam_kernel,residual_sr
    timeout 45 $B/fracnas train --preset gpt2-small --data data/corpus-v1 --tokens 10000000 --seed $seed --speed $speed --json > $o/curve_${name}_s$seed.json 2> $o/curve_${name}_s$seed.err
    echo "curve $name seed $seed: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
  done
done
cd $OUT && tar czf call2.tgz call2 && rm -rf call2
tar xzf call2.tgz -O call2/machine.txt; for f in bf16 all sr; do tar xzf call2.tgz -O call2/train_speed_$f.txt | grep -h '^n_layer' | cut -c1-20,150-; done
