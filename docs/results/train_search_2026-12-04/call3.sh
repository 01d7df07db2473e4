# Call 3 on the lent H200: the baseline at equal time: the same training search as calls 1-2
# (rungs 2, 4, 8 M tokens of D, eta 3, the floor at half GPT-2 small's, the 12 x 1536 space) with
# random proposals instead of SOO, asking for 380 s and draining for up to 60 s (the SOO search
# spent 330 + 63 s of asking over its two jobs).
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call3; mkdir -p $o runs; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
rm -rf runs/random.h5 runs/random.h5.states
timeout 480 $B/fracnas search --algorithm random --budget 400 --rungs 2000000,4000000,8000000 --train-data data/corpus-v1 \
  --min-params 42528000 --max-layers 12 --max-width 1536 --progress-every 5 \
  --time-limit 380 --grace 60 --archive runs/random.h5 > $o/search.txt 2>&1
echo "search: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
du -sh runs/random.h5.states >> $o/machine.txt 2>&1
$B/fracnas analyze runs/random.h5 > $o/analyze.txt 2>&1
cp runs/random.h5 $o/
cd $OUT && tar czf call3.tgz call3 && rm -rf call3
tar xzf call3.tgz -O call3/machine.txt; tar xzf call3.tgz -O call3/search.txt | grep -v "^  " | grep -v "^progress" | tail -12; tar xzf call3.tgz -O call3/search.txt | grep "^  rung\|^answer"
