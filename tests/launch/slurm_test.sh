#!/usr/bin/env bash
# The slurm/ scripts on a real Slurm: a private single-node cluster started here (munged with a
# key of its own, slurmctld and slurmd on this host with proctrack/linuxproc and task/none, and
# MpiDefault=none, Slurm's default, so that the scripts must ask for their MPI plugin), all in a
# temporary folder and stopped on any exit. The jobs are submitted as a new user would, from a
# submission folder holding slurm/ and build/ but no runs/: one_node.sbatch with a CPU worker,
# a worker rank that dies and the archive resubmitted, a search that goes on without it
# (mpi_launch/search_local.sh with ON_WORKER_LOSS=continue in the job), a plugin that does not exist,
# long_requeue.sbatch warned, requeued and stopped at MAX_RESTARTS, and a scaling series (submit,
# then collect). tests/launch/launch_test.sh checks the command
# lines against stand-ins; this test checks what they do.
#   tests/launch/slurm_test.sh FRACNAS_BINARY
# Exits 77 (CTest's SKIP_RETURN_CODE), with the reason, when not root or without slurm-wlm or munge.
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fracnas=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "this test starts slurmctld and slurmd, which need root (it runs in CI as root)"
for c in munged slurmctld slurmd slurmstepd sbatch srun scontrol squeue sinfo scancel; do
  command -v "$c" > /dev/null || skip "no $c here: install the Debian packages slurm-wlm and munge (cmake/dev.sh test does)"
done

# a Slurm command waits minutes for a controller that has gone: bound each one here to 30 s
for c in sbatch srun scontrol squeue scancel sinfo; do eval "$c() { timeout 30 $(command -v "$c") \"\$@\"; }"; done
t0=$(date +%s)
tmp=$(mktemp -d)
fails=0
check() {  # check "what" expected actual
  if [ "$2" == "$3" ]; then echo "ok    $1"; else echo "FAIL  $1"; echo "  expected: $2"; echo "  actual:   $3"; fails=$((fails + 1)); fi
}
elapsed() { echo "      ($(( $(date +%s) - t0 )) s) $*"; }

# ---- stopped on any exit: the jobs, then slurmctld and slurmd, then munged ----------------------
pid_of() { [ -s "$1" ] && cat "$1"; }
stop() {
  local p i
  if [ -s "$tmp/slurmctld.pid" ]; then
    scancel --full --quiet --user=root 2> /dev/null
    for i in $(seq 20); do [ -z "$(squeue -h 2> /dev/null)" ] && break; sleep 0.5; done
    scontrol shutdown 2> /dev/null   # slurmctld and every slurmd
  fi
  for p in "$tmp/slurmd.pid" "$tmp/slurmctld.pid" "$tmp/munge/munged.pid"; do
    local pid; pid=$(pid_of "$p") || continue
    [ "$p" = "$tmp/munge/munged.pid" ] && kill "$pid" 2> /dev/null
    for i in $(seq 20); do kill -0 "$pid" 2> /dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2> /dev/null && { echo "stop: $p ($pid) still up after 10 s: SIGKILL"; kill -KILL "$pid"; }
  done
  # a job's slurmstepd and tasks outlive slurmd when it could not end them (a controller gone):
  # every process with this cluster's SLURM_CONF in its environment was started for this test
  local d env e
  for d in /proc/[0-9]*; do
    mapfile -d '' env < "$d/environ" 2> /dev/null || continue
    for e in "${env[@]}"; do
      if [ "$e" = "SLURM_CONF=$tmp/slurm.conf" ]; then
        echo "stop: process ${d#/proc/} ($(< "$d/comm")) left behind: SIGKILL"; kill -KILL "${d#/proc/}" 2> /dev/null; break
      fi
    done
  done
  if [ "$fails" -gt 0 ]; then   # what the daemons said, to find why
    for l in "$tmp"/log/*.log "$tmp"/clone/*.out "$tmp"/clone/runs/scaling/*.out; do
      [ -e "$l" ] && { echo "---- ${l#$tmp/} (last 25 lines)"; tail -n 25 "$l"; }
    done
  fi
  rm -rf "$tmp"
}
trap stop EXIT
trap 'echo "interrupted: stopping the cluster"; exit 1' INT TERM

# ---- munge: a key of its own, a socket in $tmp ---------------------------------------------------
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/log" "$tmp/tmpfs"
chmod 700 "$tmp" "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
sock=$tmp/munge/munge.socket
munged --force --key-file="$tmp/munge/munge.key" --socket="$sock" --pid-file="$tmp/munge/munged.pid" \
  --log-file="$tmp/log/munged.log" --seed-file="$tmp/munge/seed" \
  || { echo "FAIL  munged did not start"; fails=1; exit 1; }

# ---- slurm.conf: this host as the only node, with its real CPUs and memory ----------------------
free_port() {  # a TCP port nobody listens on, from $1 up
  local p=$1
  while (echo > "/dev/tcp/127.0.0.1/$p") 2> /dev/null; do p=$((p + 1)); done
  echo "$p"
}
ctl_port=$(free_port $(( 20000 + RANDOM % 20000 )))
d_port=$(free_port $(( ctl_port + 1 )))
host=$(hostname -s)
node=$(slurmd -C | head -1)   # NodeName=<host> CPUs=... RealMemory=...
cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<< "$node")
export SLURM_CONF=$tmp/slurm.conf
cat > "$SLURM_CONF" <<C
ClusterName=fracnastest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job waits this long before it starts again (120 s by default)
AuthInfo=socket=$sock,cred_expire=10
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
# the pmix plugin's per-step folders (spmix_appdir_*) go here, not to /tmp
TmpFS=$tmp/tmpfs
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
# a requeued job becomes eligible again without an event: look for it every 5 s, not 60
SchedulerParameters=sched_interval=5,bf_interval=5
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
C
slurmctld -f "$SLURM_CONF" && slurmd -f "$SLURM_CONF" || { echo "FAIL  slurmctld or slurmd did not start"; fails=1; exit 1; }
for _ in $(seq 60); do [ "$(sinfo -h -o %t 2> /dev/null)" = idle ] && break; sleep 0.5; done
check "a single-node Slurm: the node $host is idle ($cpus CPUs)" idle "$(sinfo -h -o %t)"
[ "$fails" -eq 0 ] || exit 1
plugins=$(srun --mpi=list 2>&1 | tr -s '\n\t ' ' ')
[[ $plugins == *pmix* ]] || { check "srun --mpi=list has pmix (slurm-wlm-basic-plugins)" pmix "$plugins"; exit 1; }
elapsed "slurmctld and slurmd up; srun --mpi=list: $plugins"

# ---- the submission folder: slurm/ and build/ as in a fresh clone, no runs/ ----------------------
sub=$tmp/clone
mkdir -p "$sub/build" "$sub/src"
cp -r "$root/slurm" "$root/mpi_launch" "$sub/"
cp -r "$root/src/python" "$sub/src/"
ln -s "$fracnas" "$sub/build/fracnas"
cp "$(dirname "$fracnas")/CMakeCache.txt" "$sub/build/" 2> /dev/null   # scaling.sh collect takes its Python from it
cd "$sub" || exit 1
cpu_job=(--gpus-per-node=0 --ntasks=2 --cpus-per-task=1)   # the master and one CPU worker on this node
state() { scontrol show job -o "$1" 2> /dev/null | sed -n 's/.* JobState=\([A-Z_]*\) .* ExitCode=\([0-9:]*\) .*/\1 \2/p' | head -1; }
wait_for() {  # job id, seconds: until it has left the queue
  local i
  for i in $(seq "$(( $2 * 2 ))"); do
    case "$(state "$1")" in COMPLETED*|FAILED*|CANCELLED*|TIMEOUT*|"") return 0 ;; esac
    sleep 0.5
  done
  echo "      job $1 still $(state "$1") after $2 s: cancelled"; scancel "$1"
}
answered() { "$fracnas" analyze "$1" 2> /dev/null | sed -n 's/^answered *\([0-9]*\).*/\1/p' | head -1; }

# ---- one node, a CPU worker timing real candidates in LibTorch -----------------------------------
small="--space homogeneous --max-layers 4 --max-width 256 --min-params 1000000 --context 15 --warmup 0 --repeats 1 --reference-builds 1"
id=$(DEVICE=cpu SEARCH_ARGS="--budget 4 --seed 1 $small" sbatch --parsable "${cpu_job[@]}" --time=5 slurm/one_node.sbatch)
wait_for "$id" 120
check "one_node: the job ended well" "COMPLETED 0:0" "$(state "$id")"
check "one_node: its log in the submission folder, with the master's report" \
  "one_node.sbatch: 2 ranks on $(hostname), archive runs/fracnas-$id.h5|ended by    budget" \
  "$(grep -o -e '^one_node.sbatch: .*' -e '^ended by    budget' "fracnas-$id.out" | paste -sd'|')"
check "one_node: runs/ made, the archive an HDF5 file (h5dump reads it)" 0 "$(h5dump -H "runs/fracnas-$id.h5" > /dev/null 2>&1; echo $?)"
check "one_node: 4 answers in the archive, measured by rank 1 on the CPU" "4|1" \
  "$(answered "runs/fracnas-$id.h5")|$(grep -c '^  rank 1 on .*, cpu' "fracnas-$id.out")"
elapsed "one_node.sbatch"

# ---- a worker rank that dies (it ends itself with SIGKILL in its 5th evaluation): Slurm ends the
# step, the archive keeps what was flushed, and the same ARCHIVE submitted again resumes it (with one
# worker: the rank that died is not in the new job) -------------------------------------------------
id=$(DEVICE=cpu SEARCH_ARGS="--evaluator model --model-cost-ms 200 --space homogeneous --budget 40 --seed 1 --inject kill:2:5" \
     sbatch --parsable --gpus-per-node=0 --ntasks=3 --cpus-per-task=1 --overcommit --time=2 slurm/one_node.sbatch)
wait_for "$id" 120
check "one_node: a worker rank killed: the job fails, srun says which task" "FAILED|1" \
  "$(state "$id" | cut -d' ' -f1)|$(grep -c 'srun: error: .*: task 2: Killed' "fracnas-$id.out")"
n=$(answered "runs/fracnas-$id.h5")
check "one_node: a worker rank killed: the archive keeps the answers flushed before" yes \
  "$([ "${n:-0}" -gt 0 ] && [ "$n" -lt 40 ] && echo yes || echo "no ($n)")"
id2=$(ARCHIVE=runs/fracnas-$id.h5 DEVICE=cpu sbatch --parsable "${cpu_job[@]}" --time=2 slurm/one_node.sbatch)
wait_for "$id2" 120
check "one_node: the same ARCHIVE submitted again: resumed, ended by budget, 40 answers" "COMPLETED 0:0|1|1|40" \
  "$(state "$id2")|$(grep -c "^archive     runs/fracnas-$id.h5 (resumed: $n answers replayed)" "fracnas-$id2.out")|$(grep -c '^ended by    budget' "fracnas-$id2.out")|$(answered "runs/fracnas-$id.h5")"
elapsed "a worker rank killed, then resumed"

# ---- a search that goes on when a worker rank dies, under Slurm: srun's pmix plugin cancels the
# step (docs/protocol.md), so the job runs mpi_launch/search_local.sh with ON_WORKER_LOSS=continue
# (Open MPI's mpirun --enable-recovery) inside its one-node allocation ----------------------------
id=$(sbatch --parsable --gpus-per-node=0 --ntasks=3 --cpus-per-task=1 --overcommit --time=2 --output=continue-%j.out \
     --wrap "ON_WORKER_LOSS=continue GPUS=0 WORKERS=2 ARCHIVE=runs/continue.h5 bash mpi_launch/search_local.sh \
             --evaluator model --model-cost-ms 200 --space homogeneous --budget 40 --seed 1 --inject kill:2:5 --task-deadline 3")
wait_for "$id" 120
check "search_local.sh in an sbatch job, ON_WORKER_LOSS=continue: a worker rank killed, the job ends well" "COMPLETED 0:0" "$(state "$id")"
check "search_local.sh in an sbatch job, ON_WORKER_LOSS=continue: rank 2 left the pool, the budget spent, 40 answers" "1|1|40" \
  "$(grep -c '^  rank 2 left the pool' "continue-$id.out")|$(grep -c '^ended by    budget' "continue-$id.out")|$(answered runs/continue.h5)"
elapsed "a worker rank killed under ON_WORKER_LOSS=continue, in an sbatch job"

# ---- an MPI plugin this Slurm does not have: one sentence, before any rank ----------------------
id=$(SRUN_MPI=pmix_v0 DEVICE=cpu sbatch --parsable "${cpu_job[@]}" --time=1 slurm/one_node.sbatch)
wait_for "$id" 60
check "one_node: SRUN_MPI=pmix_v0: the job fails with exit 2" "FAILED 2:0" "$(state "$id")"
check "one_node: SRUN_MPI=pmix_v0: the sentence, with the plugins there are, and no srun" \
  "one_node.sbatch: this Slurm has no MPI plugin 'pmix_v0' (srun --mpi=list: ... pmix ...); set SRUN_MPI to one your MPI library supports (Open MPI: pmix), or empty for the cluster's MpiDefault|0" \
  "$(sed 's/(srun --mpi=list: [^)]*pmix[^)]*);/(srun --mpi=list: ... pmix ...);/' "fracnas-$id.out")|$(grep -c '^search ' "fracnas-$id.out")"
elapsed "SRUN_MPI refused"

# ---- a long search: warned 50 s before its 2-minute limit, drained, requeued once, then stopped ----
# slurmctld looks at time limits every 30 s and may warn up to 60 s early (sbatch --signal): each
# warning comes 10 to 40 s into a run (with a 1-minute limit, a requeued run was warned as it
# started, before fracnas could take the signal)
id=$(MAX_RESTARTS=1 DEVICE=cpu SEARCH_ARGS="--evaluator model --model-cost-ms 100 --space homogeneous --budget 100000 --seed 1 --grace 10" \
     sbatch --parsable "${cpu_job[@]}" --time=2 --signal=B:USR1@50 slurm/long_requeue.sbatch)
wait_for "$id" 180
log=fracnas-long-$id.out
check "long_requeue: stopped at MAX_RESTARTS=1 with the budget left: FAILED, exit 1" "FAILED 1:0" "$(state "$id")"
check "long_requeue: one log, appended: start 0, requeued, start 1, not requeued" \
  "start 0 (at most 1 restarts), archive runs/fracnas-long-$id.h5|stopped by the time-limit warning; requeueing job $id (restart 1)|start 1 (at most 1 restarts), archive runs/fracnas-long-$id.h5|stopped by the time-limit warning after 1 restart(s), MAX_RESTARTS; not requeued, the budget is not spent: submit again with ARCHIVE=runs/fracnas-long-$id.h5 to go on" \
  "$(sed -n 's/^long_requeue.sbatch: //p' "$log" | paste -sd'|')"
check "long_requeue: each run drained on the warning (exit 0 of the master)" 2 "$(grep -c '^ended by    signal' "$log")"
check "long_requeue: the second run resumed the first's archive" 1 "$(grep -c "^archive     runs/fracnas-long-$id.h5 (resumed" "$log")"
n=$(answered "runs/fracnas-long-$id.h5")
check "long_requeue: the archive holds both runs' answers, not the budget" yes "$([ "${n:-0}" -gt 0 ] && [ "$n" -lt 100000 ] && echo yes || echo "no ($n)")"
elapsed "long_requeue.sbatch"

# ---- the scaling series: strong and weak with 1 and 2 CPU workers, one after the other; then collect ----
# --overcommit: 3 tasks (the master and 2 workers) on this node's CPUs
out=$(WORKERS_LIST="1 2" WORKERS_PER_NODE=2 DEVICE=cpu STRONG_BUDGET=20 WEAK_PER_WORKER=10 \
      SEARCH_FLAGS="--evaluator model --model-cost-ms 50 --space homogeneous --seed 1" \
      SBATCH_FLAGS="--cpus-per-task=1 --overcommit --time=2" slurm/scaling.sh submit 2>&1)
check "scaling submit: exit status" 0 $?
mapfile -t ids < <(sed -n 's/.*: job \([0-9]*\)$/\1/p' <<< "$out")
check "scaling submit: four jobs, each after the one before" "4|afterany:${ids[0]}|afterany:${ids[1]}|afterany:${ids[2]}" \
  "${#ids[@]}$(for j in "${ids[@]:1}"; do printf '|%s' "$(scontrol show job -o "$j" | sed -n 's/.* Dependency=\([^ (]*\).*/\1/p')"; done)"
for j in "${ids[@]}"; do wait_for "$j" 90; done
check "scaling: every run COMPLETED" "COMPLETED 0:0|COMPLETED 0:0|COMPLETED 0:0|COMPLETED 0:0" \
  "$(for j in "${ids[@]}"; do state "$j"; done | paste -sd'|')"
when() { scontrol show job -o "$1" | sed -n "s/.* $2=\\([^ ]*\\).*/\\1/p"; }
overlaps=0
for i in 1 2 3; do [[ $(when "${ids[$i]:-0}" StartTime) < $(when "${ids[$((i - 1))]}" EndTime) ]] && overlaps=$((overlaps + 1)); done
check "scaling: no run started before the one before it had ended" 0 "$overlaps"
check "scaling: the logs beside the archives" 4 "$(ls runs/scaling/scal-*.out 2> /dev/null | wc -l)"
check "scaling: strong 20 answers each, weak 10 per worker" "20|20|10|20" \
  "$(answered runs/scaling/strong-1.h5)|$(answered runs/scaling/strong-2.h5)|$(answered runs/scaling/weak-1.h5)|$(answered runs/scaling/weak-2.h5)"
# collect with the default plotter (the Python the build used) while python3 lacks h5py
mkdir -p "$tmp/nopy"; printf '#!/bin/sh\nexit 1\n' > "$tmp/nopy/python3"; chmod +x "$tmp/nopy/python3"
WORKERS_LIST="1 2" PATH="$tmp/nopy:$PATH" slurm/scaling.sh collect > /dev/null
check "scaling collect: exit status" 0 $?
check "scaling collect: tables and the scaling plots of both series" "2|2" \
  "$(ls runs/scaling/strong.txt runs/scaling/weak.txt 2> /dev/null | wc -l)|$(ls runs/scaling/*-plots/scaling.png 2> /dev/null | wc -l)"
elapsed "scaling.sh submit and collect"

echo "$fails check(s) failed in $(( $(date +%s) - t0 )) s"
[ "$fails" -eq 0 ]
