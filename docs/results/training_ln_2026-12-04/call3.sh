# Call 3 on the lent H200: this session's final tree (the LayerNorm backward of call 1, gemm_tune
# of call 2, the loss kernel's exp by __expf) and the session's starting tree (64e8d1c, carried as
# .base), both built on the same machine; the [gpu] tests; the ladders of the three shapes for the
# bf16 stream, the fp32 stream (all, + gemm_tune, + norm_add) and residual_sr (+ gemm_tune), the
# same without gemm_tune on the starting tree; an eager profile of residual_sr; then `fracnas train`
# on D at 10 M tokens with the fp32 stream + norm_add + gemm_tune, seeds 1-5, while time is left.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call3; mkdir -p $o; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
( cmake -S .base -B /tmp/base-build -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/base-cfg.log 2>&1 && cmake --build /tmp/base-build --target train_speed >/tmp/base-build.log 2>&1; echo "base build exit $?" >> $o/machine.txt ) &
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas train_speed fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
arch() { local l=$1 d=$2 f=$3 h=$4 i; local fs= hs=; for ((i=0;i<l;i++)); do fs+=${fs:+,}$f; hs+=${hs:+,}$h; done; echo "n_layer=$l d_model=$d d_inner=$fs n_head=$hs"; }
top=async+fused_adamw+fused_loss+cuda_graph+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel
eager=async+fused_adamw+fused_loss+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel
timeout 300 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt; tail -2 $o/gpu_tests.txt
wait
$B/benchmarks/train_speed --steps 60 --repeats 3 --ladder $top,residual_fp32,gemm_tune,norm_add > $o/train_speed_top.txt 2>&1
$B/benchmarks/train_speed --steps 60 --repeats 3 --gemm 0 --ladder $top+residual_sr,gemm_tune > $o/train_speed_sr.txt 2>&1
echo "ladders: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
/tmp/base-build/benchmarks/train_speed --steps 60 --repeats 3 --ladder $top,residual_fp32,norm_add > $o/train_speed_top_base.txt 2>&1
/tmp/base-build/benchmarks/train_speed --steps 60 --repeats 3 --gemm 0 --ladder $top+residual_sr > $o/train_speed_sr_base.txt 2>&1
echo "ladders base: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
g=$(arch 12 768 3072 12)
$B/benchmarks/train_speed --steps 40 --repeats 1 --gemm 0 --arch "$g" --ladder $eager+residual_sr --profile $eager+residual_sr > $o/profile_sr.txt 2>&1
echo "profile: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
for seed in 1 2 3 4 5; do
  [ $(( $(date +%s)-s )) -lt 470 ] || break
  timeout 45 $B/fracnas train --preset gpt2-small --data data/corpus-v1 --tokens 10000000 --seed $seed --speed async,fused_adamw,fused_loss,cuda_graph,bf16_weights,loss_kernel,norm_kernel,fused_dense,adam_kernel,residual_fp32,norm_add,gemm_tune --json > $o/curve_fp32add_s$seed.json 2> $o/curve_fp32add_s$seed.err
  echo "curve fp32add seed $seed: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
done
cd $OUT && tar czf call3.tgz call3 && rm -rf call3
tar xzf call3.tgz -O call3/machine.txt
