# The block options' decode step on the CPU (issue 25): GPT-2 small's shape, each option alone and
# Llama's block, one decode step at a 1,023-token cache, fp32, eager. Run from the repository root
# after `cmake/dev.sh build`: bash docs/results/blocks_cpu_2026-12-05/run.sh > docs/results/blocks_cpu_2026-12-05/decode_options.txt
rep() { printf "$1,%.0s" $(seq 2 $2); printf "$1"; }  # "v,v,...,v", n times
small="n_layer=12 d_model=768 d_inner=$(rep 3072 12) n_head=$(rep 12 12)"
echo "# $(date -u +%FT%TZ), $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), fracnas $(git rev-parse --short HEAD)"
for opt in "" " norm=rmsnorm" " mlp=swiglu" " positions=rotary" " n_kv_head=$(rep 4 12)" " block=parallel" " output=untied" " bias=off" \
           " norm=rmsnorm mlp=swiglu positions=rotary n_kv_head=$(rep 4 12) bias=off"; do
  name=${opt:-" GPT-2 block"}
  echo "##$name"
  build/fracnas eval --arch "$small$opt" --device cpu --measure decode --warmup 2 --repeats 7 | grep -E "^parameters|^decode"
done
