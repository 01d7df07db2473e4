#!/usr/bin/env bash
# This session's driver on the H200, run from the repository root after call1.sh's build; writes
# into /tmp/r. First (touching DONE1): the [gpu] tests, the whole speed ladder for GPT-2 small's
# shape (recipe A's first loop, each setting after the other, autocast's `all` = cuda_graph +
# loss_kernel, then bf16 weights with fracnas's kernels and the AdamW kernel), the top rungs for
# 10 x 768 and 2 x 1920, the eager profile with every kernel. Then (touching DONE2): GPT-2 small's
# shape on D, 10 M tokens, seeds 1 and 2, with autocast (`all`) and with bf16 weights and every
# kernel: the same-lease comparison of their perplexities.
set -uo pipefail
o=/tmp/r B=build-gpu
gpt2="n_layer=12 d_model=768 d_inner=3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072 n_head=12,12,12,12,12,12,12,12,12,12,12,12"
top=async+fused_adamw+fused_loss+cuda_graph+bf16_weights+loss_kernel+norm_kernel+fused_dense
eager=async+fused_adamw+fused_loss+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel
timeout 200 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $?" >> $o/machine.txt
$B/benchmarks/train_speed --steps 60 --repeats 3 --arch "$gpt2" \
  --ladder baseline,async,fused_adamw,fused_loss,cuda_graph,loss_kernel,bf16_weights,norm_kernel,fused_dense,adam_kernel > $o/train_speed_ladder.txt 2>&1
echo "ladder: exit $?" >> $o/machine.txt
$B/benchmarks/train_speed --steps 60 --repeats 3 --ladder $top,adam_kernel > $o/train_speed_top.txt 2>&1
echo "top: exit $?" >> $o/machine.txt
$B/benchmarks/train_speed --steps 40 --repeats 1 --gemm 0 --arch "$gpt2" --ladder $eager --profile $eager > $o/profile_adam.txt 2>&1
echo "profile: exit $?" >> $o/machine.txt
touch $o/DONE1
for seed in 1 2; do
  for speed in all async,fused_adamw,fused_loss,cuda_graph,bf16_weights,loss_kernel,norm_kernel,fused_dense,adam_kernel; do
    name=curve_$([ $speed = all ] && echo all || echo bf16kernels)_s$seed
    $B/fracnas train --preset gpt2-small --data data/corpus-v1 --tokens 10000000 --seed $seed --speed $speed --json > $o/$name.json 2> $o/$name.err
    echo "$name: exit $?" >> $o/machine.txt
  done
done
touch $o/DONE2
