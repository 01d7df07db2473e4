# Call 2 (the same machine, back to back): the last part of D-large (carried:
# data/corpus-large-v1.parts/{index.json,train.tokens.001.xz}), then the first job of the training
# search on D-large: rungs of 16 M tokens and one epoch (71,499,776 tokens, no token read twice),
# eta 3, each rung-0 training probing at 8 M (--trend-probe 0.5, the default), the floor at half
# GPT-2 small's decoder parameters, a 12-layer, 1536-wide heterogeneous space. The job stops
# asking after 380 s and drains for up to 150 s; its archive and training states stay in runs/.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call2; mkdir -p $o runs; B=build-gpu
PYTHONPATH=src/python python3 -m fracnas_corpus unpack data/corpus-large-v1.parts data/corpus-large-v1 2>&1 | tail -2 | tee $o/unpack.txt
sha256sum data/corpus-large-v1/* >> $o/unpack.txt
rm -rf runs/dl.h5 runs/dl.h5.states
timeout 560 $B/fracnas search --budget 1000 --rungs 16000000,71499776 --eta 3 --train-data data/corpus-large-v1 \
  --min-params 42528000 --max-layers 12 --max-width 1536 --progress-every 5 \
  --time-limit 380 --grace 150 --archive runs/dl.h5 > $o/search.txt 2>&1
echo "search: exit $? at $(( $(date +%s)-s )) s" | tee -a $o/unpack.txt
du -sh runs/dl.h5.states >> $o/unpack.txt 2>&1; ls runs/dl.h5.states >> $o/unpack.txt 2>&1
cp runs/dl.h5 $o/; $B/fracnas analyze runs/dl.h5 > $o/analyze.txt 2>&1
grep -v "^  " $o/search.txt | tail -30; tail -20 $o/analyze.txt
