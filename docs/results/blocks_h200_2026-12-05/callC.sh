# Call C (the same machine, after call B, with D-large staged by calls A and B): issue 25's
# trainings on D-large with the study's recipe (docs/results/training.md, "The budget study on
# D-large": wsd, --sampling epoch, 16 M tokens, batch 32 x 512, seed 1): GPT-2 small's shape with
# GPT-2's block and with the Llama block (RMSNorm, SwiGLU at 2/3 of the width, rotary, untied, no
# biases), and the options search's pick at batch 16 x 2,047 (PICK, from call B) with two KV heads
# a layer against the same with one KV head per query head.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/callC; mkdir -p $o; B=build-gpu
rep() { printf "$1,%.0s" $(seq 2 $2); printf "$1"; }
small="n_layer=12 d_model=768 d_inner=$(rep 3072 12) n_head=$(rep 12 12)"
llama="n_layer=12 d_model=768 d_inner=$(rep 2048 12) n_head=$(rep 12 12) norm=rmsnorm mlp=swiglu positions=rotary output=untied bias=off"
kv() {  # ARCH N: the architecture with N KV heads a layer (0: one per query head)
  python3 - "$1" "$2" <<'P'
import sys
kv = dict(item.split("=") for item in sys.argv[1].split())
layers, n = int(kv["n_layer"]), int(sys.argv[2])
kv.pop("n_kv_head", None)
if n:
    kv["n_kv_head"] = ",".join([str(n)] * layers)
print(" ".join(k + "=" + v for k, v in kv.items()))
P
}
recipe=(--data data/corpus-large-v1 --tokens 16000000 --schedule wsd --sampling epoch --seed 1 --device cuda --json)
run() {  # NAME ARCH
  timeout 150 $B/fracnas train --arch "$2" "${recipe[@]}" > $o/$1.json 2> $o/$1.err
  echo "$1: exit $? at $(( $(date +%s)-s )) s" >> $o/times.txt
}
run gpt2_block "$small"
run llama_block "$llama"
run pick_kv$KV "$(kv "$PICK" $KV)"
run pick_mha "$(kv "$PICK" 0)"
cd $OUT && tar czf callC.tgz callC && rm -rf callC
tar xzf callC.tgz -O callC/times.txt
for f in gpt2_block llama_block pick_kv$KV pick_mha; do tar xzf callC.tgz -O callC/$f.json | python3 -c "
import json, sys
j = json.load(sys.stdin)
print('$f', j.get('status'), j.get('architecture', '')[:150], {k: j.get(k) for k in ('final_val_perplexity', 'steady_tokens_per_second', 'wall_seconds')})" 2>&1 | tail -1; done
