#!/usr/bin/env bash
# This session's driver on the H200, most needed first. Run from the repository root after
# call1.sh's build; writes into /tmp/r, touches /tmp/r/DONE at the end.
set -uo pipefail
o=/tmp/r B=build-gpu
gpt2="n_layer=12 d_model=768 d_inner=3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072 n_head=12,12,12,12,12,12,12,12,12,12,12,12"
all=async+fused_adamw+fused_loss+cuda_graph+bf16_weights
eager=async+fused_adamw+fused_loss+bf16_weights
timeout 200 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $?" >> $o/machine.txt
$B/benchmarks/train_speed --steps 60 --repeats 3 --ladder $all,loss_kernel,norm_kernel,fused_dense > $o/train_speed.txt 2>&1
$B/benchmarks/train_speed --steps 40 --repeats 1 --gemm 0 --arch "$gpt2" --ladder $eager+loss_kernel+norm_kernel+fused_dense \
  --profile $eager+loss_kernel+norm_kernel+fused_dense > $o/profile_kernels.txt 2>&1
for speed in async,fused_adamw,fused_loss,cuda_graph,bf16_weights async,fused_adamw,fused_loss,cuda_graph,bf16_weights,loss_kernel,norm_kernel,fused_dense; do
  name=$([ ${#speed} -gt 60 ] && echo kernels || echo all)
  $B/fracnas train --preset gpt2-small --data data/corpus-v1 --tokens 10000000 --seed 1 --speed $speed --json > $o/curve_$name.json 2> $o/curve_$name.err
  echo "curve $name: exit $?" >> $o/machine.txt
done
touch $o/DONE
