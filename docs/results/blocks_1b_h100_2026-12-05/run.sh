# Issue 25 (run on an H100 on 2026-12-05, README.md beside it): what each block option does on the Llama-3.2-1B shape,
# as matrix.sh measured it on GPT-2 small's shape. The shape as the preset builds it (16 x 2048,
# FFN 8192, 32 heads, 8 KV heads, RMSNorm, SwiGLU, rotary, tied, no biases; vocabulary 128,256;
# 4,096 positions), then the same with one option changed back to GPT-2's form at a time: LayerNorm,
# GELU (the same FFN width), learned positions, one KV head per query head, biases, and the two
# options Llama-3.2-1B does not take, a parallel block and an untied output table. Each at decode
# B 1/8/32 x C 1,023/4,095 and prefill 1 x 1,024 (fracnas eval, bf16, graphs), about 56
# evaluations of 2-4 s. OUT_DIR START LIMIT as matrix.sh: stops before LIMIT seconds after START;
# results in runs/blocks_1b (git-ignored), where an evaluation listed in done.txt is not run again,
# copied into OUT_DIR at the end. From the repository root, after the build of call 1:
#   bash docs/results/blocks_1b_h100_2026-12-05/run.sh $OUT/blocks_1b $(date +%s) 300
out=$1; s=$2; limit=$3; B=${BUILD:-build-gpu}; o=runs/blocks_1b; mkdir -p $o $out
trap '[ $o -ef $out ] || cp $o/* $out/' EXIT  # call.sh links $o to $out
rep() { printf "$1,%.0s" $(seq 2 $2); printf "$1"; }  # "v,v,...,v", n times
base="n_layer=16 d_model=2048 d_inner=$(rep 8192 16) n_head=$(rep 32 16) vocab=128256 context=4096"
touch $o/done.txt
one() {  # ARCH MEASURE...: one evaluation, unless done or out of time
  local arch=$1; shift
  local key="$arch | $*"
  grep -qxF "$key" $o/done.txt && return 0
  [ $(( $(date +%s)-s )) -lt $limit ] || return 1
  timeout 90 $B/fracnas eval --arch "$arch" --device ${DEVICE:-cuda} "$@" --json >> $o/llama_1b_options.jsonl 2>&1
  echo "$key" >> $o/done.txt
}
llama="norm=rmsnorm mlp=swiglu positions=rotary n_kv_head=$(rep 8 16) bias=off"
for opts in "$llama" \
            "mlp=swiglu positions=rotary n_kv_head=$(rep 8 16) bias=off" \
            "norm=rmsnorm positions=rotary n_kv_head=$(rep 8 16) bias=off" \
            "norm=rmsnorm mlp=swiglu n_kv_head=$(rep 8 16) bias=off" \
            "norm=rmsnorm mlp=swiglu positions=rotary bias=off" \
            "norm=rmsnorm mlp=swiglu positions=rotary n_kv_head=$(rep 8 16)" \
            "$llama block=parallel" \
            "$llama output=untied"; do
  for b in 1 8 32; do for c in 1023 4095; do
    one "$base $opts" --measure decode --batch $b --context $c || exit 0
  done; done
  one "$base $opts" --measure prefill --tokens 1024 || exit 0
done
echo "matrix complete" >> $o/done.txt
