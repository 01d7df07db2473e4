# Call 2 (the same machine, right after call 1), carrying the rest of D-large's parts
# (data/corpus-large-v1.parts/{index.json,manifest.json.000.xz,tokenizer.model.000.xz,
# val.tokens.000.xz,train.tokens.001.xz}): D-large unpacked (every sha256 checked), then job 1 of
# issue 24's training search with the Llama block: the problem of the calibrated D-large search
# (docs/results/train_search.md: rungs of 16 M tokens and one epoch, eta 3, seed 1, the 12-layer,
# 1536-wide space, GPT-2 small's shape with GPT-2's block as the reference, trained inside the run),
# every candidate with RMSNorm, SwiGLU, rotary positions, an untied output table and no biases,
# sequential or parallel (a coordinate), and the decoder-parameter floor at a quarter of the
# reference's (the trainings decide). LIMIT: the job's --time-limit (seconds).
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call2; mkdir -p $o runs; B=build-gpu
PYTHONPATH=src/python python3 -m fracnas_corpus unpack data/corpus-large-v1.parts data/corpus-large-v1 2>&1 | tail -2 | tee $o/unpack.txt
echo "unpacked at $(( $(date +%s)-s )) s" | tee -a $o/unpack.txt
timeout -s KILL $(( ${LIMIT:-400} + 150 )) $B/fracnas search --budget 1000 --rungs 16000000,71499776 --eta 3 --train-data data/corpus-large-v1 \
  --min-params 21264000 --max-layers 12 --max-width 1536 \
  --norm rmsnorm --mlp swiglu --positions rotary --output untied --bias off --block sequential,parallel \
  --progress-every 5 --time-limit ${LIMIT:-400} --grace 120 --archive runs/llama.h5 > $o/job1.txt 2>&1
echo "job 1: exit $? at $(( $(date +%s)-s )) s" | tee $o/end.txt
cp runs/llama.h5 $o/; $B/fracnas analyze runs/llama.h5 > $o/analyze.txt 2>&1
grep -v "^  " $o/job1.txt | tail -25; tail -14 $o/analyze.txt
