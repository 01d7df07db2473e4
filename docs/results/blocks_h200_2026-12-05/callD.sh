# Call D (a fresh machine, carrying .devdeps): the inference kernels rewritten after call A (a row a
# grid row, 32-bit index arithmetic, eight values a thread; call A's first form divided 64-bit
# indices per value), a layer without a bias in one GEMM with its residual add or its GELU (call A's
# matrix: bias=off slower than GPT-2's block), and the evaluator's peak as the bytes asked for;
# build, the [gpu] tests, the
# deployment anchor for the Llama-block models again, the batch-1 search pair with more candidates,
# then the rows of issue 25's matrix that the changes touch, as time allows.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/callD; mkdir -p $o; B=build-gpu
export TORCHINDUCTOR_CACHE_DIR=/tmp/inductor
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
timeout 200 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
timeout 150 python3 benchmarks/deployment_anchor.py --fracnas $B/fracnas --models ${ANCHOR_MODELS:-small-llama,llama-3.2-1b} \
  --compile-modes default --attention none --out $o/anchor.jsonl > $o/anchor.txt 2>&1
echo "anchor: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
# the batch-1 pair at the context of 2,048 (2,047 cached), each stopped after 20 s (about
# 240 candidates, where call B's 100 left the 11-coordinate space under-explored)
opts=(--norm layernorm,rmsnorm --mlp gelu,swiglu --positions learned,rotary --block sequential,parallel --output tied,untied --bias on,off --kv-heads 0,1,2,4)
common=(--device cuda --space homogeneous --budget 1000 --seed 1 --batch 1 --context 2047 --top 5 --time-limit 20 --grace 10)
[ $(( $(date +%s)-s )) -lt 170 ] && timeout 45 $B/fracnas search "${common[@]}" --archive $o/b1_gpt2_block.h5 > $o/b1_gpt2_block.txt 2>&1
[ $(( $(date +%s)-s )) -lt 200 ] && timeout 45 $B/fracnas search "${common[@]}" "${opts[@]}" --archive $o/b1_options.h5 > $o/b1_options.txt 2>&1
echo "searches at $(( $(date +%s)-s )) s" >> $o/machine.txt
# the matrix's rows that the rewritten kernels and the bias-free GEMM touch (the others, as
# call A measured them, listed as done)
rm -rf runs/blocks_matrix; mkdir -p runs/blocks_matrix
grep -E "context=4096 \| |n_kv_head=4,4,4,4,4,4,4,4,4,4,4,4 \||block=parallel \||output=untied \|" docs/results/blocks_h200_2026-12-05/callA/done.txt | grep -v "norm=rmsnorm" > runs/blocks_matrix/done.txt
bash docs/results/blocks_h200_2026-12-05/matrix.sh $o $s 235
echo "matrix stopped at $(( $(date +%s)-s )) s" >> $o/machine.txt
cd $OUT && tar czf callD.tgz callD && rm -rf callD
tar xzf callD.tgz -O callD/machine.txt; tar xzf callD.tgz -O callD/gpu_tests.txt | tail -3; tar xzf callD.tgz -O callD/anchor.txt | tail -8
for f in b1_gpt2_block b1_options; do tar xzf callD.tgz -O callD/$f.txt 2>/dev/null | grep -A2 "^answered\|^best\|^ended" | cut -c1-300; done
