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

cleanup() {
    bench_cluster_stop
    rm -rf "$work"
}
trap cleanup EXIT
. scripts/bench-lib.sh
bench_cluster_start target/release --broker-config brokerName=bench-a
ns="$FERROMQ_NAMESRV"

echo "== Rust (mqbench)"
target/release/mqbench producer -n "$ns" -t BenchRust -w 1 -s 1024 --duration "$secs" --mode sync | tail -n 1
target/release/mqbench producer -n "$ns" -t BenchRust -s 1024 --duration "$secs" --mode async --inflight 256 | tail -n 1
target/release/mqbench consumer -n "$ns" -t BenchRust -g bench_rust_c --from-first --duration "$secs" | tail -n 1
echo "== Python"
(cd bindings/python && "$venv/bin/python" bench.py --namesrv "$ns" --seconds "$secs" --rss)
echo "== Node.js"
(cd bindings/node && FERROMQ_NAMESRV="$ns" node bench.js --seconds "$secs" --window 256)
