#!/usr/bin/env bash
# This session's driver on the H200 (kept beside its results; most needed first, the session's 30
# device minutes cut the rest): the speed of the fused linear layers (ladder and the eager
# profiles of bf16 weights without and with them), the [gpu] tests, then on D-large (staged by the
# next call, which touches /tmp/corpus_ready) one epoch of the deeper candidates with the recipe
# and settings of the reference's one-epoch runs (autocast), cosine against wsd at 16 M, a second
# seed for every candidate within 3.5% of the reference, and 6 x 768 last.
# Run from the repository root with /tmp/fracnas, /tmp/train_speed and /tmp/fracnas_tests copies of the build.
set -uo pipefail
rm -rf /tmp/bench && cp -r benchmarks /tmp/bench   # the next calls' tree copies do not touch it
export FRACNAS=/tmp/fracnas DATA=data/corpus-large-v1
o=/tmp/study b=/tmp/bench
mkdir -p $o && nvidia-smi --query-gpu=name,driver_version --format=csv > $o/machine.txt 2>&1
gpt2="n_layer=12 d_model=768 d_inner=3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072 n_head=12,12,12,12,12,12,12,12,12,12,12,12"
eager=async+fused_adamw+fused_loss+bf16_weights
/tmp/train_speed --steps 60 --repeats 3 --ladder async+fused_adamw+fused_loss+cuda_graph+bf16_weights,fused_dense > $o/train_speed.txt 2>&1
/tmp/train_speed --steps 40 --repeats 1 --gemm 0 --arch "$gpt2" --ladder $eager --profile $eager > $o/profile_bf16.txt 2>&1
/tmp/train_speed --steps 40 --repeats 1 --gemm 0 --arch "$gpt2" --ladder $eager+fused_dense --profile $eager+fused_dense > $o/profile_fused_dense.txt 2>&1
/tmp/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $?" >> $o/machine.txt
while [ ! -f /tmp/corpus_ready ]; do sleep 5; done
export SPEED=async,fused_adamw,fused_loss,cuda_graph   # the reference's one-epoch runs: autocast
SEEDS=1 ONLY="l10_d768 l6_d1088 l8_d768 l4_d1344" bash $b/gpu_dlarge_epoch.sh $o
EXTRA="--sampling epoch --schedule cosine --speed $SPEED" TOKENS=16000000 SEED=1 EVAL=0 \
  ONLY="gpt2_small l4_d768 l2_d1920_f7232" bash $b/train_proxy.sh $b/train_dlarge.txt $o/cosine
# a second seed for the candidates within 3.5% of the reference's mean (27.605, 2026-12-03), fastest first
close=$(python3 - "$o/epoch_seed1" <<'PY'
import json, os, sys
order = ["l4_d1344", "l6_d768", "l6_d1088", "l8_d768", "l10_d768"]  # by decode latency (the 16 M study's eval)
out = []
for name in order:
    try:
        j = json.load(open(os.path.join(sys.argv[1], "train_%s.json" % name)))
    except OSError:
        continue
    if j.get("status") == "ok" and j["final_val_perplexity"] <= 27.605 * 1.035:
        out.append(name)
print(" ".join(out))
PY
)
echo "== within 3.5% at seed 1: ${close:-none}" >&2
[ -n "$close" ] && SEEDS=2 ONLY="$close" bash $b/gpu_dlarge_epoch.sh $o
SEEDS=1 ONLY="l6_d768" bash $b/gpu_dlarge_epoch.sh $o
echo "== the driver is done ($(date -u +%H:%M:%S))" >&2
touch $o/DONE
