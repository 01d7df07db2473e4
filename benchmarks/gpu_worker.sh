#!/usr/bin/env bash
# On the lent GPU machine, from the repository root with .devdeps carried (../shared/device/README.md):
# build fracnas, its tests and worker_throughput once, then run the stages named in $STAGES
# (default: all of them, in this order), each writing under $OUT:
#   tests       the [gpu] test cases             -> gpu_tests.txt
#   throughput  worker_throughput ($THROUGHPUT_ARGS, default 60 GPT-2-small-sized candidates, GPT-2
#               small re-timed every 10, rebuilt and resident), with the GPU's clocks, power,
#               temperature and clock-event reasons logged every 100 ms by nvidia-smi
#                                                -> throughput.txt, throughput.jsonl, clocks.csv
#   anchor      benchmarks/deployment_anchor.py  -> anchor.txt, anchor.jsonl ($ANCHOR_ARGS passed on)
#   search      a search through mpirun ($SEARCH_ARGS, default a 300-candidate search of the
#               homogeneous space), the reference re-timed every 10 candidates, and the spread of
#               those timings (h5py), each timing over 1% off their median with the candidates
#               measured before it, nvidia-smi's log as in throughput, and the processes holding
#               the GPU 8 s into the search
#                                                -> search.txt, search.h5, search_clocks.csv,
#                                                   search_processes.csv
#   replay      after search: worker_throughput over that search's measured candidates in the order
#               they were measured, the references re-timed every 10 (as in the search)
#                                                -> replay.txt, replay.jsonl
#   kernels     the captured graphs' nodes of `fracnas eval --kernels`, GPT-2 small and 3 x 1728
#                                                -> kernels.txt
#   gradnorm    benchmarks/proxy_ranking on LiteTransformerSearch's 400 models, seeds 0, 1 and 2
#               side by side on the GPU         -> gradnorm_s0.csv .. gradnorm_s2.csv
#   profile     where nsys exists: the kernels of `fracnas eval --preset gpt2-small` (prefill, then
#               decode, graph nodes traced), and of the plain PyTorch model's graph in
#               deployment_anchor.py                -> profile.txt
# At the end every output is packed into $OUT/gpu_worker.tgz (the device returns few files).
# Results: docs/results/gpu_worker.md.
set -u
source .devdeps/gpu-env.sh
STAGES=${STAGES:-tests throughput anchor}
# nvidia-smi's clocks, power, temperature and clock-event reasons every 100 ms into $1, in the
# background (its pid in clocks_pid); older drivers name the reasons clocks_throttle_reasons
log_clocks() {
  local q=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_event_reasons.active
  nvidia-smi --query-gpu=$q --format=csv -i 0 > /dev/null 2>&1 || q=${q/clocks_event/clocks_throttle}
  nvidia-smi --query-gpu=$q --format=csv -i 0 -lms 100 > "$1" 2>&1 & clocks_pid=$!
}
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release > $OUT/configure.log 2>&1 \
  && cmake --build build-gpu --target fracnas fracnas_tests worker_throughput proxy_ranking -j 16 > $OUT/build.log 2>&1 \
  || { tail -30 $OUT/build.log; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv > $OUT/gpu.txt 2>&1
for stage in $STAGES; do
  case $stage in
    tests) build-gpu/tests/fracnas_tests "[gpu]" -d yes > $OUT/gpu_tests.txt 2>&1; echo "tests exit $?" >> $OUT/gpu_tests.txt ;;
    throughput) log_clocks $OUT/clocks.csv
                build-gpu/benchmarks/worker_throughput ${THROUGHPUT_ARGS:---candidates 60 --reference-every 10} \
                  --out $OUT/throughput.jsonl > $OUT/throughput.txt 2>&1; echo "throughput exit $?" >> $OUT/throughput.txt
                kill $clocks_pid ;;
    anchor) TORCHINDUCTOR_CACHE_DIR=/tmp/inductor python3 benchmarks/deployment_anchor.py --fracnas build-gpu/fracnas \
              --out $OUT/anchor.jsonl ${ANCHOR_ARGS:-} > $OUT/anchor.txt 2>&1; echo "anchor exit $?" >> $OUT/anchor.txt ;;
    search) log_clocks $OUT/search_clocks.csv
            (sleep 8; nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv > $OUT/search_processes.csv 2>&1) &
            mpirun -n 2 --bind-to none build-gpu/fracnas search --device cuda ${SEARCH_ARGS:---space homogeneous --budget 300} \
              --reference-every 10 --archive $OUT/search.h5 --replace > $OUT/search.txt 2>&1; echo "search exit $?" >> $OUT/search.txt
            kill $clocks_pid
            python3 - >> $OUT/search.txt 2>&1 <<'PY'
import h5py, os, statistics
f = h5py.File(os.environ["OUT"] + "/search.h5", "r")
w = f["worker_events"][:]
ref = [float(x) for x in w["reference_ms"][(w["kind"] == 0) | (w["kind"] == 1)]]
e = f["evaluations"][:]
print("evaluations", len(e), "reference timings", len(ref), ["%.4f" % x for x in ref])
m = statistics.median(ref)
print("reference median %.4f ms, min %.4f, max %.4f, (max - min) / median %.2f%%, stdev / median %.2f%%" % (
    m, min(ref), max(ref), 100 * (max(ref) - min(ref)) / m, 100 * statistics.stdev(ref) / m))
# each timing more than 1% off the median, with the 3 candidates its worker measured before it
t = w["time"][(w["kind"] == 0) | (w["kind"] == 1)]
measured = e[(e["worker"] >= 0) & (e["cached"] == 0)]
for k, (when, r) in enumerate(zip(t, ref)):
    if abs(r - m) > 0.01 * m:
        before = measured[measured["ended"] <= when][-3:]
        print("timing %d at %.2f s: %.4f ms; before it:" % (k, when, r), "; ".join(
            "%s %s %.4f ms %.1f MB ended %.2f s" % (x["arch"].decode(), x["status"], x["value"], x["peak_memory_bytes"] / 1e6,
                                                   x["ended"]) for x in before))
PY
            ;;
    replay) python3 - > $OUT/replay_architectures.txt <<'PY'
import h5py, os
e = h5py.File(os.environ["OUT"] + "/search.h5", "r")["evaluations"][:]
m = e[(e["worker"] >= 0) & (e["cached"] == 0)]
for x in m[m["started"].argsort(kind="stable")]:
    print(x["arch"].decode())
PY
            build-gpu/benchmarks/worker_throughput --architectures $OUT/replay_architectures.txt --candidates 100000 \
              --reference-every 10 --out $OUT/replay.jsonl > $OUT/replay.txt 2>&1; echo "replay exit $?" >> $OUT/replay.txt ;;
    kernels) echo "== fracnas eval --preset gpt2-small --device cuda --kernels" > $OUT/kernels.txt
             build-gpu/fracnas eval --preset gpt2-small --device cuda --kernels >> $OUT/kernels.txt 2>&1
             a="n_layer=3 d_model=1728 d_inner=5184,5184,5184 n_head=27,27,27"
             echo "== fracnas eval --arch \"$a\" --device cuda --kernels" >> $OUT/kernels.txt
             build-gpu/fracnas eval --arch "$a" --device cuda --kernels >> $OUT/kernels.txt 2>&1 ;;
    gradnorm) for s in 0 1 2; do OMP_NUM_THREADS=5 build-gpu/benchmarks/proxy_ranking --device cuda --seeds $s \
                --data tests/data/lts/lts_gpt2_wt103.csv,tests/data/lts/lts_gpt2_lm1b.csv --out $OUT/gradnorm_s$s.csv \
                > $OUT/gradnorm_s$s.txt 2>&1 & done; wait ;;
    profile) if command -v nsys > /dev/null; then
               for what in prefill decode; do
                 nsys profile -o /tmp/prof_$what --force-overwrite true --cuda-graph-trace=node \
                   build-gpu/fracnas eval --preset gpt2-small --device cuda --measure $what --repeats 30 > /dev/null 2>&1
                 echo "== fracnas eval gpt2-small $what (35 warm-up/timed replays + 3 eager warm-ups)" >> $OUT/profile.txt
                 nsys stats --report cuda_gpu_kern_sum --format csv /tmp/prof_$what.nsys-rep 2>/dev/null | head -40 >> $OUT/profile.txt
               done
               nsys profile -o /tmp/prof_py --force-overwrite true --cuda-graph-trace=node python3 benchmarks/deployment_anchor.py \
                 --models gpt2-small --compile-modes none --attention none --repeats 30 > /dev/null 2>&1
               echo "== deployment_anchor.py gpt2-small, eager and graph, prefill and decode" >> $OUT/profile.txt
               nsys stats --report cuda_gpu_kern_sum --format csv /tmp/prof_py.nsys-rep 2>/dev/null | head -50 >> $OUT/profile.txt
             else echo "no nsys on this machine" > $OUT/profile.txt; fi ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
done
for f in $OUT/*.txt; do echo "== $f"; tail -n 3 $f; done
# packed outside $OUT first (tar complains about a directory that changes while it reads it)
tar czf /tmp/gpu_worker.tgz -C $OUT . && find $OUT -type f -delete && mv /tmp/gpu_worker.tgz $OUT/gpu_worker.tgz
