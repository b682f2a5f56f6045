#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, running deploy/slurm/reproduce-array.sh as a user would
# (only its settings come from environment variables and sbatch's command line):
#   1. three array tasks over a small generated dataset; one of them (task 1) cancelled with scancel once
#      its journal holds a record; the others finish; `zoo merge` refuses the unfinished shard;
#   2. task 1 resubmitted alone, `sbatch --array=1`: it resumes its own shard from its journal (the records
#      kept before the cancel are byte-identical after), and nothing is run unsharded into OUT;
#   3. a task outside the array (`sbatch --array=5`) is refused;
#   4. `zoo merge OUT` gives a pan_seg.json byte-identical (cmp) to one unsharded run (`zoo demo`'s, whose
#      dataset, synthetic checkpoint and cache the tasks use: no download).
# Installs Debian's slurm-wlm and munge if absent (apt-get). Needs root (slurmd runs jobs as their user);
# re-runs itself through `sudo -n` otherwise. munged, slurmctld and slurmd run from a temporary folder
# (key, sockets, state, spool, logs) on free local ports, no cgroup plugin (proctrack/linuxproc,
# task/none); every daemon it started is stopped and the folder removed on exit.
#
# Environment: ZOO_BIN (default .build/release/zoo), ZOO_SLURM_IMAGES (12), ZOO_SLURM_SIZE (320x192: image
# and model test scale), ZOO_SLURM_TIMEOUT (seconds per wait, 600), ZOO_SLURM_KEEP=1 keeps the folder.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then exec sudo -n -E "$0" "$@"; fi
    echo "slurm-test: needs root (slurmd runs the jobs as their owner) or password-less sudo" >&2
    exit 1
fi

ZOO=${ZOO_BIN:-$ROOT/.build/release/zoo}
ZOO=$(cd "$(dirname "$ZOO")" && pwd)/$(basename "$ZOO")
[ -x "$ZOO" ] || { echo "slurm-test: $ZOO is not built (swift build -c release)" >&2; exit 1; }
IMAGES=${ZOO_SLURM_IMAGES:-12}
SIZE=${ZOO_SLURM_SIZE:-320x192}
TIMEOUT=${ZOO_SLURM_TIMEOUT:-600}
SCRIPT=$ROOT/deploy/slurm/reproduce-array.sh
STARTED=$SECONDS

say() { echo "slurm-test: $*"; }
fail() { echo "slurm-test: FAILED: $*" >&2; exit 1; }

# -- Slurm and munge from Debian ------------------------------------------------------------------------
missing=()
for tool in slurmctld slurmd sbatch squeue scancel scontrol; do command -v $tool >/dev/null || missing=(slurm-wlm); done
command -v munged >/dev/null || missing+=(munge)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# -- the cluster ----------------------------------------------------------------------------------------
T=$(mktemp -d /tmp/zoo-slurm.XXXXXX)
chmod 755 "$T"  # munged wants every folder above its socket searchable by all
mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/logs" "$T/jobs"
chmod 755 "$T/munge"
PIDS=()
STEPS_BEFORE=$(pgrep -x slurmstepd | sort || true)
cleanup() {
    local rc=$?
    set +e
    if [ -n "${SLURM_CONF:-}" ] && [ ${#PIDS[@]} -gt 1 ]; then
        scancel --quiet -u "$(id -un)" 2>/dev/null
        for _ in $(seq 30); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.5; done
    fi
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    # slurmstepd daemonizes away from slurmd (and one may still be exiting): wait for the step daemons that
    # appeared since the cluster started, then kill those still holding a file of this cluster's folder
    # (never another cluster's steps)
    for _ in $(seq 50); do
        steps=$(comm -13 <(echo "$STEPS_BEFORE") <(pgrep -x slurmstepd | sort))
        [ -z "$steps" ] && break
        sleep 0.1
    done
    for q in ${steps:-}; do ls -l "/proc/$q/fd" 2>/dev/null | grep -qF "$T/" && kill -9 "$q" 2>/dev/null; done
    if [ $rc -ne 0 ]; then
        for f in "$T"/logs/*.log "$T"/jobs/*.out; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done >&2
    fi
    if [ "${ZOO_SLURM_KEEP:-0}" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
    local p
    for _ in $(seq 50); do p=$((20000 + RANDOM % 40000)); port_free $p && port_free $((p + 1)) && { echo $p; return; }; done
    fail "no free local port"
}
PORT=$(pick_port)

dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge/munge.key"
munged --foreground --key-file="$T/munge/munge.key" --socket="$T/munge/munge.sock" --pid-file="$T/munge/munged.pid" \
    --log-file="$T/logs/munged.log" --seed-file="$T/munge/munged.seed" >>"$T/logs/munged.out.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$T/munge/munge.sock" ] && break; sleep 0.1; done
[ -S "$T/munge/munge.sock" ] || fail "munged did not start"

NODE=$(hostname -s)
cat >"$T/slurm.conf" <<EOF
ClusterName=zootest
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/logs/slurmctld.log
SlurmdLogFile=$T/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=3600
KillWait=5
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=4000 State=UNKNOWN
PartitionName=zoo Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/slurm.conf
slurmctld -D -f "$SLURM_CONF" >>"$T/logs/slurmctld.out.log" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" -N "$NODE" >>"$T/logs/slurmd.out.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do sinfo -h -o %t 2>/dev/null | grep -q idle && break; sleep 0.2; done
sinfo -h -o %t 2>/dev/null | grep -q idle || fail "the node did not come up: $(sinfo 2>&1)"
say "cluster up in $T (slurmctld :$PORT, slurmd :$((PORT + 1)), $(nproc) CPUs)"

# -- data, weights and the reference: `zoo demo` ----------------------------------------------------------
# The demo writes the dataset, puts its synthetic R-50 checkpoint (a real .pth) into a private cache through
# fetch and convert, and runs one unsharded `zoo reproduce --synthetic-checkpoint` on every image: the
# reference. The array tasks take the same weights the same way (its cache and registry), so no download.
"$ZOO" demo --dir "$T/demo" --images "$IMAGES" --size "$SIZE" --scale "$SIZE" >"$T/logs/demo.log" 2>&1 \
    || fail "zoo demo failed: $(tail -n 5 "$T/logs/demo.log")"
DATA=$T/demo/bdd100k
SINGLE=$T/demo/reproduce
[ -f "$SINGLE/pan_seg.json" ] && [ ! -e "$SINGLE/shards.json" ] || fail "zoo demo left no unsharded run in $SINGLE"
ARGS="--registry $T/demo/registry.json --synthetic-checkpoint --scale $SIZE"
say "dataset of $IMAGES images and the unsharded run ready ($((SECONDS - STARTED)) s)"

# -- the job array, as a user submits it -----------------------------------------------------------------
OUT=$T/out
export ZOO ZOO_MODEL=r50_1x ZOO_DATA=$DATA ZOO_OUT=$OUT ZOO_ARGS=$ARGS ZOO_HOME=$T/demo/cache
submit() { (cd "$T/jobs" && sbatch --parsable --cpus-per-task=1 --mem=500M "$@" "$SCRIPT") | cut -d';' -f1; }
wait_gone() {  # JOBSPEC
    local deadline=$((SECONDS + TIMEOUT))
    while [ -n "$(squeue -h -o %i -j "$1" 2>/dev/null)" ]; do
        [ $SECONDS -lt $deadline ] || fail "job $1 still queued after ${TIMEOUT} s: $(squeue 2>&1)"
        sleep 0.5
    done
}
state() {  # JOB TASK -> "STATE EXITCODE"
    scontrol -o show job "$1" | tr ' ' '\n' | awk -v t="$2" '
        /^ArrayTaskId=/ { task = substr($0, 13) } /^JobState=/ { s = substr($0, 10) }
        /^ExitCode=/ { if (task == t) print s, substr($0, 10) }'
}
records() { [ -f "$1" ] && echo $(($(wc -l <"$1") - 1)) || echo 0; }

JOB=$(submit --array=0-2)
say "submitted array job $JOB (tasks 0-2)"
J1=$OUT/shard-1-of-3/journal.jsonl
deadline=$((SECONDS + TIMEOUT))
until [ "$(records "$J1")" -ge 1 ]; do
    [ $SECONDS -lt $deadline ] || fail "task 1 journalled nothing in ${TIMEOUT} s"
    [ -n "$(squeue -h -o %i -j "${JOB}_1" 2>/dev/null)" ] || fail "task 1 ended before its first record could be seen"
    sleep 0.1
done
scancel "${JOB}_1"
wait_gone "${JOB}_1"
cp "$J1" "$T/kept.jsonl"
KEPT=$(records "$T/kept.jsonl")
SHARD1=$(((IMAGES + 1) / 3))  # images 1, 4, 7, ... (sorted by name)
[ "$KEPT" -lt "$SHARD1" ] || fail "task 1 finished its $SHARD1 images before the cancel took effect; raise ZOO_SLURM_IMAGES"
[ "$(state "$JOB" 1 | cut -d' ' -f1)" = CANCELLED ] || fail "task 1 is $(state "$JOB" 1), not CANCELLED"
say "task 1 cancelled with $KEPT of its $SHARD1 images journalled"
wait_gone "$JOB"
for t in 0 2; do [ "$(state "$JOB" $t)" = "COMPLETED 0:0" ] || fail "task $t ended $(state "$JOB" $t)"; done
if "$ZOO" merge "$OUT" -o "$T/early" >"$T/logs/early-merge.log" 2>&1; then fail "zoo merge accepted an unfinished shard"; fi
grep -q "unfinished" "$T/logs/early-merge.log" || fail "zoo merge's refusal does not name the unfinished shard: $(cat "$T/logs/early-merge.log")"

# -- the cancelled task resubmitted alone, as the README says ----------------------------------------------
AGAIN=$(submit --array=1)
wait_gone "$AGAIN"
[ "$(state "$AGAIN" 1)" = "COMPLETED 0:0" ] || fail "the resubmitted task ended $(state "$AGAIN" 1): $(cat "$T/jobs/zoo-reproduce-${AGAIN}_1.out")"
grep -q "shard 1/3, $KEPT already done (resuming)" "$T/jobs/zoo-reproduce-${AGAIN}_1.out" \
    || fail "the resubmitted task did not resume shard 1/3: $(cat "$T/jobs/zoo-reproduce-${AGAIN}_1.out")"
[ ! -e "$OUT/journal.jsonl" ] && [ ! -e "$OUT/run.json" ] || fail "the resubmitted task ran unsharded into $OUT"
[ "$(records "$J1")" -eq "$SHARD1" ] || fail "shard 1 has $(records "$J1") of its $SHARD1 records after the resubmission"
cmp -n "$(stat -c %s "$T/kept.jsonl")" "$T/kept.jsonl" "$J1" || fail "the records kept before the cancel changed"
say "task 1 resubmitted alone (job $AGAIN) resumed its shard: $KEPT record(s) kept byte for byte, $((SHARD1 - KEPT)) added"

# -- a task outside the recorded array is refused -----------------------------------------------------------
OUTSIDE=$(submit --array=5)
wait_gone "$OUTSIDE"
[ "$(state "$OUTSIDE" 5 | cut -d' ' -f1)" = FAILED ] || fail "task 5 of a 3-task array ended $(state "$OUTSIDE" 5)"
grep -q "not one of the tasks 0-2" "$T/jobs/zoo-reproduce-${OUTSIDE}_5.out" \
    || fail "task 5's refusal does not say why: $(cat "$T/jobs/zoo-reproduce-${OUTSIDE}_5.out")"
[ ! -e "$OUT/shard-5-of-3" ] || fail "task 5 left a folder"
say "a task outside the array (--array=5) is refused"

# -- the merge equals the unsharded run -------------------------------------------------------------------
"$ZOO" merge "$OUT" -o "$T/merged" >"$T/logs/merge.log" 2>&1 || fail "zoo merge failed: $(cat "$T/logs/merge.log")"
cmp "$T/merged/pan_seg.json" "$SINGLE/pan_seg.json" || fail "the merged pan_seg.json differs from the unsharded run's"
say "zoo merge of the 3 shards is byte-identical to the unsharded run"
say "passed in $((SECONDS - STARTED)) s"
