#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, to try scripts/slurm_sweep.sh for real (never needed
# by the tests or CI). Debian: apt-get install slurm-wlm munge. Run as root.
#   usage: scripts/slurm_localhost.sh start|stop|status|env
#   start   writes $FLOWPIC_SLURM_DIR/slurm.conf (default /tmp/flowpic-slurm) for this host (its CPUs
#           and memory, one partition "debug", no GPUs, no accounting, no cgroups), starts munged,
#           slurmctld and slurmd, and waits until the node is idle (at most 60 s)
#   stop    stops them
#   env     prints the line to use the cluster from a shell: export SLURM_CONF=...
# /etc is not touched: the daemons and the clients read SLURM_CONF.
set -euo pipefail
dir="${FLOWPIC_SLURM_DIR:-/tmp/flowpic-slurm}"
conf="$dir/slurm.conf"
host="$(hostname -s)"
export SLURM_CONF="$conf"

stop() {
  for d in slurmd slurmctld; do
    if [[ -f "$dir/$d.pid" ]] && kill -0 "$(cat "$dir/$d.pid")" 2>/dev/null; then kill "$(cat "$dir/$d.pid")"; fi
  done
  if [[ -f "$dir/munged.pid" ]] && kill -0 "$(cat "$dir/munged.pid")" 2>/dev/null; then kill "$(cat "$dir/munged.pid")"; fi
}

case "${1:-}" in
  start)
    for p in slurmctld slurmd munged sbatch; do
      command -v "$p" >/dev/null || { echo "slurm_localhost.sh: $p not found (apt-get install slurm-wlm munge)" >&2; exit 1; }
    done
    [[ $(id -u) -eq 0 ]] || { echo "slurm_localhost.sh: run as root (the daemons run as root here)" >&2; exit 1; }
    stop || true
    mkdir -p "$dir/ctld" "$dir/d" "$dir/munge"
    cpus=$(nproc)
    mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
    cat >"$conf" <<EOF
# written by scripts/slurm_localhost.sh: one node ($host), one partition, no GPUs
ClusterName=flowpic
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/d
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    # munge: the package's key, else a fresh one; the daemon as root (--force), its socket where
    # the Slurm daemons look for it.
    if [[ ! -s /etc/munge/munge.key ]]; then
      mkdir -p /etc/munge
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
      chmod 400 /etc/munge/munge.key
    fi
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    munged --force --pid-file="$dir/munged.pid" >"$dir/munged.out" 2>&1 || { cat "$dir/munged.out" >&2; exit 1; }
    slurmctld -f "$conf" >"$dir/slurmctld.out" 2>&1 || { cat "$dir/slurmctld.out" "$dir/slurmctld.log" >&2; exit 1; }
    slurmd -f "$conf" >"$dir/slurmd.out" 2>&1 || { cat "$dir/slurmd.out" "$dir/slurmd.log" >&2; exit 1; }
    for _ in $(seq 60); do
      state="$(sinfo -h -n "$host" -o %T 2>/dev/null || true)"
      if [[ "$state" == idle* ]]; then
        echo "slurm_localhost.sh: node $host is $state; export SLURM_CONF=$conf"
        exit 0
      fi
      sleep 1
    done
    echo "slurm_localhost.sh: the node did not become idle in 60 s (state '${state:-none}'); logs in $dir" >&2
    tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
    exit 1
    ;;
  stop) stop; echo "slurm_localhost.sh: stopped" ;;
  status) sinfo; squeue ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
