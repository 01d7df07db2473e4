#!/usr/bin/env bash
# On the lent GPU machine, from the repository root with .devdeps carried (../shared/device/README.md):
# a 300-candidate search through the MPI master and one GPU worker, stopped by SIGTERM after 60 s
# (Slurm's warning signal), resumed and SIGKILLed after 40 s, resumed to the end; then the
# archive's summary (h5py). Writes under $OUT. Results: docs/results/dispatch.md.
set -u
source .devdeps/gpu-env.sh
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DFRACNAS_BUILD_TESTS=OFF > $OUT/configure.log 2>&1 && cmake --build build-gpu --target fracnas -j 16 > $OUT/build.log 2>&1 || { tail -20 $OUT/build.log; exit 1; }
H5=$OUT/resume_h200.h5
ARGS="--device cuda --space heterogeneous --budget 300 --progress-every 50"
# A: SIGTERM to every rank after 60 s (what Slurm's --signal does): the master drains and exits 0
mpirun -n 2 --bind-to none build-gpu/fracnas search $ARGS --archive $H5 > $OUT/resume_a.txt 2>&1 &
sleep 60; pkill -TERM -f "^build-gpu/fracnas search"; wait; echo "A exit $?" >> $OUT/resume_a.txt  # the ranks, not mpirun
# B: resume, then SIGKILL every rank after 40 s (a node lost)
mpirun -n 2 --bind-to none build-gpu/fracnas search --resume $H5 > $OUT/resume_b.txt 2>&1 &
sleep 40; pkill -KILL -f "^build-gpu/fracnas search"; wait; echo "B exit $?" >> $OUT/resume_b.txt
# C: resume to the end
mpirun -n 2 --bind-to none build-gpu/fracnas search --resume $H5 > $OUT/resume_c.txt 2>&1; echo "C exit $?" >> $OUT/resume_c.txt
python3 - <<'PY' > $OUT/resume_summary.txt 2>&1
import h5py, os, collections
f = h5py.File(os.environ["OUT"] + "/resume_h200.h5", "r", swmr=True)
e = f["evaluations"][:]
print("evaluations", len(e), "events", len(f["events"]), "sessions", [(int(s["session"]), s["ended_by"].decode(), round(float(s["wall_seconds"]), 1)) for s in f["sessions"][:]])
m = e[(e["feasible"] == 1) & (e["cached"] == 0)]
print("measured", len(m), "distinct hashes among them", len(set(m["hash"].tolist())), "cached", int(((e["feasible"] == 1) & (e["cached"] == 1)).sum()), "infeasible", int((e["feasible"] == 0).sum()))
print("ids 0..N-1 each once:", sorted(e["id"].tolist()) == list(range(len(e))))
ev = f["events"][:]
print("asked", int(ev["count"][ev["what"] == 0].sum()), "told", int((ev["what"] == 1).sum()))
print("workers", [(int(w["rank"]), int(w["session"]), w["device_name"].decode(), w["device_uuid"].decode(), round(float(w["reference_ms"]), 4)) for w in f["workers"][:]])
ok = m[m["status"] == 0]
b = ok[ok["ratio"].argmin()]
print("best", b["arch"].decode(), float(b["value"]), "ms ratio", float(b["ratio"]), "decoder", int(b["decoder_params"]))
PY
tail -4 $OUT/resume_a.txt; tail -3 $OUT/resume_b.txt; tail -4 $OUT/resume_c.txt; cat $OUT/resume_summary.txt
