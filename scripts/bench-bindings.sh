#!/usr/bin/env bash
# The bindings beside the Rust client, in one run on one FerroMQ name server + broker (release
# builds, ASYNC_FLUSH, data in a temporary directory): 1 KiB sends per second from one Rust
# (mqbench), one Python and one Node.js process, sync (one sender) and async, and consume
# throughput through a listener; plus the Python RSS check (100,000 messages through a listener).
#
#   bash scripts/bench-bindings.sh           # SECONDS_PER_RUN=10 by default
#
# Run bindings/python/ci.sh and bindings/node/ci.sh once first (venv, npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
root="$PWD"
secs="${SECONDS_PER_RUN:-10}"
work="$(mktemp -d)"
venv="$root/bindings/python/.venv"
[ -x "$venv/bin/python" ] || { echo "run bindings/python/ci.sh first" >&2; exit 1; }
[ -d bindings/node/node_modules ] || { echo "run bindings/node/ci.sh first" >&2; exit 1; }

echo "== release builds (servers, mqbench, Python extension, Node addon)" >&2
cargo build --release --locked -p ferromq-namesrv -p ferromq-broker -p ferromq-tools >&2
(cd bindings/python && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" CARGO_TARGET_DIR="$root/target" \
    maturin develop --release --quiet) >&2
host="$(rustc -vV | sed -n 's/^host: //p')"
(cd bindings/node && CARGO_BUILD_TARGET="$host" npx napi build --platform --release --no-const-enum \
    --runtime-string-enum -- --locked) >&2

ns_port=29876
broker_port=29911
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
wait_port() {
    for _ in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "port $1 did not open" >&2
    exit 1
}
printf 'listenPort=%s\nkvConfigPath=%s\nconfigStorePath=%s\n' "$ns_port" "$work/kv.json" "$work/ns.properties" \
    >"$work/namesrv.properties"
printf 'brokerName=bench-a\nbrokerIP1=127.0.0.1\nlistenPort=%s\nnamesrvAddr=127.0.0.1:%s\nstorePathRootDir=%s\n' \
    "$broker_port" "$ns_port" "$work/store" >"$work/broker.properties"
target/release/mqnamesrv -c "$work/namesrv.properties" >"$work/ns.log" 2>&1 &
pids+=($!)
wait_port "$ns_port"
target/release/mqbroker -c "$work/broker.properties" >"$work/broker.log" 2>&1 &
pids+=($!)
wait_port "$broker_port"
sleep 1
ns="127.0.0.1:$ns_port"

echo "== Rust (mqbench)"
target/release/mqbench producer -n "$ns" -t BenchRust -w 1 -s 1024 --duration "$secs" --mode sync | tail -n 1
target/release/mqbench producer -n "$ns" -t BenchRust -s 1024 --duration "$secs" --mode async --inflight 256 | tail -n 1
target/release/mqbench consumer -n "$ns" -t BenchRust -g bench_rust_c --from-first --duration "$secs" | tail -n 1
echo "== Python"
(cd bindings/python && "$venv/bin/python" bench.py --namesrv "$ns" --seconds "$secs" --rss)
echo "== Node.js"
(cd bindings/node && FERROMQ_NAMESRV="$ns" node bench.js --seconds "$secs" --window 256)
