# Call 3 on the lent H200 (a fresh machine: the first went back idle), carrying .devdeps and
# data/corpus-v1: build; the [gpu] tests; GPT-2 small's shape on D (10 M tokens, seeds 1 and 2)
# with bf16 weights, every kernel and the fp32 residual stream; the top of the speed ladder for
# the three shapes (the loss now in one chunk with the kernel); the eager profile. /tmp/r as one tar.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=/tmp/r; rm -rf $o; mkdir -p $o; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas train_speed fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
gpt2="n_layer=12 d_model=768 d_inner=3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072 n_head=12,12,12,12,12,12,12,12,12,12,12,12"
top=async+fused_adamw+fused_loss+cuda_graph+bf16_weights+loss_kernel+norm_kernel+fused_dense
eager=async+fused_adamw+fused_loss+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel
timeout 200 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $?" >> $o/machine.txt
for seed in 1 2; do
  name=curve_bf16residual_s$seed
  $B/fracnas train --preset gpt2-small --data data/corpus-v1 --tokens 10000000 --seed $seed \
    --speed async,fused_adamw,fused_loss,cuda_graph,bf16_weights,loss_kernel,norm_kernel,fused_dense,adam_kernel,residual_fp32 --json > $o/$name.json 2> $o/$name.err
  echo "$name: exit $?" >> $o/machine.txt
done
$B/benchmarks/train_speed --steps 60 --repeats 3 --ladder $top,adam_kernel,residual_fp32 > $o/train_speed_top.txt 2>&1
echo "top: exit $?" >> $o/machine.txt
$B/benchmarks/train_speed --steps 40 --repeats 1 --gemm 0 --arch "$gpt2" --ladder $eager --profile $eager > $o/profile_adam_loss.txt 2>&1
echo "profile: exit $?" >> $o/machine.txt
tar -C /tmp -cf $OUT/r.tar r; tail -3 $o/gpu_tests.txt; cat $o/machine.txt; grep -h 'tokens/s\|^n_layer\|note\|profile' $o/train_speed_*.txt $o/profile_*.txt | cut -c1-40,150-
for f in $o/curve_*.json; do echo "$f"; python3 -c "import json,sys; d=json.load(open('$f')); print(d['status'], d['final_val_perplexity'], d['steady_tokens_per_second'], repr(d['engine_note']))" 2>&1 | tail -1; done
