#!/usr/bin/env bash
# What allAckInSyncStateSet costs, on this machine: mqbench (1 KiB bodies) against one broker set
# of three replicas in controller mode (three mqcontroller processes, release build), once with
# allAckInSyncStateSet=true (a send waits until every member of the sync state set has it) and
# once with false (a send waits for the master's own store only), each with sync sends from 16
# threads and async sends (1024 in flight). Every run starts a fresh cluster and waits until the
# sync state set has all three replicas. Prints one JSON line per run and a table.
#
#   bash scripts/bench-controller.sh                    # 15 s per run, SYNC_FLUSH (about 2 minutes)
#   SECONDS_PER_RUN=60 FLUSH=ASYNC_FLUSH bash scripts/bench-controller.sh
#
# Every process shares this machine's cores: three brokers, three controllers, the name server
# and the client compete for them, which a real deployment (one broker per host) does not.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

secs="${SECONDS_PER_RUN:-15}"
flush="${FLUSH:-SYNC_FLUSH}"
work="$(mktemp -d)"
results="$work/results.jsonl"
: >"$results"
cargo build --release --locked -p ferromq-namesrv -p ferromq-broker -p ferromq-controller \
    -p ferromq-tools --bin mqnamesrv --bin mqbroker --bin mqcontroller --bin mqbench >&2
bin="${CARGO_TARGET_DIR:-target}/release"

ns_port=29876
ctl_ports=(29880 29881 29882)
broker_ports=(29911 29921 29931)
ns="127.0.0.1:$ns_port"

. scripts/bench-lib.sh

cleanup() {
    bench_stop_all
    rm -rf "$work"
}
trap cleanup EXIT

# wait_sync_state_set <size>: until a controller names a master of `bench` whose sync state set
# has <size> members (CONTROLLER_GET_REPLICA_INFO, code 1004; 60 s at most).
wait_sync_state_set() {
    python3 - "$1" "${ctl_ports[@]}" <<'PY'
import json, socket, struct, sys, time
size, ports = int(sys.argv[1]), [int(p) for p in sys.argv[2:]]
header = json.dumps({"code": 1004, "flag": 0, "language": "JAVA", "opaque": 1,
                     "serializeTypeCurrentRPC": "JSON", "version": 0,
                     "extFields": {"brokerName": "bench"}}).encode()
def ask(port):
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(struct.pack(">II", 4 + len(header), len(header)) + header)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    hlen = struct.unpack(">I", data[4:8])[0] & 0xFFFFFF
    h = json.loads(data[8:8 + hlen])
    if h.get("code") != 0:
        return None
    body = data[8 + hlen:]
    return json.loads(body) if body else None
deadline = time.time() + 60
while time.time() < deadline:
    for p in ports:
        try:
            b = ask(p)
        except OSError:
            continue
        if b and len(b.get("syncStateSet", [])) == size:
            sys.exit(0)
    time.sleep(0.2)
sys.exit("no sync state set of %d within 60 s" % size)
PY
}

# setup <name> <allAck>: a fresh cluster, then a sync and an async run.
setup() {
    local name="$1" all_ack="$2"
    local dir="$work/$name" peers="" i
    bench_namesrv_start "$bin" "$dir/ns" "$ns_port"
    for i in 0 1 2; do peers="$peers${peers:+;}n$i-127.0.0.1:${ctl_ports[$i]}"; done
    local controllers
    controllers="$(printf '127.0.0.1:%s;' "${ctl_ports[@]}")"
    for i in 0 1 2; do
        mkdir -p "$dir/c$i"
        printf '%s\n' "controllerDLegerGroup=bench" "controllerDLegerPeers=$peers" \
            "controllerDLegerSelfId=n$i" "controllerStorePath=$dir/c$i/store" \
            "bindAddress=127.0.0.1" >"$dir/c$i/controller.properties"
        bench_spawn "$dir/c$i/controller.log" "$bin/mqcontroller" -c "$dir/c$i/controller.properties"
    done
    for i in 0 1 2; do
        bench_broker_start "$bin" "$dir/b$i" "brokerClusterName=DefaultCluster" "brokerName=bench" \
            "brokerId=-1" "brokerIP1=127.0.0.1" "brokerIP2=127.0.0.1" \
            "listenPort=${broker_ports[$i]}" "namesrvAddr=$ns" "storePathRootDir=$dir/b$i/store" \
            "flushDiskType=$flush" "enableControllerMode=true" "controllerAddr=${controllers%;}" \
            "allAckInSyncStateSet=$all_ack"
    done
    wait_sync_state_set 3
    wait_registered "$ns_port"
    local mode line
    for mode in sync async; do
        echo "== $name / $mode ($secs s)" >&2
        line="$(mqbench_summary "$bin" -n "$ns" -t "CtlBench" -w 16 -s 1024 --mode "$mode" \
            --duration "$secs")"
        echo "{\"setup\":\"$name\",\"mode\":\"$mode\",\"flush\":\"$flush\",\"result\":$line}" |
            tee -a "$results"
    done
    bench_stop_all
}

setup all-ack-on true
setup all-ack-off false

echo
python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'setup':14} {'flush':11} {'mode':6} {'TPS':>9} {'avg ms':>8} {'p99 ms':>8} {'fail':>5}")
for r in rows:
    x = r["result"]
    print(f"{r['setup']:14} {r['flush']:11} {r['mode']:6} {x['tps']:9.0f} {x['avg_ms']:8.3f} "
          f"{x['p99_ms']:8.2f} {x['failures']:5}")
EOF
