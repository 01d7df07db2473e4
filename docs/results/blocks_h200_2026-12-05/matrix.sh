# Issue 25's per-option matrix on the H200 (called by callA.sh and callB.sh): fracnas eval of GPT-2
# small's shape with each block option alone and all of Llama's together, at batch 1, 8 and 32 and
# contexts 1,023 and 4,095 cached tokens (models built with 4,096 positions), the prefill of
# 1 x 1,024 tokens, and a Llama-3.2-1B shape the same way. OUT_DIR START LIMIT: stops before LIMIT
# seconds after START. The results gather in runs/blocks_matrix (git-ignored: it stays on the machine
# between back-to-back calls), where an evaluation listed in done.txt is not run again; they are
# copied into OUT_DIR at the end.
out=$1; s=$2; limit=$3; B=${BUILD:-build-gpu}; o=runs/blocks_matrix; mkdir -p $o
trap 'cp $o/* $out/' EXIT
rep() { printf "$1,%.0s" $(seq 2 $2); printf "$1"; }  # "v,v,...,v", n times
small="n_layer=12 d_model=768 d_inner=$(rep 3072 12) n_head=$(rep 12 12) vocab=50257 context=4096"
llama1b="n_layer=16 d_model=2048 d_inner=$(rep 8192 16) n_head=$(rep 32 16) vocab=128256 context=4096 norm=rmsnorm mlp=swiglu positions=rotary n_kv_head=$(rep 8 16) bias=off"  # tied, as the real one
touch $o/done.txt
one() {  # FILE ARCH MEASURE...: one evaluation, unless done or out of time
  local file=$1 arch=$2; shift 2
  local key="$arch | $*"
  grep -qxF "$key" $o/done.txt && return 0
  [ $(( $(date +%s)-s )) -lt $limit ] || return 1
  timeout 60 $B/fracnas eval --arch "$arch" --device ${DEVICE:-cuda} "$@" --json >> $o/$file 2>&1
  echo "$key" >> $o/done.txt
}
for opt in "" " norm=rmsnorm" " mlp=swiglu" " positions=rotary" " n_kv_head=$(rep 4 12)" " block=parallel" " output=untied" " bias=off" \
           " norm=rmsnorm mlp=swiglu positions=rotary n_kv_head=$(rep 4 12) bias=off output=untied"; do
  for b in 1 8 32; do for c in 1023 4095; do
    one gpt2_small_options.jsonl "$small$opt" --measure decode --batch $b --context $c || exit 0
  done; done
  one gpt2_small_options.jsonl "$small$opt" --measure prefill --tokens 1024 || exit 0
done
for b in 1 8 32; do for c in 1023 4095; do
  one llama_3_2_1b_shape.jsonl "$llama1b" --measure decode --batch $b --context $c || exit 0
done; done
one llama_3_2_1b_shape.jsonl "$llama1b" --measure prefill --tokens 1024 || exit 0
echo "matrix complete" >> $o/done.txt
