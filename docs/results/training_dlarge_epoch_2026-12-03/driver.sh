#!/usr/bin/env bash
# This session's driver on the H200 (kept beside its results; most needed first, the session's 30
# device minutes cut the rest): the speed of bf16 weights, the answer at one epoch for the reference
# and 2 x 1024 (two seeds), bf16 weights at 16 M,
# the five narrow-embedding shapes of the 16 M study, the other candidates at one epoch, cosine.
# Run from the repository root with D-large staged, /tmp/fracnas and /tmp/train_speed copies of the build.
set -uo pipefail
rm -rf /tmp/bench && cp -r benchmarks /tmp/bench   # the next calls' tree copies do not touch it
export FRACNAS=/tmp/fracnas DATA=data/corpus-large-v1
o=/tmp/study b=/tmp/bench
mkdir -p $o && nvidia-smi --query-gpu=name,driver_version --format=csv > $o/machine.txt 2>&1
wsd16="--sampling epoch --schedule wsd --budgets 1000000,2000000,4000000,8000000"
# bf16 weights (fp32 masters) against autocast, then the flash attention: speed; then bf16 weights in
# the 16 M study's run of two shapes
/tmp/train_speed --steps 60 --repeats 3 --ladder async+fused_adamw+fused_loss+cuda_graph,bf16_weights,flash_attention > $o/train_speed.txt 2>&1
SEEDS=1 ONLY="gpt2_small l2_d1024" bash $b/gpu_dlarge_epoch.sh $o
EXTRA="--speed async,fused_adamw,fused_loss,cuda_graph,bf16_weights $wsd16" TOKENS=16000000 SEED=1 EVAL=0 \
  ONLY="gpt2_small l2_d1024" bash $b/train_proxy.sh $b/train_dlarge.txt $o/bf16w_seed1
SEEDS=2 ONLY="gpt2_small l2_d1024" bash $b/gpu_dlarge_epoch.sh $o
EXTRA="$wsd16" TOKENS=16000000 SEED=1 \
  ONLY="l8_d768_e384 l6_d768_e384 l4_d768_e384 l2_d1920_f7232_e512 l1_d2816_f9856_e512" \
  bash $b/train_proxy.sh $b/train_dlarge.txt $o/wsd_seed1
SEEDS=1 ONLY="l4_d768 l2_d1536 l1_d2560_f10240" bash $b/gpu_dlarge_epoch.sh $o
EXTRA="--sampling epoch --schedule cosine" TOKENS=16000000 SEED=1 EVAL=0 ONLY="gpt2_small l4_d768" \
  bash $b/train_proxy.sh $b/train_dlarge.txt $o/cosine
SEEDS=2 ONLY="l4_d768 l2_d1536 l1_d2560_f10240" bash $b/gpu_dlarge_epoch.sh $o
echo "== the driver is done ($(date -u +%H:%M:%S))" >&2
touch $o/DONE
