# Call B (the same machine, back to back with call A; carrying .devdeps and D-large's other parts:
# data/corpus-large-v1.parts/{index.json,manifest.json.000.xz,tokenizer.model.000.xz,
# val.tokens.000.xz,train.tokens.001.xz}, which complete it): the rest of issue 25's
# matrix, then the search against GPT-2 small with GPT-2's block alone and with every block option
# a coordinate (the options of docs/results/blocks_next_lease/search_pair.sh), homogeneous space,
# seed 1, at batch 16 x 2,047 cached tokens and at batch 1 x 1,023, each search stopped after
# SEARCH_S seconds (then drained), so that each pair has the same wall time.
source .devdeps/gpu-env.sh >/dev/null; s=$(date +%s); o=$OUT/callB; mkdir -p $o; B=build-gpu; T=${SEARCH_S:-95}
[ -d data/corpus-large-v1.parts ] && PYTHONPATH=src/python python3 -m fracnas_corpus unpack data/corpus-large-v1.parts data/corpus-large-v1 2>&1 | tail -2 > $o/unpack.txt
bash docs/results/blocks_h200_2026-12-05/matrix.sh $o $s ${MATRIX_S:-120}
echo "matrix stopped at $(( $(date +%s)-s )) s" >> $o/times.txt
opts=(--norm layernorm,rmsnorm --mlp gelu,swiglu --positions learned,rotary --block sequential,parallel --output tied,untied --bias on,off --kv-heads 0,1,2,4)
for bc in "16 2047" "1 1023"; do
  set -- $bc; d=$o/b$1_c$2; mkdir -p $d
  common=(--device cuda --space homogeneous --budget 100 --seed 1 --batch $1 --context $2 --top 5 --time-limit $T --grace 20)
  timeout $(( T + 40 )) $B/fracnas search "${common[@]}" --archive $d/gpt2_block.h5 > $d/gpt2_block.txt 2>&1; echo "b$1 c$2 gpt2 block: exit $? at $(( $(date +%s)-s )) s" >> $o/times.txt
  timeout $(( T + 40 )) $B/fracnas search "${common[@]}" "${opts[@]}" --archive $d/options.h5 > $d/options.txt 2>&1; echo "b$1 c$2 options: exit $? at $(( $(date +%s)-s )) s" >> $o/times.txt
done
cd $OUT && tar czf callB.tgz callB && rm -rf callB
tar xzf callB.tgz -O callB/times.txt; tar xzf callB.tgz -O callB/done.txt | tail -1
for f in b16_c2047/gpt2_block b16_c2047/options b1_c1023/gpt2_block b1_c1023/options; do echo "== $f"; tar xzf callB.tgz -O callB/$f.txt | grep -A3 "^answered\|^best" | cut -c1-400; done
