# Call 2 on the lent H200 (issue 23, the deployment anchor's 12%), carrying .devdeps: fracnas
# built; GPU clocks, power and temperature sampled every 200 ms throughout; isolate.py in fresh
# processes, each variant twice, interleaved; deployment_anchor.py on GPT-2 small with the floors
# measured first (as before) and last; then the whole anchor (five models, fracnas eval beside
# them) with the floors last. Everything under $OUT/call2, then one tar.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call2; mkdir -p $o; B=build-gpu
export TORCHINDUCTOR_CACHE_DIR=/tmp/inductor
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; python3 -c "import torch; print(torch.__version__)"; } > $o/machine.txt 2>&1
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu --format=csv -lms 200 > $o/clocks.csv 2>&1 &
clk=$!
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
I=docs/results/anchor_2026-12-03/isolate.py
for round in 1 2; do
  for v in none floors alloc floors_empty; do
    echo "$(date -u +%T) isolate $v round $round" >> $o/machine.txt
    python3 $I --before $v >> $o/isolate.jsonl 2>> $o/isolate.err
  done
done
echo "isolate done $(( $(date +%s)-s )) s" >> $o/machine.txt
for f in first last; do
  echo "$(date -u +%T) anchor gpt2-small floors $f" >> $o/machine.txt
  python3 benchmarks/deployment_anchor.py --models gpt2-small --floors $f --compile-modes default --attention none \
    --out $o/anchor_small_$f.jsonl > $o/anchor_small_$f.txt 2>&1
done
echo "$(date -u +%T) anchor all, floors last, at $(( $(date +%s)-s )) s" >> $o/machine.txt
[ $(( $(date +%s)-s )) -lt 380 ] && python3 benchmarks/deployment_anchor.py --fracnas $B/fracnas --floors last --compile-modes default \
  --attention none --out $o/anchor.jsonl > $o/anchor.txt 2>&1
echo "anchor exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
kill $clk
cd $OUT && tar czf call2.tgz call2 && rm -rf call2
tar xzf call2.tgz -O call2/machine.txt call2/isolate.jsonl call2/anchor_small_first.txt call2/anchor_small_last.txt call2/anchor.txt 2>/dev/null | grep -v "^ *\(prefill\|decode\) *SDPA"
