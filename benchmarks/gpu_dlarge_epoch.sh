#!/usr/bin/env bash
# Issue 22's answer at one epoch on D-large: GPT-2 small's shape and the fastest candidates of the
# 16 M study (gpu_dlarge_study.sh) trained to one epoch with the study's recipe (wsd, epoch
# sampling: 71.5 M tokens, no token read twice), each seed of SEEDS into OUT/epoch_seedS. Latency
# and grad-norm are the study's (its eval JSON): EVAL=0 here. On a GPU machine holding
# data/corpus-large-v1 (docs/data.md) and a build of fracnas:
#   FRACNAS=build-gpu/fracnas bash benchmarks/gpu_dlarge_epoch.sh OUT
# ONLY (default: the reference and the four fastest within 3% at 16 M), SEEDS (default "1 2"),
# TOKENS (default 71,500,000: 4,364 steps of 32 x 512, 0.9995 of D-large's 71,537,457 training
# tokens), SPEED (the --speed of the trainings; default the CLI's, "all"). Re-running the same
# command skips what is done (train_proxy.sh).
set -euo pipefail
out=${1:?usage: gpu_dlarge_epoch.sh OUT}
here=$(dirname "$0")
export FRACNAS=${FRACNAS:-build/fracnas} DATA=${DATA:-data/corpus-large-v1} TOKENS=${TOKENS:-71500000}
only=${ONLY:-gpt2_small l2_d1024 l4_d768 l2_d1536 l1_d2560_f10240}
for seed in ${SEEDS:-1 2}; do
  EXTRA="--sampling epoch --schedule wsd${SPEED:+ --speed $SPEED}" SEED=$seed EVAL=0 ONLY="$only" \
    bash "$here/train_proxy.sh" "$here/train_dlarge.txt" "$out/epoch_seed$seed"
done
