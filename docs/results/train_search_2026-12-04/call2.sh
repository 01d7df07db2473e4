# Call 2 on the lent H200: the search of call 1 resumed as the next job of a series: --resume of
# its archive (call 1's copy travels as runs/resume_in/ts.h5 in case the machine was handed back and
# the states with it; the states left in runs/ts.h5.states are used when still there), another
# 330 s of asking and up to 60 s of draining. This tree also drops what a finished training's
# state folder no longer needs (latest.pt; the whole folder at the top rung or after a failure):
# call 1 left 34 GB of states for 31 trainings.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/call2; mkdir -p $o runs; B=build-gpu
{ nvidia-smi --query-gpu=name,driver_version --format=csv; date -u; } > $o/machine.txt 2>&1
if [ -f runs/ts.h5 ]; then echo "warm: runs/ts.h5 and $(ls runs/ts.h5.states 2>/dev/null | wc -l) training states still here" >> $o/machine.txt
else cp runs/resume_in/ts.h5 runs/ts.h5; echo "cold: the archive from call 1, no training states" >> $o/machine.txt; fi
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s" | tee -a $o/machine.txt
timeout 470 $B/fracnas search --resume runs/ts.h5 --time-limit 330 --grace 60 > $o/search.txt 2>&1
echo "search: exit $? at $(( $(date +%s)-s )) s" >> $o/machine.txt
du -sh runs/ts.h5.states >> $o/machine.txt 2>&1; ls runs/ts.h5.states | wc -l >> $o/machine.txt
$B/fracnas analyze runs/ts.h5 > $o/analyze.txt 2>&1
cp runs/ts.h5 $o/
cd $OUT && tar czf call2.tgz call2 && rm -rf call2
tar xzf call2.tgz -O call2/machine.txt; tar xzf call2.tgz -O call2/search.txt | grep -v "^  " | tail -25
