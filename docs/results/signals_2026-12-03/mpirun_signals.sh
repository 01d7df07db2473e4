# On the lent H200: what Open MPI's mpirun there does with SIGUSR1 and SIGTERM (issue 23: SIGUSR1
# to mpirun drained on 4.1.4 on the development machine, not on 4.1.6 there). Stand-in ranks log
# each signal with a time stamp and their signal masks; no build needed. PLM_RUNS="no_plm rsh" adds
# runs without the environment's OMPI_MCA_plm.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun --version | head -1
ompi_info --all --parsable 2>/dev/null | grep -iE "forward_signals|sigkill_timeout|forward_job_control" | head
grep -v '^#' /etc/openmpi/openmpi-mca-params.conf 2>/dev/null | grep . ; ls /usr/lib/x86_64-linux-gnu/openmpi/etc 2>/dev/null
env | grep -E '^OMPI_MCA|^PMIX_MCA' ; grep -E 'SigBlk|SigIgn' /proc/self/status
cat > /tmp/rank.sh <<'E'
#!/bin/bash
r=$OMPI_COMM_WORLD_RANK; t0=$1
log() { echo "rank $r $1 at $(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.2f", a - b }') s" >> /tmp/sig.log; }
trap 'log USR1' USR1; trap 'log TERM; exit 0' TERM; trap 'log INT; exit 0' INT
grep -E 'SigBlk|SigIgn' /proc/$$/status | tr '\n' ' ' > /tmp/mask.$r
for i in $(seq 100); do sleep 0.1; done; log end
E
chmod +x /tmp/rank.sh; rm -f /tmp/sig.log
for how in plain setsid ${PLM_RUNS:-}; do
  echo "== mpirun started $how"; rm -f /tmp/sig.log /tmp/mask.*; t0=$(date +%s.%N)
  case $how in
    plain) mpirun -n 3 --oversubscribe /tmp/rank.sh $t0 & ;;
    setsid) setsid mpirun -n 3 --oversubscribe /tmp/rank.sh $t0 & ;;
    no_plm) env -u OMPI_MCA_plm mpirun -n 3 --oversubscribe /tmp/rank.sh $t0 & ;;  # without the image's plm=isolated
    rsh) env -u OMPI_MCA_plm mpirun --mca plm rsh -n 3 --oversubscribe /tmp/rank.sh $t0 & ;;
  esac
  pid=$!; sleep 2; kill -USR1 $pid; sleep 1.5; kill -TERM $pid; wait $pid; echo "mpirun exit $?"
  sleep 1; sort -k4 -n /tmp/sig.log; for f in /tmp/mask.*; do echo "$f: $(cat $f)"; done
done
