#!/usr/bin/env bash
# Consumer A/B: two builds' `mqbench consumer` draining the same backlog, interleaved. Starts one
# release name server and broker (SERVERS, default A's), writes a backlog of BACKLOG 1 KiB
# messages (A's mqbench, async batches of 32), then ROUNDS rounds of A's and B's mqbench consumer
# draining it, each a new group from the first offset, the order flipped every round. Prints,
# per run, the client CPU (user + system, /usr/bin/time: start and shutdown included) per
# million messages, the TPS, the client's voluntary/involuntary context switches and the load.
# On a shared machine, compare the CPU per message, not the TPS.
#
#   A=/tmp/before B=target/release ROUNDS=3 BACKLOG=1000000 bash scripts/bench-ab-consume.sh
#
# A and B: directories with an `mqbench` (A's also with `mqnamesrv` and `mqbroker` unless
# SERVERS names another directory).
set -euo pipefail
cd "$(dirname "$0")/.."
a="${A:?A: a directory with mqbench}"
b="${B:?B: a directory with mqbench}"
servers="${SERVERS:-$a}"
backlog="${BACKLOG:-300000}"
rounds="${ROUNDS:-3}"
work="$(mktemp -d)"
. scripts/bench-lib.sh
cleanup() {
    bench_cluster_stop
    rm -rf "$work"
}
trap cleanup EXIT
bench_cluster_start "$servers" --broker-config brokerName=ab-consume >&2
ns="$FERROMQ_NAMESRV"
broker_pid="$(cat "$(ls "$FERROMQ_CLUSTER_DIR"/broker-*.pid | head -n 1)")"
topic="AbConsume$RANDOM"
"$a/mqbench" producer -n "$ns" -t "$topic" -s 1024 --mode async --batch 32 --inflight 32 \
    --messages "$backlog" --duration 600 --json >/dev/null
wait_idle "$broker_pid"

run() { # label dir
    wait_idle "$broker_pid"
    local line
    line="$(/usr/bin/time -f '%U %S %w %c' -o "$work/time" "$2/mqbench" consumer -n "$ns" \
        -t "$topic" -g "ab_$RANDOM$RANDOM" --from-first --messages "$backlog" --duration 600 \
        --json 2>/dev/null | grep '"kind":"summary"' | tail -n 1)"
    python3 - "$1" "$line" "$(cat "$work/time")" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
label, s, t, load = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3].split(), sys.argv[4]
cpu = float(t[0]) + float(t[1])
n = max(s["ok"], 1)
print(f"{label}: {s['ok']} msgs, {s['tps']:.0f} msg/s, client CPU {cpu:.2f} s = "
      f"{cpu * 1e6 / n:.2f} s per million, ctx switches vol/invol {t[2]}/{t[3]}, load {load}",
      flush=True)
PY
}
for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) = 1 ]; then run A "$a"; run B "$b"; else run B "$b"; run A "$a"; fi
done
