# For the next lease (not run yet): after call1.sh on a fresh machine (build, [gpu] tests, four
# of D-large's parts), the fifth part (carried as in call2.sh), then this search resumed from its
# archive as it left this lease (call4/dlc.h5: the training states stayed behind, so a promotion
# trains from the start). Job 4 is SIGKILLed after KILL_AT seconds, during a training (7 x 768's
# second seed comes first, about 100 s, saving its state every 200 steps), and job 5 resumes it:
# the training continues from its last saved state (latest.pt, listed in end.txt), so its row in
# search_trainings shows a shorter wall time than a whole training's. KILL_AT=240 LIMIT=300
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/resume_call2; mkdir -p $o runs; B=build-gpu
PYTHONPATH=src/python python3 -m fracnas_corpus unpack data/corpus-large-v1.parts data/corpus-large-v1 2>&1 | tail -2 | tee $o/unpack.txt
[ -f runs/dlc.h5 ] || cp docs/results/train_search_calibrated_2026-12-04/call4/dlc.h5 runs/dlc.h5
timeout -s KILL $KILL_AT $B/fracnas search --resume runs/dlc.h5 --time-limit 380 --grace 150 > $o/job4.txt 2>&1
echo "job 4: exit $? at $(( $(date +%s)-s )) s (137: SIGKILLed)" | tee $o/end.txt
ls -la runs/dlc.h5.states/* >> $o/end.txt 2>&1
timeout $(( LIMIT + 170 )) $B/fracnas search --resume runs/dlc.h5 --time-limit $LIMIT --grace 150 > $o/job5.txt 2>&1
echo "job 5: exit $? at $(( $(date +%s)-s )) s" | tee -a $o/end.txt
cp runs/dlc.h5 $o/; $B/fracnas analyze runs/dlc.h5 > $o/analyze.txt 2>&1
grep -v "^  " $o/job5.txt | tail -30; tail -12 $o/analyze.txt
