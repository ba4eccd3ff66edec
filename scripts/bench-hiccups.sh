#!/usr/bin/env bash
# Send latency while the broker does its slow chores: mqbench sync sends (16 threads, 1 KiB,
# ASYNC_FLUSH) against a FerroMQ broker whose commitlog files are 64 MiB, so it rolls over to a
# new file every few seconds; then the same while CHURN (20) topics a second are created
# (`mqbench producer --churn-topics`, each one rewrites config/topics.json). Prints one JSON
# summary line per run and a table with p99, p999 and the longest send.
#
#   bash scripts/bench-hiccups.sh                              # the servers of target/release
#   BROKER_BIN_DIR=/other/checkout/target/release bash scripts/bench-hiccups.sh
#   SECONDS_PER_RUN=60 CHURN=100 bash scripts/bench-hiccups.sh   # longer runs, 100 topics a second
#
# BROKER_BIN_DIR holds the mqnamesrv and mqbroker under test (an older build, to compare);
# mqbench is always this checkout's.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

secs="${SECONDS_PER_RUN:-20}"
bin="${BROKER_BIN_DIR:-target/release}"
work="$(mktemp -d)"
results="$work/results.jsonl"
: >"$results"
cargo build --release --locked -p ferromq-namesrv -p ferromq-broker -p ferromq-tools >&2

cleanup() {
    bench_cluster_stop
    rm -rf "$work"
}
trap cleanup EXIT
. scripts/bench-lib.sh

# The store's defaults but 64 MiB commitlog files (bench_cluster_start, scripts/local-cluster.sh).
bench_cluster_start "$bin" --mqadmin target/release/mqadmin --broker-config brokerName=hiccup-a \
    --broker-config mappedFileSizeCommitLog=67108864
ns="$FERROMQ_NAMESRV"
for churn in 0 "${CHURN:-20}"; do
    echo "== rollover every ~64 MiB, topic churn $churn/s ($secs s)" >&2
    line="$(target/release/mqbench producer -n "$ns" -t "Hiccup$RANDOM" -w 16 -s 1024 \
        --duration "$secs" --mode sync --churn-topics "$churn" --json \
        | grep '"kind":"summary"' | tail -n 1)"
    echo "{\"servers\":\"$bin\",\"churn\":$churn,\"result\":$line}" | tee -a "$results"
done

echo
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'churn/s':>7} {'TPS':>9} {'p99 ms':>8} {'p999 ms':>8} {'max ms':>8} {'fail':>5}")
for r in rows:
    x = r["result"]
    print(f"{r['churn']:>7} {x['tps']:9.0f} {x['p99_ms']:8.2f} {x['p999_ms']:8.2f} {x['max_ms']:8.2f} {x['failures']:5}")
PY
