#!/usr/bin/env bash
# This session's second driver on the H200 (the first, in call1/, found the kernels unloaded in a
# process whose first CUDA work they were), most needed first. Run from the repository root after
# call2.sh's build; writes into /tmp/r: the [gpu] tests, the speed ladder of fracnas's own kernels
# and the changed fused_dense on top of `all`, the eager profile with all of them, GPT-2 small's
# shape on D with `all` and with them (touching DONE1); then, once call3.sh has assembled D-large
# (/tmp/corpus_ready), one epoch of 8 x 768 and 6 x 1088 and a second seed of 10 x 768 with the
# reference's one-epoch settings (autocast), touching DONE.
set -uo pipefail
o=/tmp/r B=build-gpu
gpt2="n_layer=12 d_model=768 d_inner=3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072 n_head=12,12,12,12,12,12,12,12,12,12,12,12"
all=async+fused_adamw+fused_loss+cuda_graph+bf16_weights
eager=async+fused_adamw+fused_loss+bf16_weights
timeout 200 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $?" >> $o/machine.txt
$B/benchmarks/train_speed --steps 60 --repeats 3 --ladder $all,loss_kernel,norm_kernel,fused_dense > $o/train_speed.txt 2>&1
for p in $eager $eager+loss_kernel+norm_kernel+fused_dense; do
  $B/benchmarks/train_speed --steps 40 --repeats 1 --gemm 0 --arch "$gpt2" --ladder $p --profile $p > $o/profile_$([ ${#p} -gt 40 ] && echo kernels || echo bf16).txt 2>&1
done
for speed in async,fused_adamw,fused_loss,cuda_graph,bf16_weights async,fused_adamw,fused_loss,cuda_graph,bf16_weights,loss_kernel,norm_kernel,fused_dense; do
  name=$([ ${#speed} -gt 60 ] && echo kernels || echo all)
  $B/fracnas train --preset gpt2-small --data data/corpus-v1 --tokens 10000000 --seed 1 --speed $speed --json > $o/curve_$name.json 2> $o/curve_$name.err
  echo "curve $name: exit $?" >> $o/machine.txt
done
touch $o/DONE1
while [ ! -f /tmp/corpus_ready ]; do sleep 2; done
rm -rf /tmp/bench && cp -r benchmarks /tmp/bench   # the next call's tree copy does not touch it
export FRACNAS=$B/fracnas SPEED=async,fused_adamw,fused_loss,cuda_graph   # the reference's one-epoch runs: autocast
cp $B/fracnas /tmp/fracnas && export FRACNAS=/tmp/fracnas
SEEDS=1 ONLY="l8_d768 l6_d1088" bash /tmp/bench/gpu_dlarge_epoch.sh $o
SEEDS=2 ONLY="l10_d768" bash /tmp/bench/gpu_dlarge_epoch.sh $o
touch $o/DONE
