#!/usr/bin/env bash
# Producer throughput, FerroMQ against Apache RocketMQ 5.3.3, on this machine, in one run:
# mqbench (the FerroMQ client) and the official Java client's BenchProducer, 1 KiB messages,
# sync with 1, 16 and 64 threads and async, each against FerroMQ's broker and then against
# Apache's (from the Maven jars, tests/compat/apache-cluster.sh). Both brokers run ASYNC_FLUSH
# with their data in a temporary directory. Prints one JSON summary line per run and a table.
#
#   bash scripts/bench-compare.sh            # 20 s per run (16 runs: about 6 minutes)
#   SECONDS_PER_RUN=60 bash scripts/bench-compare.sh
#
# Needs java (17) and mvn for the Apache side and the Java client; skips those runs without them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

secs="${SECONDS_PER_RUN:-20}"
work="$(mktemp -d)"
results="$work/results.jsonl"
: >"$results"
cargo build --release --locked -p ferromq-namesrv -p ferromq-broker -p ferromq-tools >&2

have_java=0
if command -v java >/dev/null && command -v mvn >/dev/null; then
    have_java=1
    mvn -q -B -f tests/compat/pom.xml compile dependency:copy-dependencies -DincludeScope=runtime >&2
fi
java_cp="tests/compat/java/target/classes:tests/compat/java/target/dependency/*"

ns_port=19876
broker_port=19911
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    tests/compat/apache-cluster.sh stop "$work/apache" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

. scripts/bench-lib.sh

# run <broker> <client> <label> <command...>: one run, its JSON summary tagged and appended.
run() {
    local broker="$1" client="$2" label="$3"
    shift 3
    echo "== $broker / $client / $label ($secs s)" >&2
    local line
    if [ "$client" = mqbench ]; then
        line="$("$@" --json | grep '"kind":"summary"' | tail -n 1)"
    else
        line="$("$@" | grep '^RESULT ' | tail -n 1 | sed 's/^RESULT //')"
    fi
    echo "{\"broker\":\"$broker\",\"client\":\"$client\",\"run\":\"$label\",\"result\":$line}" | tee -a "$results"
}

suite() { # broker-name
    local ns="127.0.0.1:$ns_port" topic="BenchCompare$RANDOM"
    for t in 1 16 64; do
        run "$1" mqbench "sync-$t" target/release/mqbench producer -n "$ns" -t "$topic" -w "$t" -s 1024 \
            --duration "$secs" --mode sync
    done
    run "$1" mqbench async target/release/mqbench producer -n "$ns" -t "$topic" -s 1024 \
        --duration "$secs" --mode async --inflight 1024
    if [ "$have_java" = 1 ]; then
        for t in 1 16 64; do
            run "$1" java "sync-$t" java -Xmx512m -cp "$java_cp" org.ferromq.compat.BenchProducer "$ns" "$topic" \
                --threads "$t" --size 1024 --seconds "$secs" --mode sync
        done
        run "$1" java async java -Xmx512m -cp "$java_cp" org.ferromq.compat.BenchProducer "$ns" "$topic" \
            --size 1024 --seconds "$secs" --mode async --inflight 1024
    fi
}

# FerroMQ.
mkdir -p "$work/ferro"
printf 'listenPort=%s\nkvConfigPath=%s\nconfigStorePath=%s\n' "$ns_port" "$work/ferro/kv.json" \
    "$work/ferro/ns.properties" >"$work/ferro/namesrv.properties"
printf 'brokerName=ferro-a\nbrokerIP1=127.0.0.1\nlistenPort=%s\nnamesrvAddr=127.0.0.1:%s\nstorePathRootDir=%s\n' \
    "$broker_port" "$ns_port" "$work/ferro/store" >"$work/ferro/broker.properties"
target/release/mqnamesrv -c "$work/ferro/namesrv.properties" >"$work/ferro/ns.log" 2>&1 &
pids+=($!)
wait_port "$ns_port"
target/release/mqbroker -c "$work/ferro/broker.properties" >"$work/ferro/broker.log" 2>&1 &
pids+=($!)
wait_port "$broker_port"
wait_registered "$ns_port"
suite ferromq
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()

# Apache RocketMQ 5.3.3.
if [ "$have_java" = 1 ]; then
    NAMESRV_PORT=$ns_port BROKER_PORT=$broker_port tests/compat/apache-cluster.sh start "$work/apache" >&2
    wait_registered "$ns_port"
    suite apache
    tests/compat/apache-cluster.sh stop "$work/apache" >&2
fi

echo
python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'broker':8} {'client':8} {'run':8} {'TPS':>9} {'avg ms':>8} {'p99 ms':>8} {'fail':>5}")
for r in rows:
    x = r["result"]
    tps = x.get("tps", 0)
    avg = x.get("avg_ms", x.get("avg_rt_ms", 0))
    p99 = x.get("p99_ms", 0)
    fail = x.get("failures", 0)
    print(f"{r['broker']:8} {r['client']:8} {r['run']:8} {tps:9.0f} {avg:8.3f} {p99:8.2f} {fail:5}")
EOF
