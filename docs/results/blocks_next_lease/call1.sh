# For a lease (issue 25, not yet run): the block options' decode and prefill latency on the H200,
# each option alone on GPT-2 small's shape and all of them together, at batch 1 and context 1,023,
# and a Llama-3.2-1B-shaped model; then the [gpu] tests, which check that GPT-2's block still takes
# its fused paths. Carry .devdeps (../shared/device/README.md). Measured so far on the CPU only:
# the logits equal transformers' LlamaForCausalLM (tests/eval/torch/gpt_blocks.tests.cpp).
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/blocks; mkdir -p $o; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
small="n_layer=12 d_model=768 d_inner=$(printf '3072,%.0s' {1..11})3072 n_head=$(printf '12,%.0s' {1..11})12 vocab=32768 context=1024"
for opt in "" " norm=rmsnorm" " mlp=swiglu" " positions=rotary" " n_kv_head=$(printf '4,%.0s' {1..11})4" " block=parallel" \
           " output=untied" " bias=off" " norm=rmsnorm mlp=swiglu positions=rotary n_kv_head=$(printf '4,%.0s' {1..11})4 bias=off"; do
  $B/fracnas eval --arch "$small$opt" --device cuda --json >> $o/gpt2_small_options.jsonl 2>&1
done
llama1b="n_layer=16 d_model=2048 d_inner=$(printf '8192,%.0s' {1..15})8192 n_head=$(printf '32,%.0s' {1..15})32 vocab=128256 context=1024 norm=rmsnorm mlp=swiglu positions=rotary n_kv_head=$(printf '8,%.0s' {1..15})8 bias=off"
$B/fracnas eval --arch "$llama1b" --device cuda --json > $o/llama_3_2_1b_shape.json 2>&1
timeout 150 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
python3 - "$o/gpt2_small_options.jsonl" <<'P'
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        j = json.loads(line)
        opts = j["architecture"].split("context=1024")[1].strip() or "GPT-2's block"
        print(f'{opts[:60]:60} {j["status"]:8} decode {j["decode"]["median_ms"] if j.get("decode") else "-"} prefill {j["prefill"]["median_ms"] if j.get("prefill") else "-"}')
P
cat $o/machine.txt
