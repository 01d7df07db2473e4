# The outputs of this folder (this 2-core machine; machine.txt), from the repository's root:
python3 benchmarks/train_search_baselines.py --fracnas build/fracnas --limit 1300 --seeds 5 > limit1300.txt
python3 benchmarks/train_search_baselines.py --fracnas build/fracnas --limit 7200 --seeds 5 > limit7200.txt
# one search each, seed 2 at 2 h, its whole report (the script's soo and random searches):
for alg in soo random; do
  build/fracnas search --evaluator model --latency-model h200 --dispatcher dry-run --workers 1 --cost lognormal \
    --cost-mean 3 --cost-spread 0.3 --train-cost 1.4 --max-layers 12 --max-width 1536 --vocab 32768 --budget 1000000 \
    --grace 150 --rungs 16000000,71499776 --min-params 42528000 --algorithm $alg --seed 2 --train-seed 2 \
    --time-limit 7200 --archive tb_$alg.h5 > ${alg}_seed2_7200.txt
done
