#!/usr/bin/env bash
# One fracnas search on this machine under mpirun: rank 0 is the master (it owns the fractal tree
# and the archive, and measures nothing), then one worker rank per GPU, or a single CPU worker
# when there is no GPU (two workers timing on one CPU would disturb each other's latencies).
# Every argument after the script's goes to `fracnas search` (e.g. --budget 500 --config run.ini).
set -euo pipefail

# ---- change these for your system ------------------------------------------------------------
FRACNAS=${FRACNAS:-build/fracnas}                     # the fracnas executable
MPIRUN=${MPIRUN:-mpirun}                              # mpirun or mpiexec of the MPI fracnas was built with
GPUS=${GPUS:-$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)}  # GPUs to use (0: a CPU worker)
WORKERS=${WORKERS:-$(( GPUS > 0 ? GPUS : 1 ))}        # measuring workers: one per GPU
RUNS=${RUNS:-runs}                                    # where archives go
ARCHIVE=${ARCHIVE:-$RUNS/search-$(date -u +%Y%m%dT%H%M%SZ).h5}  # this run's archive (never overwritten)
MPI_FLAGS=${MPI_FLAGS:---bind-to none}                # a worker's LibTorch may use every core it sees
# Open MPI 4.x: on SIGTERM or SIGINT (Ctrl-C) mpirun sends its ranks SIGTERM only after this many
# seconds and SIGKILL after twice it (MCA odls_base_sigkill_timeout, default 1): the master drains
# in between, so it must exceed fracnas's --grace (read from the arguments, else 120) by 5 s.
SIGKILL_TIMEOUT=${SIGKILL_TIMEOUT:-${OMPI_MCA_odls_base_sigkill_timeout:-}}  # empty: --grace + 6, whole seconds
# A worker rank that dies (a node lost, the OOM killer): `stop` (MPI's default) ends the job, the
# master draining first, and `fracnas search --resume` continues the archive; `continue` (Open MPI's
# mpirun --enable-recovery) keeps the others searching: the dead worker's task is re-queued once
# past its deadline (--task-deadline; a training's grows with --train-deadline), and should the
# master itself die, this script ends the workers left after MASTER_LOSS_SECONDS.
ON_WORKER_LOSS=${ON_WORKER_LOSS:-stop}                # stop or continue
MASTER_LOSS_SECONDS=${MASTER_LOSS_SECONDS:-10}        # continue: how long workers may outlive the master
# -------------------------------------------------------------------------------------------------

[ -x "$FRACNAS" ] || { echo "search_local.sh: no executable at $FRACNAS (build first: cmake/dev.sh build)" >&2; exit 2; }
ranks=$(( WORKERS + 1 ))
flags=($MPI_FLAGS)
case "$ON_WORKER_LOSS" in
  stop) ;;
  continue)
    "$MPIRUN" --version 2>/dev/null | grep -qE "Open MPI|OpenRTE" ||
      { echo "search_local.sh: ON_WORKER_LOSS=continue needs Open MPI's mpirun (its --enable-recovery); $MPIRUN is another MPI's" >&2; exit 2; }
    case "$MASTER_LOSS_SECONDS" in ''|*[!0-9]*) echo "search_local.sh: MASTER_LOSS_SECONDS must be whole seconds, got '$MASTER_LOSS_SECONDS'" >&2; exit 2 ;; esac ;;
  *) echo "search_local.sh: ON_WORKER_LOSS must be stop or continue, got '$ON_WORKER_LOSS'" >&2; exit 2 ;;
esac
# Open MPI: more ranks than cores is fine here (the master mostly waits); as root it wants consent
if "$MPIRUN" --version 2>/dev/null | grep -qE "Open MPI|OpenRTE"; then  # mpiexec says OpenRTE
  flags+=(--oversubscribe)
  if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
  if [ -z "$SIGKILL_TIMEOUT" ]; then
    grace=120 prev=
    for a in "$@"; do
      case "$prev" in --grace) grace=$a ;; esac
      case "$a" in --grace=*) grace=${a#--grace=} ;; esac
      prev=$a
    done
    case "$grace" in [0-9]*) ;; *) grace=120 ;; esac  # fracnas itself refuses a bad --grace
    SIGKILL_TIMEOUT=$(( ${grace%%[!0-9]*} + 6 ))  # whole seconds, above --grace + 5
  fi
  export OMPI_MCA_odls_base_sigkill_timeout=$SIGKILL_TIMEOUT
fi
[ "$ON_WORKER_LOSS" = continue ] && flags+=(--enable-recovery)  # checked above: an Open MPI mpirun
device=cpu
[ "$GPUS" -gt 0 ] && device=cuda
archive=(--archive "$ARCHIVE") written=$ARCHIVE prev=
for a in "$@"; do  # a resumed run continues its own archive
  case "$prev" in --resume) written=$a ;; esac
  case "$a" in --resume) archive=() ;; --resume=*) archive=() written=${a#--resume=} ;; esac
  prev=$a
done
if [ ${#archive[@]} -gt 0 ]; then mkdir -p "$(dirname "$ARCHIVE")"; fi
echo "search_local.sh: $ranks ranks (master + $WORKERS worker(s) on $device)${archive[1]:+, archive $ARCHIVE}"

# Stopping: SIGUSR1, SIGTERM, SIGINT (Ctrl-C) or SIGHUP to this script passes SIGUSR1 to every fracnas rank
# below mpirun, at once: the master drains (a second signal ends it at once), the workers ignore it,
# and the script exits with mpirun's status (0 after a drain). mpirun's own forwarding is not relied
# on: Open MPI 4.1.6 with plm = isolated passed SIGUSR1 to no rank, and SIGTERM or SIGINT to mpirun
# reach the ranks only odls_base_sigkill_timeout seconds later, then mpirun exits 1.
fracnas_exe=$(readlink -f "$FRACNAS")
ranks_below() {  # the fracnas processes among $1's descendants, from /proc's parent links
  local -A kids=()
  local stat line p rest fields todo=("$1")
  for stat in /proc/[0-9]*/stat; do
    read -r line 2> /dev/null < "$stat" || continue
    p=${stat#/proc/}; p=${p%/stat}; rest=${line##*) }; read -ra fields <<< "$rest"
    kids[${fields[1]}]+=" $p"
  done
  while [ ${#todo[@]} -gt 0 ]; do
    p=${todo[0]}; todo=("${todo[@]:1}")
    for k in ${kids[$p]:-}; do
      todo+=("$k")
      [ "$(readlink "/proc/$k/exe" 2> /dev/null)" = "$fracnas_exe" ] && echo "$k"
    done
  done
}
stop_ranks() {
  local found
  found=$(ranks_below "$launcher" | tr '\n' ' ')
  if [ -n "$found" ]; then
    echo "search_local.sh: SIGUSR1 to the fracnas ranks (pids ${found% })" >&2
    kill -USR1 $found 2> /dev/null || true
  else  # no /proc, or ranks that are not mpirun's descendants: mpirun's own forwarding
    echo "search_local.sh: SIGUSR1 to $MPIRUN (no fracnas rank found below it)" >&2
    kill -USR1 "$launcher" 2> /dev/null || true
  fi
}
rank_command=("$FRACNAS")
if [ "$ON_WORKER_LOSS" = continue ]; then
  # mpirun --enable-recovery exits 0 whatever its ranks returned: rank 0's status goes through a
  # file. The wrapper's traps only defer a signal until fracnas, which handles its own, has ended.
  status_file=$(mktemp "${TMPDIR:-/tmp}/fracnas-master-status.XXXXXX")
  trap 'rm -f "$status_file"' EXIT
  export FRACNAS_MASTER_STATUS=$status_file
  rank_command=(bash -c 'trap : TERM INT HUP USR1; "$@"; s=$?; [ "${OMPI_COMM_WORLD_RANK:-}" != 0 ] || echo $s > "$FRACNAS_MASTER_STATUS"; exit $s'
                fracnas-rank "$FRACNAS")
fi
# mpirun in a process group of its own (set -m), so that Ctrl-C at a terminal reaches this script
# alone; its standard input is /dev/null, as a background group must not read the terminal
set -m
"$MPIRUN" -n "$ranks" "${flags[@]}" "${rank_command[@]}" search --device "$device" "${archive[@]}" "$@" < /dev/null &
launcher=$!
set +m
trap stop_ranks USR1 TERM INT HUP  # HUP: the terminal closed
if [ "$ON_WORKER_LOSS" = stop ]; then
  while kill -0 "$launcher" 2> /dev/null; do wait "$launcher" || true; done  # a trapped signal ends a wait early
else
  # With --enable-recovery, mpirun outlives any rank, rank 0 included, and workers wait for their
  # master forever: once rank 0 has been gone MASTER_LOSS_SECONDS while workers remain, end them
  # (every rank runs on this machine, found below mpirun through /proc).
  master_gone=
  while kill -0 "$launcher" 2> /dev/null; do
    sleep 1 & wait $! || true  # a trapped signal ends the wait early
    left=$(ranks_below "$launcher" | tr '\n' ' ') master=
    for p in $left; do
      tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=0' && master=$p
    done
    if [ -z "$left" ] && [ -s "$status_file" ]; then
      # every rank has ended and the master said how: mpirun would linger through its kill timers
      # (twice odls_base_sigkill_timeout after an MPI_Abort, a SIGTERM restarting them) with
      # nothing left to kill
      kill -KILL "$launcher" 2> /dev/null || true
      break
    fi
    if [ -n "$master" ] || [ -z "$left" ]; then master_gone=; continue; fi
    : "${master_gone:=$(date +%s)}"
    if [ $(( $(date +%s) - master_gone )) -ge "$MASTER_LOSS_SECONDS" ]; then
      echo "search_local.sh: the master rank ended $MASTER_LOSS_SECONDS s ago; SIGKILL to the workers left (pids ${left% })" >&2
      kill -KILL $left 2> /dev/null || true
      master_gone=
    fi
  done
  { wait "$launcher"; } 2> /dev/null || true  # its status says nothing under --enable-recovery
  status=$(cat "$status_file" 2> /dev/null || true)
  case "$status" in
    [0-9]*) [ "$status" -gt 128 ] || exit "$status"
            echo "search_local.sh: the master rank ended by signal $(( status - 128 )); continue with: $FRACNAS search --resume $written" >&2
            exit "$status" ;;
    *) echo "search_local.sh: the master rank ended without a status; continue with: $FRACNAS search --resume $written" >&2
       exit 1 ;;
  esac
fi
wait "$launcher"  # mpirun's exit status, which set -e passes on
