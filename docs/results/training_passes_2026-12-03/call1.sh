# Call 1 on the lent H200, carrying .devdeps, data/corpus-v1 and .base (`git archive 3ce3eba`, the
# session's starting tree, without docs/results): both trees built; the [gpu] tests of the new one;
# the ladder's top two rungs (bf16 stream, fp32 stream = `all`) for train_speed's three shapes with
# each tree on the same machine; eager profiles of the new tree (both streams); `fracnas train
# --speed all` on D, seeds 1-5, while time is left. Written under $OUT as it goes, then one tar.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call1; mkdir -p $o; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas train_speed fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
( cmake -S .base -B /tmp/base-build -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/base-cfg.log 2>&1 && cmake --build /tmp/base-build --target train_speed >/tmp/base-build.log 2>&1; echo "base build exit $?" >> $o/machine.txt ) &
arch() { local l=$1 d=$2 f=$3 h=$4 i; local fs= hs=; for ((i=0;i<l;i++)); do fs+=${fs:+,}$f; hs+=${hs:+,}$h; done; echo "n_layer=$l d_model=$d d_inner=$fs n_head=$hs"; }
top=async+fused_adamw+fused_loss+cuda_graph+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel
eager=async+fused_adamw+fused_loss+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel
timeout 240 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt; tail -2 $o/gpu_tests.txt
wait
$B/benchmarks/train_speed --steps 60 --repeats 3 --ladder $top,residual_fp32 > $o/train_speed_top.txt 2>&1  # the three shapes
echo "ladder: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
/tmp/base-build/benchmarks/train_speed --steps 60 --repeats 3 --ladder $top,residual_fp32 > $o/train_speed_top_base.txt 2>&1
echo "ladder base: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
$B/benchmarks/train_speed --steps 40 --repeats 1 --gemm 0 --arch "$(arch 12 768 3072 12)" --ladder $eager --profile $eager > $o/profile_bf16.txt 2>&1
$B/benchmarks/train_speed --steps 40 --repeats 1 --gemm 0 --arch "$(arch 12 768 3072 12)" --ladder $eager+residual_fp32 --profile $eager+residual_fp32 > $o/profile_fp32stream.txt 2>&1
echo "profiles: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
for seed in 1 2 3 4 5; do
  [ $(( $(date +%s)-s )) -lt 480 ] || break
  timeout 60 $B/fracnas train --preset gpt2-small --data data/corpus-v1 --tokens 10000000 --seed $seed --speed all --json > $o/curve_all_s$seed.json 2> $o/curve_all_s$seed.err
  echo "curve seed $seed: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
done
cd $OUT && tar czf call1.tgz call1 && rm -rf call1
tar xzf call1.tgz -O call1/machine.txt; tar xzf call1.tgz -O call1/train_speed_top.txt call1/train_speed_top_base.txt call1/profile_bf16.txt call1/profile_fp32stream.txt | grep -h 'tokens/s\|^n_layer\|profile (\|gelu\|ln_backward\|xent\|copy\|Cat\|add<float\|mul' | cut -c1-30,150-
