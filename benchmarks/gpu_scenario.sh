#!/usr/bin/env bash
# The generation scenario of docs/results/gpu_eval.md: greedy generation of 128 tokens after a
# 128-token prompt, bf16, CUDA-graph replay (one graph per step) against eager, for GPT-2 small
# and medium and three shallow-wide models of ~85 M decoder parameters; each evaluation also
# times GPT-2 small the same way (--reference) and reports the ratio.
# Usage: benchmarks/gpu_scenario.sh BUILD_DIR OUT_DIR
set -euo pipefail
# ---- change these for your system --------------------------------------------------------------
bin=${1:-build}/fracnas
out=${2:-.}
repeats=25            # the scenario times repeats / 5 = 5 runs after 2 warm-ups
device=cuda
# -------------------------------------------------------------------------------------------------
source "$(dirname "${BASH_SOURCE[0]}")/gpu_models.sh"   # list() and archs
: > "$out/scenario.jsonl"
for a in "${archs[@]}"; do
  kind=${a%% *}; value=${a#* }
  for mode in graph eager; do
    flag=(); [ "$mode" = eager ] && flag=(--eager)
    "$bin" eval --"$kind" "$value" --device "$device" --dtype bf16 --measure scenario --prompt 128 --generate 128 \
      --repeats "$repeats" --reference gpt2-small "${flag[@]}" --json >> "$out/scenario.jsonl"
  done
done
