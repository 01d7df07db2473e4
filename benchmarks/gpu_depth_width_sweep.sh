#!/usr/bin/env bash
# Decode and prefill latency over a depth x width grid of homogeneous GPT-2-style models
# (d_inner = 4 d_model, head size 64), bf16, CUDA-graph replay: the data docs/problem.md fits to
# see how latency depends on depth and width. One evaluation per architecture.
# Usage: benchmarks/gpu_depth_width_sweep.sh BUILD_DIR OUT_DIR
set -euo pipefail
# ---- change these for your system --------------------------------------------------------------
bin=${1:-build}/fracnas
out=${2:-.}
depths="2 4 6 8 12 16 24"
widths="512 768 1024 1536 2048"
repeats=20
device=cuda
# -------------------------------------------------------------------------------------------------
list() { python3 -c "print(','.join(['$1']*$2))"; }
: > "$out/sweep.jsonl"
for L in $depths; do
  for d in $widths; do
    arch="n_layer=$L d_model=$d d_inner=$(list $((4 * d)) "$L") n_head=$(list $((d / 64)) "$L")"
    "$bin" eval --arch "$arch" --device "$device" --dtype bf16 --measure prefill,decode --batch 1 \
      --warmup 3 --repeats "$repeats" --json >> "$out/sweep.jsonl"
  done
done
