# Call 3 (right after call 2, on the same machine), carrying index.json and train.tokens.000.xz:
# D-large assembled, the driver's one-epoch trainings waited for, /tmp/r returned as one tar.
s=$(date +%s)
PYTHONPATH=src/python python3 -m fracnas_corpus unpack data/corpus-large-v1.parts data/corpus-large-v1 2>&1 | tail -2
[ -f data/corpus-large-v1/train.tokens ] && touch /tmp/corpus_ready
while [ $(( $(date +%s)-s )) -lt ${HOLD:-570} ] && [ ! -f /tmp/r/DONE ]; do sleep 5; done
tar -C /tmp -cf $OUT/r.tar r; ls /tmp/r /tmp/r/*/ 2>/dev/null | tail -20; tail -5 /tmp/r/driver.log
