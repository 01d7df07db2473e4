# For a lease (issue 25; written before any had run, and run since as blocks_h200_2026-12-05/callB.sh,
# whose results are there): the same search against GPT-2 small with GPT-2's block
# alone and with every block option a coordinate, at batch B and context C (arguments; the issue
# asks for 1 x 1023 and 16 x 2047), each 100 candidates in the homogeneous space, seed 1. Run after
# call1.sh in the same lease (it reuses build-gpu): `bash docs/results/blocks_next_lease/search_pair.sh 16 2047`.
# About 4-5 minutes a pair on the H200 (an estimate from the 120-candidate searches of
# docs/results/search_h200.md, not yet measured with these options).
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); b=${1:?batch}; c=${2:?context}; o=$OUT/search_b${b}_c${c}; mkdir -p $o; B=build-gpu
[ -x $B/fracnas ] || { cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release >/tmp/cfg.log 2>&1 && cmake --build $B --target fracnas >/tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }; }
common=(--device cuda --space homogeneous --budget 100 --seed 1 --batch $b --context $c --top 5)
timeout 280 $B/fracnas search "${common[@]}" --archive $o/gpt2_block.h5 > $o/gpt2_block.txt 2>&1; echo "gpt2 block: exit $? at $(( $(date +%s)-s )) s" >> $o/times.txt
timeout 280 $B/fracnas search "${common[@]}" --norm layernorm,rmsnorm --mlp gelu,swiglu --positions learned,rotary --block sequential,parallel \
  --output tied,untied --bias on,off --kv-heads 0,1,2,4 --archive $o/options.h5 > $o/options.txt 2>&1; echo "options: exit $? at $(( $(date +%s)-s )) s" >> $o/times.txt
for f in gpt2_block options; do grep -A6 "^best" $o/$f.txt | head -7; done; cat $o/times.txt
