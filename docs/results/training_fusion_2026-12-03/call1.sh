# Call 1 on the lent H200, carrying .devdeps, data/corpus-v1 and .base (the tree of ae9ca4a,
# `git archive ae9ca4a`, the session's starting point): both trees built; the [gpu] tests of the
# new one; GPT-2 small's shape's fastest setting and the fp32-stream `all` with each tree, same
# machine; eager profiles of the new tree; `fracnas train --speed all` on D, seeds 1 and 2, while
# time is left. Written to $OUT as it goes.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas train_speed fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
( cmake -S .base -B /tmp/base-build -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/base-cfg.log 2>&1 && cmake --build /tmp/base-build --target train_speed >/tmp/base-build.log 2>&1; echo "base build exit $?" >> $o/machine.txt ) &
gpt2="n_layer=12 d_model=768 d_inner=3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072 n_head=12,12,12,12,12,12,12,12,12,12,12,12"
top=async+fused_adamw+fused_loss+cuda_graph+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel
eager=async+fused_adamw+fused_loss+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel
timeout 200 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $?" >> $o/machine.txt; tail -2 $o/gpu_tests.txt
wait; echo "both built $(( $(date +%s)-s )) s" | tee -a $o/machine.txt; tail -3 /tmp/base-build.log
for tree in new base; do
  T=$B/benchmarks/train_speed; [ $tree = base ] && T=/tmp/base-build/benchmarks/train_speed
  $T --steps 60 --repeats 3 --arch "$gpt2" --ladder $top,residual_fp32 > $o/train_speed_$tree.txt 2>&1
  echo "ladder $tree: exit $?" >> $o/machine.txt
done
$B/benchmarks/train_speed --steps 40 --repeats 1 --gemm 0 --arch "$gpt2" --ladder $eager --profile $eager > $o/profile_bf16.txt 2>&1
$B/benchmarks/train_speed --steps 40 --repeats 1 --gemm 0 --arch "$gpt2" --ladder $eager+residual_fp32 --profile $eager+residual_fp32 > $o/profile_fp32stream.txt 2>&1
echo "profiles: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
for seed in 1 2; do
  [ $(( $(date +%s)-s )) -lt 470 ] || break
  timeout 60 $B/fracnas train --preset gpt2-small --data data/corpus-v1 --tokens 10000000 --seed $seed --speed all --json > $o/curve_all_s$seed.json 2> $o/curve_all_s$seed.err
  echo "curve seed $seed: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
done
cat $o/machine.txt; grep -h 'tokens/s\|^n_layer\|profile (' $o/train_speed_*.txt $o/profile_*.txt | cut -c1-40,150-
