#!/bin/sh
# cluster.sh - a single-node Slurm cluster on localhost, for the tests.
#
#   cluster.sh start DIR    start munged, slurmctld and slurmd under DIR,
#                           wait until the node is idle; prints the
#                           SLURM_CONF to export
#   cluster.sh stop DIR     stop the daemons started under DIR (by pid)
#
# Needs root and Debian's slurm-wlm and munge. Everything (config, key,
# sockets, state, logs, pid files) lives in DIR; the ports are picked
# from DIR's inode so two clusters do not collide.
set -eu

cmd=$1
dir=$(cd "$2" && pwd)

. "$(dirname "$0")/../daemon.sh"

stop() {
	for p in slurmd slurmctld munged; do
		stop_pidfile "$dir/$p.pid"
	done
}

if [ "$cmd" = stop ]; then
	stop
	exit 0
fi

host=$(hostname -s)
base=$((20000 + $(stat -c %i "$dir") % 20000))
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 700 "$dir/munge"
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" \
	--socket="$dir/munge/munge.sock" --pid-file="$dir/munged.pid" \
	--log-file="$dir/munged.log" --seed-file="$dir/munge/seed" \
	>"$dir/munged.out" 2>&1

cat >"$dir/slurm.conf" <<CONF
ClusterName=coren
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -c -f "$SLURM_CONF" >"$dir/slurmctld.out" 2>&1
slurmd -f "$SLURM_CONF" >"$dir/slurmd.out" 2>&1
i=0
until sinfo -h -o %T 2>/dev/null | grep -qx idle; do
	i=$((i + 1))
	if [ $i -gt 150 ]; then
		echo "cluster.sh: the node did not come up; logs in $dir" >&2
		sinfo >&2 || true
		tail -5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
		stop
		exit 1
	fi
	sleep 0.2
done
echo "$SLURM_CONF"
