# For a lease (issue 25; written before any had run, and run since as blocks_h200_2026-12-05/matrix.sh
# and callA.sh, whose results are there): the block options' decode and prefill latency on the H200,
# each option alone on GPT-2 small's shape and all of them together, at batch 1, 8 and 32 and
# contexts 1,024 and 4,096 (models built with 4,096 positions, so that both contexts run on one
# model), the prefill of 1 x 1,024 tokens, and a Llama-3.2-1B-shaped model the same way; then the
# [gpu] tests, which check that GPT-2's block still takes its fused paths. Carry .devdeps
# (../shared/device/README.md). About 60 evaluations. Measured so far on the CPU only: the logits
# equal transformers' LlamaForCausalLM (tests/eval/torch/gpt_blocks.tests.cpp).
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/blocks; mkdir -p $o; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
rep() { printf "$1,%.0s" $(seq 2 $2); printf "$1"; }  # "v,v,...,v", n times
small="n_layer=12 d_model=768 d_inner=$(rep 3072 12) n_head=$(rep 12 12) vocab=50257 context=4096"
llama1b="n_layer=16 d_model=2048 d_inner=$(rep 8192 16) n_head=$(rep 32 16) vocab=128256 context=4096 norm=rmsnorm mlp=swiglu positions=rotary n_kv_head=$(rep 8 16) bias=off"
for opt in "" " norm=rmsnorm" " mlp=swiglu" " positions=rotary" " n_kv_head=$(rep 4 12)" " block=parallel" " output=untied" " bias=off" \
           " norm=rmsnorm mlp=swiglu positions=rotary n_kv_head=$(rep 4 12) bias=off"; do
  for b in 1 8 32; do for c in 1023 4095; do
    timeout 120 $B/fracnas eval --arch "$small$opt" --device cuda --measure decode --batch $b --context $c --json >> $o/gpt2_small_options.jsonl 2>&1
  done; done
  timeout 120 $B/fracnas eval --arch "$small$opt" --device cuda --measure prefill --tokens 1024 --json >> $o/gpt2_small_options.jsonl 2>&1
done
for b in 1 8 32; do for c in 1023 4095; do
  timeout 120 $B/fracnas eval --arch "$llama1b" --device cuda --measure decode --batch $b --context $c --json >> $o/llama_3_2_1b_shape.jsonl 2>&1
done; done
timeout 120 $B/fracnas eval --arch "$llama1b" --device cuda --measure prefill --tokens 1024 --json >> $o/llama_3_2_1b_shape.jsonl 2>&1
echo "evals done at $(( $(date +%s)-s )) s" >> $o/machine.txt
timeout 150 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
python3 - $o/gpt2_small_options.jsonl $o/llama_3_2_1b_shape.jsonl <<'P'
import json, sys
for path in sys.argv[1:]:
    for line in open(path):
        if not line.startswith("{"):
            continue
        j = json.loads(line)
        opts = j["architecture"].split("context=4096")[1].strip() or "GPT-2's block"
        d, p = j.get("decode"), j.get("prefill")
        what = f'decode {j["decode_batch"]}x@{j["decode_context"]} {d["median_ms"]:.4f} ms, KV {j["kv_cache_bytes"] / 2**20:.0f} MiB' if d else \
               f'prefill {j["prefill_batch"]}x{j["prefill_tokens"]} {p["median_ms"]:.4f} ms' if p else j["message"]
        print(f'{opts[:50]:50} {j["status"]:8} {what}')
P
cat $o/machine.txt
