# Call A on the lent H200 (2026-12-05), carrying .devdeps and D-large's largest part
# (data/corpus-large-v1.parts/{index.json,train.tokens.000.xz}; the rest travels with call B). Build; the [gpu] tests (the block options' cases never
# ran on a GPU before); issue 22's same-machine speed pair (recipe A's first loop and `all`, GPT-2
# small's shape, one train_speed process, with the bf16 matmul rate); issue 25's deployment anchor
# for the new blocks (plain PyTorch under torch.compile beside fracnas eval, and fracnas eval with
# its inference kernels off: FRACNAS_INFERENCE_KERNELS=0); then issue 25's
# per-option decode and prefill matrix (docs/results/blocks_next_lease/call1.sh's evaluations),
# stopped at 550 s, the rest left to call B (done.txt lists what ran).
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/callA; mkdir -p $o; B=build-gpu
export TORCHINDUCTOR_CACHE_DIR=/tmp/inductor
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; python3 -c "import torch; print(torch.__version__)"; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas fracnas_tests train_speed >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
[ -d data/corpus-large-v1.parts ] && PYTHONPATH=src/python python3 -m fracnas_corpus unpack data/corpus-large-v1.parts data/corpus-large-v1 2>&1 | tail -2 >> $o/machine.txt
timeout 200 $B/tests/fracnas_tests "[gpu]" > $o/gpu_tests.txt 2>&1; echo "gpu tests: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
small="n_layer=12 d_model=768 d_inner=3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072,3072 n_head=12,12,12,12,12,12,12,12,12,12,12,12"
all=async+fused_adamw+fused_loss+cuda_graph+bf16_weights+loss_kernel+norm_kernel+fused_dense+adam_kernel+residual_sr
timeout 120 $B/benchmarks/train_speed --steps 60 --repeats 3 --gemm 8192 --arch "$small" --ladder baseline,$all > $o/train_speed.txt 2>&1
echo "train_speed: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
timeout 150 python3 benchmarks/deployment_anchor.py --fracnas $B/fracnas --models gpt2-small,small-llama,small-parallel,llama-3.2-1b \
  --compile-modes default --attention none --out $o/anchor.jsonl > $o/anchor.txt 2>&1
echo "anchor: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
# the same fracnas evaluations as the anchor's, with the inference kernels off (the operators' forms)
for m in small-llama llama-3.2-1b; do
  arch=$(python3 -c "import sys; sys.path.insert(0, 'benchmarks'); import deployment_anchor as d; print(d.spec(d.parse_arch(d.MODELS['$m'], 50257, 1024)))")
  FRACNAS_INFERENCE_KERNELS=0 timeout 60 $B/fracnas eval --arch "$arch" --device cuda --tokens 1024 --context 1023 --warmup 10 --repeats 50 \
    --attention auto --json > $o/kernels_off_$m.json 2>&1
done
echo "kernels off: at $(( $(date +%s)-s )) s" >> $o/machine.txt
bash docs/results/blocks_h200_2026-12-05/matrix.sh $o $s 550
echo "matrix stopped at $(( $(date +%s)-s )) s" >> $o/machine.txt
cd $OUT && tar czf callA.tgz callA && rm -rf callA
tar xzf callA.tgz -O callA/machine.txt; tar xzf callA.tgz -O callA/gpu_tests.txt | tail -3; tar xzf callA.tgz -O callA/train_speed.txt | grep -v "^  "
tar xzf callA.tgz -O callA/anchor.txt | tail -16
