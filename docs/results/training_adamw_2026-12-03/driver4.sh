#!/usr/bin/env bash
# The session's last driver on the H200 (after call4.sh's build), into /tmp/r. First (DONE1): the
# [gpu] tests; the top of the speed ladder for the three shapes (bf16 weights, every kernel, the
# AdamW kernel, then the fp32 residual stream, whose LayerNorms are now fracnas's kernels too);
# the eager profile with the fp32 residual stream. Then (DONE2): GPT-2 small's shape on D, 10 M
# tokens, seeds 3-5 with autocast (`all`), with bf16 weights and every kernel, and with the fp32
# residual stream besides (seeds 1-5 for the last); five seeds each with those of calls 2-3.
set -uo pipefail
o=/tmp/r B=build-gpu
gpt2="n_layer=12 d_model=768 d_inner=3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072 n_head=12,12,12,12,12,12,12,12,12,12,12,12"
top=async+fused_adamw+fused_loss+cuda_graph+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel
eager=async+fused_adamw+fused_loss+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel+residual_fp32
timeout 200 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $?" >> $o/machine.txt
$B/benchmarks/train_speed --steps 60 --repeats 3 --ladder $top,residual_fp32 > $o/train_speed_residual.txt 2>&1
echo "ladder: exit $?" >> $o/machine.txt
$B/benchmarks/train_speed --steps 40 --repeats 1 --gemm 0 --arch "$gpt2" --ladder $eager --profile $eager > $o/profile_residual.txt 2>&1
echo "profile: exit $?" >> $o/machine.txt
touch $o/DONE1
kernels=async,fused_adamw,fused_loss,cuda_graph,bf16_weights,loss_kernel,norm_kernel,fused_dense,adam_kernel
for seed in 1 2 3 4 5; do
  for speed in all $kernels $kernels,residual_fp32; do
    case $speed in all) name=all;; $kernels) name=bf16kernels;; *) name=bf16residual;; esac
    [ $seed -le 2 ] && [ $name != bf16residual ] && continue   # calls 2-3 ran these
    $B/fracnas train --preset gpt2-small --data data/corpus-v1 --tokens 10000000 --seed $seed --speed $speed --json \
      > $o/curve_${name}_s$seed.json 2> $o/curve_${name}_s$seed.err
    echo "curve_${name}_s$seed: exit $?" >> $o/machine.txt
  done
done
touch $o/DONE2
