# Call 6 on the lent H200 (the session's last device time), carrying .devdeps and data/corpus-v1:
# build; the [gpu] tests; GPT-2 small's shape's ladder top with the fp32 residual stream now in
# the fused layers and fracnas's add kernel; its eager profile; seed 1 on D. Written to $OUT as it goes.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas train_speed fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
gpt2="n_layer=12 d_model=768 d_inner=3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072 n_head=12,12,12,12,12,12,12,12,12,12,12,12"
top=async+fused_adamw+fused_loss+cuda_graph+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel
eager=async+fused_adamw+fused_loss+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel+residual_fp32
timeout 150 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $?" >> $o/machine.txt; tail -2 $o/gpu_tests.txt
$B/benchmarks/train_speed --steps 60 --repeats 3 --arch "$gpt2" --ladder $top,residual_fp32 > $o/train_speed_fused_residual.txt 2>&1
echo "ladder: exit $?" >> $o/machine.txt
$B/benchmarks/train_speed --steps 40 --repeats 1 --gemm 0 --arch "$gpt2" --ladder $eager --profile $eager > $o/profile_fused_residual.txt 2>&1
echo "profile: exit $?" >> $o/machine.txt
$B/fracnas train --preset gpt2-small --data data/corpus-v1 --tokens 10000000 --seed 1 --speed ${top//+/,},residual_fp32 --json \
  > $o/curve_bf16residual_fused_s1.json 2> $o/curve_bf16residual_fused_s1.err
echo "curve: exit $?" >> $o/machine.txt
cat $o/machine.txt; grep -h 'tokens/s\|^n_layer\|profile' $o/train_speed_*.txt $o/profile_*.txt | cut -c1-40,150-
python3 -c "import json; d=json.load(open('$o/curve_bf16residual_fused_s1.json')); print(d['status'], d['final_val_perplexity'], d['steady_tokens_per_second'], repr(d['engine_note']))"
