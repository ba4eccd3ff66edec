#!/usr/bin/env bash
# A/B of two builds' servers under one mqbench: for each round and each load, a fresh name server
# and broker of build A, then of build B (the order flips every round), each measured the same
# way: the broker's CPU time per message (user + system, /proc/<pid>/stat) and its system calls
# and context switches per message (perf stat), with TPS and p99 for reference. On a machine
# shared with other work, the per-message figures are what to compare; TPS moves with the load.
#
#   A=/tmp/before B=target/release bash scripts/bench-ab.sh
#   ROUNDS=3 SECS=8 LOADS="sync16 async" A=... B=... bash scripts/bench-ab.sh
#
# A, B: directories holding mqnamesrv and mqbroker. MQBENCH: the client (default B's mqbench,
# else target/release/mqbench). LOADS (default "sync1 sync16 sync64 async"): sync<N> is mqbench
# sync with N threads, async is 1024 sends in flight, async-b32 is 32 batches of 32 in flight.
# BROKER_CONFIG: extra broker properties lines (space separated), for both builds. Prints one
# line per run and keeps them as JSON lines in $OUT (default a temp file, printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

a="${A:?A=dir of build A servers}"
b="${B:?B=dir of build B servers}"
rounds="${ROUNDS:-2}"
secs="${SECS:-8}"
loads="${LOADS:-sync1 sync16 sync64 async}"
mqbench="${MQBENCH:-$b/mqbench}"
[ -x "$mqbench" ] || mqbench="${CARGO_TARGET_DIR:-target}/release/mqbench"
out="${OUT:-$(mktemp /tmp/bench-ab.XXXXXX.jsonl)}"
command -v perf >/dev/null || { echo "bench-ab: needs perf" >&2; exit 1; }

. scripts/bench-lib.sh
trap bench_cluster_stop EXIT

load_args() {
    case "$1" in
        sync*) echo "-w ${1#sync}" ;;
        async) echo "--mode async --inflight 1024" ;;
        async-b32) echo "--mode async --batch 32 --inflight 32" ;;
        *) echo "bench-ab: unknown load $1" >&2; exit 2 ;;
    esac
}

# run_one <label> <dir> <load>
run_one() {
    local label="$1" dir="$2" load="$3" config=() pid topic hz t0 t1 stat summary
    for line in ${BROKER_CONFIG:-}; do config+=(--broker-config "$line"); done
    bench_cluster_start "$dir" --broker-config brokerName=ab "${config[@]}" 2>/dev/null
    pid="$(cat "$(ls "$FERROMQ_CLUSTER_DIR"/broker-*.pid | head -n 1)")"
    topic="AB$RANDOM"
    "$mqbench" producer -n "$FERROMQ_NAMESRV" -t "$topic" -w 1 -s 1024 --duration 1 --json >/dev/null
    wait_idle "$pid"
    stat="$(mktemp)"
    t0="$(cpu_ticks "$pid")"
    perf stat -x, -e task-clock,context-switches,raw_syscalls:sys_enter -p "$pid" -o "$stat" \
        -- sleep "$((secs + 1))" &
    local perf_pid=$!
    # shellcheck disable=SC2046
    summary="$("$mqbench" producer -n "$FERROMQ_NAMESRV" -t "$topic" -s 1024 --duration "$secs" \
        --json $(load_args "$load") | grep '"kind":"summary"' | tail -n 1)"
    wait "$perf_pid" || true
    t1="$(cpu_ticks "$pid")"
    hz="$(getconf CLK_TCK)"
    python3 - "$label" "$load" "$summary" "$stat" "$((t1 - t0))" "$hz" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY' | tee -a "$out"
import json, sys
label, load, summary, stat, ticks, hz, loadavg = sys.argv[1:]
s = json.loads(summary)
n = max(s["ok"], 1)
c = {}
for line in open(stat):
    f = line.strip().split(",")
    if len(f) > 2 and f[0] and f[0][0].isdigit():
        c[f[2]] = float(f[0])
print(json.dumps({
    "build": label, "load": load, "tps": round(s["tps"]), "p99_ms": s.get("p99_ms"),
    "broker_us_per_msg": round(int(ticks) / int(hz) * 1e6 / n, 2),
    "syscalls_per_msg": round(c.get("raw_syscalls:sys_enter", 0) / n, 3),
    "cs_per_msg": round(c.get("context-switches", 0) / n, 3),
    "loadavg": float(loadavg),
}))
PY
    rm -f "$stat"
    bench_cluster_stop
}

for r in $(seq 1 "$rounds"); do
    for load in $loads; do
        if [ $((r % 2)) -eq 1 ]; then
            run_one A "$a" "$load"
            run_one B "$b" "$load"
        else
            run_one B "$b" "$load"
            run_one A "$a" "$load"
        fi
    done
done
echo "bench-ab: results in $out" >&2
