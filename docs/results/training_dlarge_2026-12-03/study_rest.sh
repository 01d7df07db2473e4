#!/usr/bin/env bash
# temporary driver (not committed): the rest of gpu_dlarge_study.sh after a lost machine, most needed first
set -uo pipefail
export FRACNAS=build-gpu/fracnas DATA=data/corpus-large-v1 TOKENS=16000000
o=/tmp/study; b=benchmarks; wsd="--sampling epoch --schedule wsd --budgets 1000000,2000000,4000000,8000000"
EXTRA="$wsd" SEED=1 ONLY="l3_d1536 l4_d1344 l6_d1088 l3_d1280 l2_d1024 l8_d512 l12_d640 l16_d640 l24_d512" bash $b/train_proxy.sh $b/train_dlarge.txt $o/wsd_seed1
EXTRA="$wsd" SEED=2 EVAL=0 ONLY="gpt2_small" bash $b/train_proxy.sh $b/train_dlarge.txt $o/wsd_seed2
EXTRA="--sampling epoch --schedule cosine" SEED=1 EVAL=0 ONLY="gpt2_small l4_d768" bash $b/train_proxy.sh $b/train_dlarge.txt $o/cosine
EXTRA="$wsd" SEED=2 EVAL=0 ONLY="l4_d768" bash $b/train_proxy.sh $b/train_dlarge.txt $o/wsd_seed2
EXTRA="$wsd" SEED=1 bash $b/train_proxy.sh $b/train_dlarge.txt $o/wsd_seed1
echo "== the study is done ($(date -u +%H:%M:%S))" >&2
