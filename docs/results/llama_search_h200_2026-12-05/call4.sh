# Call 4 (the same machine, the lease's last minutes): issue 25's per-option matrix rows that the
# rewritten inference kernels and the bias-free GEMM touch (RMSNorm, SwiGLU, rotary, bias=off, all
# of Llama's, the Llama-3.2-1B shape; the rows call A measured for the other options listed as done)
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call4; mkdir -p $o
rm -rf runs/blocks_matrix; mkdir -p runs/blocks_matrix
grep -E "context=4096 \| |n_kv_head=4,4,4,4,4,4,4,4,4,4,4,4 \||block=parallel \||output=untied \|" docs/results/blocks_h200_2026-12-05/callA/done.txt | grep -v "norm=rmsnorm" > runs/blocks_matrix/done.txt
bash docs/results/blocks_h200_2026-12-05/matrix.sh $o $s ${LIMIT:-270}
echo "matrix stopped at $(( $(date +%s)-s )) s" | tee $o/end.txt; wc -l $o/*.jsonl
