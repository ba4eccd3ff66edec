#!/usr/bin/env bash
# Where the CPU goes under one mqbench load: starts a name server and a broker (release build,
# a real broker's store sizes), warms up, then runs `mqbench producer` (or `consumer`) with the
# given options while `perf` samples the broker (TARGET=broker, the default) or the client
# (TARGET=client). Prints, per message: CPU time of the broker and the client, and their system
# calls and context switches (counts that do not depend on other load on the machine); then the
# top symbols by self time, and by time with callees (`perf report --children`).
#
#   bash scripts/bench-profile.sh --mode async                  # 1 KiB async sends, 10 s
#   bash scripts/bench-profile.sh --mode async --batch 32 --inflight 32
#   TARGET=client bash scripts/bench-profile.sh --mode async
#   SECS=20 TOP=50 KEEP=/tmp/prof bash scripts/bench-profile.sh -w 16   # keeps perf.data there
#   BROKER_CONFIG="flushDiskType=SYNC_FLUSH" bash scripts/bench-profile.sh -w 64
#   CONSUME=1000000 bash scripts/bench-profile.sh             # a backlog, then profile draining it
#   SERVERS=/tmp/before NO_BUILD=1 bash scripts/bench-profile.sh --mode async   # another broker
#
# SERVERS: a directory with the mqnamesrv and mqbroker to run (default: this build's), to compare
# two builds under the same mqbench; NO_BUILD=1 skips `cargo build`. PERF_EVENT overrides the
# sampled event.
#
# The options are mqbench producer's (the topic, name server, size 1024 and --duration are set
# here). Installs `perf` from Debian (linux-perf) when it is missing. The machine's PMU may be
# virtualised away: samples then come from the cpu-clock software event, and instruction counts
# are not available (the script says which).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

secs="${SECS:-10}"
top="${TOP:-30}"
target="${TARGET:-broker}"
case "$target" in broker | client) ;; *) echo "TARGET is broker or client" >&2; exit 2 ;; esac
bin="${CARGO_TARGET_DIR:-target}/release"
servers="${SERVERS:-$bin}"
work="$(mktemp -d)"
out="${KEEP:-$work}"
mkdir -p "$out"

if ! command -v perf >/dev/null || ! perf version >/dev/null 2>&1; then
    echo "bench-profile: installing perf (Debian linux-perf)" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >&2
fi
# Sampling other processes needs perf_event_paranoid <= 1 for a non-root user; root may always.
event=cycles
if ! perf stat -e cycles -o /dev/null true 2>/dev/null ||
    perf stat -x, -e cycles true 2>&1 | grep -q 'not supported'; then
    event=cpu-clock
    echo "bench-profile: no hardware counters here: sampling cpu-clock, no instruction counts" >&2
fi
event="${PERF_EVENT:-$event}"

[ -n "${NO_BUILD:-}" ] ||
    cargo build --release --locked -p ferromq-namesrv -p ferromq-broker -p ferromq-tools >&2

. scripts/bench-lib.sh
cleanup() {
    bench_cluster_stop
    [ -z "${KEEP:-}" ] && rm -rf "$work"
    return 0
}
trap cleanup EXIT

config=()
for line in ${BROKER_CONFIG:-}; do config+=(--broker-config "$line"); done
bench_cluster_start "$servers" --broker-config brokerName=profile "${config[@]}"
ns="$FERROMQ_NAMESRV"
broker_pid="$(cat "$(ls "$FERROMQ_CLUSTER_DIR"/broker-*.pid | head -n 1)")"
topic="Profile$RANDOM"
"$bin/mqbench" producer -n "$ns" -t "$topic" -w 1 -s 1024 --duration 1 --json >/dev/null
wait_idle "$broker_pid"

if [ -n "${CONSUME:-}" ]; then
    echo "== a backlog of $CONSUME messages" >&2
    "$bin/mqbench" producer -n "$ns" -t "$topic" -s 1024 --mode async --batch 32 --inflight 32 \
        --messages "$CONSUME" --duration 300 --json >/dev/null
    wait_idle "$broker_pid"
    load=(consumer -n "$ns" -t "$topic" -g "profile_$RANDOM" --from-first --messages "$CONSUME"
        --duration "$secs" --json)
else
    load=(producer -n "$ns" -t "$topic" -s 1024 --duration "$secs" --json "$@")
fi
counters="task-clock,context-switches,raw_syscalls:sys_enter"
echo "== mqbench ${load[*]}; perf on the $target" >&2
if [ "$target" = broker ]; then
    perf record -e "$event" -F 999 -g -p "$broker_pid" -o "$out/perf.data" -- sleep "$((secs + 2))" \
        2>"$work/record.log" &
    record=$!
    perf stat -x, -e "$counters" -p "$broker_pid" -o "$work/broker.stat" -- sleep "$((secs + 2))" &
    stat=$!
    perf stat -x, -e "$counters" -o "$work/client.stat" "$bin/mqbench" "${load[@]}" >"$work/summary"
    wait "$record" "$stat" || true
else
    perf stat -x, -e "$counters" -p "$broker_pid" -o "$work/broker.stat" -- sleep "$((secs + 2))" &
    stat=$!
    perf record -e "$event" -F 999 -g -o "$out/perf.data" -- \
        perf stat -x, -e "$counters" -o "$work/client.stat" "$bin/mqbench" "${load[@]}" \
        >"$work/summary" 2>"$work/record.log"
    wait "$stat" || true
fi
summary="$(grep '"kind":"summary"' "$work/summary" | tail -n 1)"
echo "$summary"
python3 - "$summary" "$work/broker.stat" "$work/client.stat" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
n = max(s["ok"], 1)
def counts(path):
    c = {}
    for line in open(path):
        f = line.strip().split(",")
        if len(f) > 2 and f[0] and f[0][0].isdigit():
            c[f[2]] = float(f[0])
    return c
print(f"messages {s['ok']}, TPS {s['tps']:.0f} (the broker's counts cover the run plus ~2 s)")
for who, path in (("broker", sys.argv[2]), ("client", sys.argv[3])):
    c = counts(path)
    print(f"{who:6}: {c.get('task-clock', 0) * 1000 / n:7.1f} us CPU, "
          f"{c.get('raw_syscalls:sys_enter', 0) / n:6.3f} syscalls, "
          f"{c.get('context-switches', 0) / n:6.3f} context switches per message")
PY
echo
echo "== top symbols by self time ($target)"
perf report -i "$out/perf.data" --no-children --sort symbol --stdio 2>/dev/null |
    grep -E '^ +[0-9]' | head -n "$top"
echo
echo "== top symbols with callees ($target)"
perf report -i "$out/perf.data" --children --sort symbol --stdio -g none 2>/dev/null |
    grep -E '^ +[0-9]' | head -n "$top"
