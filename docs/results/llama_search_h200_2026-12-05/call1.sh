# Call 1 on the lent H200 (2026-12-05, third session), carrying .devdeps and D-large's largest part
# (data/corpus-large-v1.parts/{index.json,train.tokens.000.xz}; the rest travels with call 2).
# Build; the [gpu] tests (the new SwiGLU training kernel and the RMSNorm training form among
# them); the Llama block's training speed with and without them (one train_speed process, GPT-2
# small's shape with GPT-2's block beside it); issue 25's deployment anchor for the Llama-block
# models with the rewritten inference kernels; issue 25's batch-1 search pair at context 2,048
# with more candidates than call B's 100.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call1; mkdir -p $o; B=build-gpu
export TORCHINDUCTOR_CACHE_DIR=/tmp/inductor
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; python3 -c "import torch; print(torch.__version__)"; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas fracnas_tests train_speed >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
timeout 200 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
rep() { printf "$1,%.0s" $(seq 2 $2); printf "$1"; }
small="n_layer=12 d_model=768 d_inner=$(rep 3072 12) n_head=$(rep 12 12)"
llama="n_layer=12 d_model=768 d_inner=$(rep 2048 12) n_head=$(rep 12 12) norm=rmsnorm mlp=swiglu positions=rotary output=untied bias=off"
# the rungs: `all` before this change (norm_kernel's RMSNorm form aside), then norm_kernel (the
# RMSNorm training form for the Llama block), then swiglu_kernel: the CLI's `all` now
base=async+fused_adamw+fused_loss+cuda_graph+bf16_weights+loss_kernel+fused_dense+adam_kernel+residual_sr
timeout 150 $B/benchmarks/train_speed --steps 60 --repeats 3 --gemm 8192 --vocab 32768 --arch "$llama;$small" --ladder $base,norm_kernel,swiglu_kernel > $o/train_speed.txt 2>&1
echo "train_speed: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
timeout 170 python3 benchmarks/deployment_anchor.py --fracnas $B/fracnas --models small-llama,llama-3.2-1b \
  --compile-modes default --attention none --out $o/anchor.jsonl > $o/anchor.txt 2>&1
echo "anchor: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
# the batch-1 pair at the context of 2,048 (2,047 cached), each stopped after LIMIT s
opts=(--norm layernorm,rmsnorm --mlp gelu,swiglu --positions learned,rotary --block sequential,parallel --output tied,untied --bias on,off --kv-heads 0,1,2,4)
common=(--device cuda --space homogeneous --budget 3000 --seed 1 --batch 1 --context 2047 --top 5 --time-limit ${LIMIT:-45} --grace 5)
[ $(( $(date +%s)-s )) -lt 470 ] && timeout 60 $B/fracnas search "${common[@]}" --archive $o/b1_gpt2_block.h5 > $o/b1_gpt2_block.txt 2>&1
[ $(( $(date +%s)-s )) -lt 530 ] && timeout 60 $B/fracnas search "${common[@]}" "${opts[@]}" --archive $o/b1_options.h5 > $o/b1_options.txt 2>&1
echo "searches at $(( $(date +%s)-s )) s" >> $o/machine.txt
cat $o/machine.txt; tail -3 $o/gpu_tests.txt; grep -v "^  " $o/train_speed.txt | tail -12; tail -8 $o/anchor.txt
for f in b1_gpt2_block b1_options; do grep -A2 "^answer\|^ended" $o/$f.txt 2>/dev/null | cut -c1-300; done
