#!/usr/bin/env bash
# Issue 22's studies on D-large, on a GPU machine that holds data/corpus-large-v1 (docs/data.md)
# and a build of fracnas: every architecture of benchmarks/train_dlarge.txt trained once with
# one recipe (wsd, epoch sampling: no token read twice) to the full budget, the smaller budgets
# measured on the way (--budgets), its latency and grad-norm measured (fracnas eval); then GPT-2
# small's shape with a second seed, and cosine (recipe A's schedule) at the full budget for three
# shapes: what wsd costs. Tabulate with benchmarks/budget_report.py OUT/wsd_seed1 OUT/wsd_seed2 OUT/cosine.
#   FRACNAS=build-gpu/fracnas bash benchmarks/gpu_dlarge_study.sh OUT
# TOKENS (default 16,000,000: 0.22 of an epoch) and BUDGETS (default 1, 2, 4 and 8 M) set
# the budgets. Re-running the same command skips what is done (train_proxy.sh).
set -euo pipefail
out=${1:?usage: gpu_dlarge_study.sh OUT}
here=$(dirname "$0")
export FRACNAS=${FRACNAS:-build/fracnas} DATA=${DATA:-data/corpus-large-v1} TOKENS=${TOKENS:-16000000}
budgets=${BUDGETS:-1000000,2000000,4000000,8000000}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv > "$out/machine.txt" 2>&1 || true
wsd="--sampling epoch --schedule wsd --budgets $budgets"
EXTRA="$wsd" SEED=1 bash "$here/train_proxy.sh" "$here/train_dlarge.txt" "$out/wsd_seed1"
EXTRA="$wsd" SEED=2 EVAL=0 ONLY="gpt2_small" bash "$here/train_proxy.sh" "$here/train_dlarge.txt" "$out/wsd_seed2"
EXTRA="--sampling epoch --schedule cosine" SEED=1 EVAL=0 ONLY="gpt2_small l2_d1920_f7232 l4_d768" \
  bash "$here/train_proxy.sh" "$here/train_dlarge.txt" "$out/cosine"
echo "== the study is done ($(date -u +%H:%M:%S))" >&2
