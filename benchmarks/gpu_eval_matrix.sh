#!/usr/bin/env bash
# The candidate-evaluation matrix of docs/results/gpu_eval.md: GPT-2 small and medium and three
# shallow-wide models of ~85 M decoder parameters, bf16, prefill 1x1024 and 8x1024 and one decode
# step at context 1,023, CUDA-graph replay and eager, each evaluation repeated to show the
# spread between runs; plus an out-of-memory request that must come back as a result.
# Usage: benchmarks/gpu_eval_matrix.sh BUILD_DIR OUT_DIR [RUNS]
set -euo pipefail
# ---- change these for your system --------------------------------------------------------------
bin=${1:-build}/fracnas
out=${2:-.}
runs=${3:-5}          # whole evaluations per configuration (the spread between them is reported)
repeats=30            # timed repeats inside one evaluation (median and IQR)
device=cuda
# -------------------------------------------------------------------------------------------------
source "$(dirname "${BASH_SOURCE[0]}")/gpu_models.sh"   # list() and archs
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv > "$out/gpu.txt"
"$bin" --version >> "$out/gpu.txt"
: > "$out/eval.jsonl"
for a in "${archs[@]}"; do
  kind=${a%% *}; value=${a#* }
  for mode in graph eager; do
    flag=(); [ "$mode" = eager ] && flag=(--eager)
    for run in $(seq "$runs"); do
      "$bin" eval --"$kind" "$value" --device "$device" --dtype bf16 --measure prefill,decode \
        --batch 1 --repeats "$repeats" "${flag[@]}" --json >> "$out/eval.jsonl"
      "$bin" eval --"$kind" "$value" --device "$device" --dtype bf16 --measure prefill \
        --batch 8 --repeats "$repeats" "${flag[@]}" --json >> "$out/eval.jsonl"
    done
  done
done
# generation scenario once per model (CUDA graphs since ad33c10; gpu_scenario.sh compares eager), and a request that cannot fit
for a in "${archs[@]}"; do
  kind=${a%% *}; value=${a#* }
  "$bin" eval --"$kind" "$value" --device "$device" --dtype bf16 --measure scenario --prompt 128 --generate 128 \
    --repeats 15 --json >> "$out/scenario.jsonl"
done
set +e
"$bin" eval --preset gpt2-medium --device "$device" --measure prefill --batch 4096 --json > "$out/oom.json" 2> "$out/oom.err"
echo "exit code $?" >> "$out/oom.err"
