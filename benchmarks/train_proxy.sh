#!/usr/bin/env bash
# The proxy study of issue 12: trains every architecture of a list with recipe A (`fracnas train`,
# the same tokens for all) and measures its grad-norm proxy and latencies (`fracnas eval`),
# one JSON file each, then benchmarks/train_report.py tabulates them. On a GPU machine:
#   FRACNAS=build/fracnas DATA=data/corpus-v1 TOKENS=10000000 ONLY="gpt2_small l2_d1920" \
#     bash benchmarks/train_proxy.sh benchmarks/train_models.txt OUTDIR
# A list line: NAME N_LAYER D_MODEL D_INNER HEAD_DIM [D_EMBED] (homogeneous; D_EMBED, when given and
# not D_MODEL, narrows the token table and tied output, docs/nas.md).
# ONLY (optional): names to run, in the list's order. SEED (default 1), EXTRA (more train options),
# DEVICE (the eval's, default cuda), EVAL (default 1; 0: no fracnas eval). A model whose train JSON
# already says ok is not trained again (and its eval not redone), so the same command continues a
# study that was cut short; each JSON is written whole (through a .tmp file) when its run ends.
set -euo pipefail
list=${1:?usage: train_proxy.sh LIST OUTDIR}
out=${2:?usage: train_proxy.sh LIST OUTDIR}
fracnas=${FRACNAS:-build/fracnas}
data=${DATA:-data/corpus-v1}
tokens=${TOKENS:-10000000}
seed=${SEED:-1}
mkdir -p "$out"
repeat() { local s="$1" i; for ((i = 1; i < $2; i++)); do s+=",$1"; done; echo "$s"; }
while read -r name layers width inner head embed; do
  case "$name" in ''|'#'*) continue ;; esac
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
  arch="n_layer=$layers d_model=$width d_inner=$(repeat "$inner" "$layers") n_head=$(repeat $((width / head)) "$layers") vocab=32768${embed:+ d_embed=$embed}"
  if grep -qs '"status": "ok"' "$out/train_$name.json"; then echo "== $name: done already" >&2; continue; fi
  echo "== $name: $arch ($(date -u +%H:%M:%S))" >&2
  if [ "${EVAL:-1}" != 0 ]; then
    # decode and prefill latency under CUDA graphs (at this vocabulary) and grad-norm at initialisation
    "$fracnas" eval --arch "$arch" --device "${DEVICE:-cuda}" --measure grad-norm,prefill,decode --json \
      > "$out/eval_$name.json.tmp" || true
    mv "$out/eval_$name.json.tmp" "$out/eval_$name.json"
  fi
  # a failed training (out of memory, diverged) still writes its JSON; the loop goes on
  "$fracnas" train --arch "$arch" --data "$data" --tokens "$tokens" --seed "$seed" ${EXTRA:-} --json \
    > "$out/train_$name.json.tmp" || echo "== $name: training failed (see its JSON)" >&2
  mv "$out/train_$name.json.tmp" "$out/train_$name.json"
done < "$list"
