# Call 2 (within 30 s of call 1), carrying data/corpus-large-v1.parts/{index.json,train.tokens.000.xz}:
# D-large assembled, the driver told, its files returned after ~550 s. Later calls: the same
# without the unpack (keep-alive and collection).
s=$(date +%s)
if [ ! -f /tmp/corpus_ready ]; then
  PYTHONPATH=src/python python3 -m fracnas_corpus unpack data/corpus-large-v1.parts data/corpus-large-v1 2>&1 | tail -2
  [ -f data/corpus-large-v1/train.tokens ] && touch /tmp/corpus_ready
fi
while [ $(( $(date +%s)-s )) -lt ${HOLD:-550} ] && [ ! -f /tmp/study/DONE ]; do sleep 15; done
cp -r /tmp/study /tmp/study.log $OUT/; ls /tmp/study /tmp/study/*/ 2>/dev/null | tail -30; tail -8 /tmp/study.log
