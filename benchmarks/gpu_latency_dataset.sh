#!/usr/bin/env bash
# On the lent GPU machine, from the repository root with .devdeps carried (../shared/device/README.md):
# measure a spread of GPT architectures with today's evaluator, for fitting the latency test bed
# (benchmarks/fit_latency_testbed.py, issue 11 step 5). Four searches, each its own process on
# GPU 0, every candidate measured once (decode at a 1,023-token cache, bf16, CUDA graphs):
#   random_het        random search of the heterogeneous space, no parameter floor (--min-params 1)
#   random_hom        the same over the homogeneous space
#   random_het_floor  random search with GPT-2 small's floor (the feasible region)
#   soo_het_floor     SOO with that floor (the region searches end in)
# Output: $OUT/h200_latency_dataset.csv (source, arch, decoder and total parameters, decode ms and
# IQR, the worker's reference timing) and each search's report ($OUT/<name>.txt).
set -u
source .devdeps/gpu-env.sh
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null 2>&1 \
  && cmake --build build-gpu --target fracnas -j 16 > "$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv > "$OUT/gpu.txt" 2>&1
t0=$(date +%s)
run() {
  local name=$1; shift
  build-gpu/fracnas search --device cuda --budget 1000000 --archive "/tmp/dataset_$name.h5" --replace "$@" > "$OUT/$name.txt" 2>&1
  echo "$name $(( $(date +%s) - t0 )) s: $(grep '^answered' "$OUT/$name.txt")"
}
run random_het --space heterogeneous --algorithm random --min-params 1 --measurements "${N_HET:-700}" --seed 11
run random_hom --space homogeneous --algorithm random --min-params 1 --measurements "${N_HOM:-300}" --seed 12
run random_het_floor --space heterogeneous --algorithm random --measurements "${N_FLOOR:-250}" --seed 13
run soo_het_floor --space heterogeneous --algorithm soo --measurements "${N_SOO:-150}" --seed 1
python3 - > "$OUT/h200_latency_dataset.csv" <<'PY'
import glob, os
import h5py
print("source,arch,decoder_params,total_params,decode_ms,decode_iqr_ms,reference_ms")
for f in sorted(glob.glob("/tmp/dataset_*.h5")):
    e = h5py.File(f, "r")["evaluations"][:]
    for x in e[(e["worker"] >= 0) & (e["cached"] == 0) & (e["feasible"] == 1) & (e["status"] == 0)]:
        print('%s,"%s",%d,%d,%.6f,%.6f,%.6f' % (os.path.basename(f)[8:-3], x["arch"].decode(), x["decoder_params"],
                                             x["total_params"], x["decode_ms"], x["decode_iqr_ms"], x["reference_ms"]))
PY
wc -l "$OUT/h200_latency_dataset.csv"
