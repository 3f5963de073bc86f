#!/usr/bin/env bash
# Slurm integration test (issue 7): start a real single-node Slurm cluster on this machine (munged,
# slurmctld and slurmd on localhost with a generated slurm.conf, all state under a temporary
# folder), submit the sweep scenarios/sweeps/tiny_grid.ron as a job array of 4 tasks with the
# script `orechain sweep --slurm-script` prints, wait for the dependent merge job, and compare the
# merged results.csv and summary.csv byte for byte with a `-j 2` run on one machine. Every daemon
# it starts is stopped by PID on exit, whatever happens.
#
# Needs root (the daemons run as root and the packages may need installing) and the Debian
# packages slurm-wlm and munge (installed with apt-get when missing). Without root it says so and
# exits 0, so developers can run .ci/run unprivileged; CI runs as root.
#
# Usage: tests/slurm/run.sh [path/to/orechain]   (default: target/release/orechain, built if absent)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

if [ "$(id -u)" != 0 ]; then
    echo "slurm test: skipped (needs root to run munged, slurmctld and slurmd)"
    exit 0
fi

BIN=${1:-$ROOT/target/release/orechain}
if [ ! -x "$BIN" ]; then
    (cd "$ROOT" && cargo build --release)
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "slurm test: installing slurm-wlm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

WORK=$(mktemp -d /tmp/orechain-slurm.XXXXXX)
chmod 755 "$WORK"
PIDS=()
# Descendants of a PID (slurmd's job steps, slurmstepd), found by parent PID.
descendants() {
    local child
    for child in $(pgrep -P "$1" 2>/dev/null || true); do
        echo "$child"
        descendants "$child"
    done
}
cleanup() {
    local status=$?
    local all=() pid i
    # Daemons in reverse start order (slurmd, slurmctld, munged), each preceded by its children.
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        all+=($(descendants "${PIDS[$i]}") "${PIDS[$i]}")
    done
    for pid in "${all[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${all[@]}"; do
        # Wait (up to 10 s) for each process to exit; then force it.
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    done
    # Job step daemons (slurmstepd) detach from slurmd; they are ours if they carry our
    # SLURM_CONF in their environment. Stop any that remain, by PID.
    for _ in $(seq 50); do
        local left=()
        for env_file in /proc/[0-9]*/environ; do
            if grep -qzx "SLURM_CONF=$WORK/slurm.conf" "$env_file" 2>/dev/null; then
                pid=${env_file#/proc/}
                left+=("${pid%/environ}")
            fi
        done
        [ ${#left[@]} = 0 ] && break
        kill "${left[@]}" 2>/dev/null || true
        sleep 0.2
    done
    if [ "$status" != 0 ]; then
        echo "slurm test: FAILED; logs:"
        tail -n 30 "$WORK"/*.log "$WORK"/out-shards/logs/*.out 2>/dev/null || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT

HOST=$(hostname -s)
CPUS=$(nproc)

# --- munge: a fresh key and socket of our own, so a system munged is neither needed nor touched.
mkdir -p "$WORK/munge"
chmod 700 "$WORK/munge"
dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$WORK/munge/munge.key"
MUNGE_SOCKET=$WORK/munge/munge.socket
munged --foreground --force \
    --key-file="$WORK/munge/munge.key" \
    --socket="$MUNGE_SOCKET" \
    --pid-file="$WORK/munge/munged.pid" \
    --seed-file="$WORK/munge/munged.seed" \
    --log-file="$WORK/munged.log" >>"$WORK/munged.log" 2>&1 &
PIDS+=($!)

# --- slurm.conf: this host as the only node, ports away from the defaults, state in $WORK.
mkdir -p "$WORK/state" "$WORK/spool"
cat >"$WORK/slurm.conf" <<EOF
ClusterName=orechaintest
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=$HOST CPUs=$CPUS State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$WORK/slurm.conf

for _ in $(seq 50); do [ -S "$MUNGE_SOCKET" ] && break; sleep 0.1; done
slurmctld -D -i -f "$SLURM_CONF" >>"$WORK/slurmctld.out.log" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >>"$WORK/slurmd.out.log" 2>&1 &
PIDS+=($!)

echo "slurm test: waiting for node $HOST"
for i in $(seq 120); do
    state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null || true)
    case "$state" in idle*|mix*|alloc*) break ;; esac
    if [ "$i" = 120 ]; then echo "node never became idle (state: $state)"; exit 1; fi
    sleep 0.5
done

# --- the sweep: generated script, 4 array tasks, 1 core each; then the same sweep with -j 2.
SWEEP=$ROOT/scenarios/sweeps/tiny_grid.ron
cd "$WORK"
"$BIN" sweep "$SWEEP" --slurm-script --tasks 4 -j 1 -o "$WORK/out" >"$WORK/submit.sh"
bash "$WORK/submit.sh" | tee "$WORK/submit.out"
merge_job=$(sed -n 's/.*merge job \([0-9]*\).*/\1/p' "$WORK/submit.out")

echo "slurm test: waiting for merge job $merge_job"
for i in $(seq 600); do
    if [ -z "$(squeue -h -j "$merge_job" 2>/dev/null)" ] && [ -f "$WORK/out/manifest.json" ]; then
        break
    fi
    if [ "$i" = 600 ]; then echo "the merge job did not finish in 5 minutes"; squeue; exit 1; fi
    sleep 0.5
done
ls "$WORK/out-shards"

"$BIN" sweep "$SWEEP" -j 2 -o "$WORK/local" >/dev/null
for file in results.csv summary.csv failures.csv design.csv; do
    cmp "$WORK/out/$file" "$WORK/local/$file"
done
shards=$(ls -d "$WORK"/out-shards/shard-* | wc -l)
if [ "$shards" != 4 ]; then echo "expected 4 shard folders, found $shards"; exit 1; fi
echo "slurm test: ok (4 array tasks merged; results.csv identical to a -j 2 run)"
