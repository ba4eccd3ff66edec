#!/usr/bin/env bash
# What replication costs, on this machine: mqbench (sync sends, 1 KiB) against one broker name
# run as a single master, as an ASYNC_MASTER with a slave and as a SYNC_MASTER with a slave, each
# with ASYNC_FLUSH and with SYNC_FLUSH, at 16 and 64 threads. While each run goes, the master's
# GET_BROKER_HA_STATUS is sampled every half second (`mqadmin haStatus`) for the slave's lag.
# Prints one JSON line per run and a table.
#
#   bash scripts/bench-ha.sh                 # 15 s per run (12 runs: about 4 minutes)
#   SECONDS_PER_RUN=60 bash scripts/bench-ha.sh
#
# Every process shares this machine's cores: on a small machine the slave's work comes out of
# the master's and the client's CPU, which a real deployment (one broker per host) does not pay.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

secs="${SECONDS_PER_RUN:-15}"
work="$(mktemp -d)"
results="$work/results.jsonl"
: >"$results"
cargo build --release --locked -p ferromq-namesrv -p ferromq-broker -p ferromq-tools >&2
bin=target/release

ns_port=19876
master_port=19911
slave_port=19921
ns="127.0.0.1:$ns_port"

. scripts/bench-lib.sh

cleanup() {
    bench_stop_all
    rm -rf "$work"
}
trap cleanup EXIT

# broker <dir> <port> <id> <role> <flush>: starts one broker of broker name `ha-bench`.
broker() {
    local dir="$1" port="$2" id="$3" role="$4" flush="$5"
    bench_broker_start "$bin" "$dir" "brokerName=ha-bench" "brokerId=$id" "brokerRole=$role" \
        "flushDiskType=$flush" "brokerIP1=127.0.0.1" "brokerIP2=127.0.0.1" "listenPort=$port" \
        "namesrvAddr=$ns" "storePathRootDir=$dir/store"
    wait_port "$port"
}

# The largest slave lag (#Diff) `mqadmin haStatus` shows until the file `$1` appears.
sample_lag() {
    local stop="$1" max=0 d
    while [ ! -e "$stop" ]; do
        d="$("$bin/mqadmin" haStatus -n "$ns" -b "127.0.0.1:$master_port" 2>/dev/null |
            awk '/^#SlaveAddr/ {row = 1; next} row == 1 && NF >= 3 {print $3; exit}')"
        [ -n "$d" ] && [ "$d" -gt "$max" ] && max="$d"
        sleep 0.5
    done
    echo "$max"
}

# setup <name> <role> <flush> <with-slave>: one configuration, then its runs.
setup() {
    local name="$1" role="$2" flush="$3" slave="$4"
    local dir="$work/$name"
    bench_namesrv_start "$bin" "$dir/ns" "$ns_port"
    broker "$dir/master" "$master_port" 0 "$role" "$flush"
    if [ "$slave" = yes ]; then
        broker "$dir/slave" "$slave_port" 1 SLAVE "$flush"
        # Until the master serves its slave (a SYNC_MASTER answers SLAVE_NOT_AVAILABLE before).
        for _ in $(seq 1 300); do
            "$bin/mqadmin" haStatus -n "$ns" -b "127.0.0.1:$master_port" 2>/dev/null |
                grep -q '^#SlaveNum	1' && break
            sleep 0.1
        done
    fi
    wait_registered "$ns_port"
    for t in 16 64; do
        echo "== $name / $t threads ($secs s)" >&2
        local stop="$dir/stop-$t" lag_file="$dir/lag-$t" line
        rm -f "$stop"
        local sampler=""
        if [ "$slave" = yes ]; then
            sample_lag "$stop" >"$lag_file" &
            sampler=$!
        fi
        line="$(mqbench_summary "$bin" -n "$ns" -t "HaBench$t" -w "$t" -s 1024 \
            --duration "$secs" --mode sync)"
        touch "$stop"
        [ -n "$sampler" ] && wait "$sampler"
        local lag=null
        [ "$slave" = yes ] && lag="$(cat "$lag_file")"
        echo "{\"setup\":\"$name\",\"threads\":$t,\"max_lag_bytes\":$lag,\"result\":$line}" | tee -a "$results"
    done
    bench_stop_all
}

setup single-async-flush ASYNC_MASTER ASYNC_FLUSH no
setup single-sync-flush ASYNC_MASTER SYNC_FLUSH no
setup async-master-async-flush ASYNC_MASTER ASYNC_FLUSH yes
setup async-master-sync-flush ASYNC_MASTER SYNC_FLUSH yes
setup sync-master-async-flush SYNC_MASTER ASYNC_FLUSH yes
setup sync-master-sync-flush SYNC_MASTER SYNC_FLUSH yes

echo
python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'setup':26} {'threads':>7} {'TPS':>9} {'avg ms':>8} {'p99 ms':>8} {'fail':>5} {'max lag B':>10}")
for r in rows:
    x = r["result"]
    lag = "-" if r["max_lag_bytes"] is None else str(r["max_lag_bytes"])
    print(f"{r['setup']:26} {r['threads']:7} {x['tps']:9.0f} {x['avg_ms']:8.3f} {x['p99_ms']:8.2f} "
          f"{x['failures']:5} {lag:>10}")
EOF
