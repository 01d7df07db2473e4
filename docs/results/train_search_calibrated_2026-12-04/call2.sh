# Call 2 (the same machine, back to back): the last part of D-large (carried:
# data/corpus-large-v1.parts/{index.json,train.tokens.001.xz}), then the first job of a new
# training search on D-large with the same problem as the first one (train_search_dlarge_2026-12-04)
# but this tree's defaults: every model built and timed with the corpus's vocabulary (32,768),
# the estimates calibrated by the top rung's results (--trend-calibration on) and head variants
# told their sibling's verdict untrained (--head-variants shared). Rungs of 16 M tokens and one
# epoch (71,499,776 tokens), eta 3, probes at 8 M, the floor at half GPT-2 small's decoder
# parameters, a 12-layer, 1536-wide heterogeneous space. The job stops asking after 380 s and
# drains for up to 150 s; its archive and training states stay in runs/.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call2; mkdir -p $o runs; B=build-gpu
PYTHONPATH=src/python python3 -m fracnas_corpus unpack data/corpus-large-v1.parts data/corpus-large-v1 2>&1 | tail -2 | tee $o/unpack.txt
sha256sum data/corpus-large-v1/* >> $o/unpack.txt
rm -rf runs/dlc.h5 runs/dlc.h5.states
timeout 560 $B/fracnas search --budget 1000 --rungs 16000000,71499776 --eta 3 --train-data data/corpus-large-v1 \
  --min-params 42528000 --max-layers 12 --max-width 1536 --progress-every 5 \
  --time-limit 380 --grace 150 --archive runs/dlc.h5 > $o/search.txt 2>&1
echo "search: exit $? at $(( $(date +%s)-s )) s" | tee -a $o/unpack.txt
du -sh runs/dlc.h5.states >> $o/unpack.txt 2>&1
cp runs/dlc.h5 $o/; $B/fracnas analyze runs/dlc.h5 > $o/analyze.txt 2>&1
grep -v "^  " $o/search.txt | tail -30; tail -20 $o/analyze.txt
