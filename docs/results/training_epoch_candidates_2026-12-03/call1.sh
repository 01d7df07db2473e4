# Call 1 on the lent H200, carrying .devdeps and D-large's small parts (index.json, manifest,
# tokenizer, val, train.tokens.001): build, stage those parts, start driver.sh in the background,
# return its files after ~545 s.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s)
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build build-gpu --target fracnas train_speed fracnas_tests >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
echo "build $(( $(date +%s)-s )) s"
cp build-gpu/fracnas /tmp/fracnas; cp build-gpu/benchmarks/train_speed /tmp/train_speed; cp build-gpu/tests/fracnas_tests /tmp/fracnas_tests
(setsid nohup bash docs/results/training_epoch_candidates_2026-12-03/driver.sh > /tmp/study.log 2>&1 < /dev/null &)
PYTHONPATH=src/python python3 -m fracnas_corpus unpack data/corpus-large-v1.parts data/corpus-large-v1 2>&1 | tail -2
while [ $(( $(date +%s)-s )) -lt 545 ]; do sleep 15; done
cp -r /tmp/study /tmp/study.log $OUT/; ls -la /tmp/study; tail -5 /tmp/study.log; tail -3 /tmp/study/gpu_tests.txt
